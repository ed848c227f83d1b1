"""Real-time inference against an endpoint: :class:`Predictor`.

``predict`` serializes the data, sends ``InvokeEndpoint`` through
``sagemaker_session.sagemaker_runtime_client`` with ``ContentType`` from the serializer and
``Accept`` from the deserializer, checks that the response's content type is one that was
asked for, and deserializes it. Used as a context manager, the predictor deletes its
endpoint (and endpoint config) on exit.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import codecs, sdk_v1
from .exceptions import ResponseContentTypeError
from .serializers import BytesDeserializer, IdentitySerializer
from .session import Session

if TYPE_CHECKING:
    from typing import Literal

    from typing_extensions import Self

    from ._types import Request
    from .serializers import BaseDeserializer, BaseSerializer
    from .session import Session


class Predictor:
    """``Predictor(endpoint_name, sagemaker_session=None, serializer=IdentitySerializer(), deserializer=BytesDeserializer())``."""

    @sdk_v1.accepts(sdk_v1.PREDICTOR_RENAMED, sdk_v1.PREDICTOR_REMOVED)
    def __init__(self, endpoint_name: str, sagemaker_session: Session | None = None,
                 serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
                 **kwargs: Any) -> None:
        if sagemaker_session is None:
            sagemaker_session = Session()
        self.endpoint_name = endpoint_name
        self.sagemaker_session = sagemaker_session
        self.serializer: BaseSerializer = serializer if serializer is not None else IdentitySerializer()
        self.deserializer: BaseDeserializer = deserializer if deserializer is not None else BytesDeserializer()
        self._endpoint_config_name: str | None = None
        self._model_names: list[str] | None = None
        self._endpoint_deleted = False

    @property
    def endpoint(self) -> str:
        """SageMaker Python SDK v1's name of :attr:`endpoint_name` (v2 warns, as this does)."""
        sdk_v1.warn_renamed("endpoint", "endpoint_name", what="attribute")
        return self.endpoint_name

    @property
    def content_type(self) -> str:
        """The MIME type of the request bodies (the serializer's)."""
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        """The MIME types asked for (the deserializer's)."""
        return self.deserializer.ACCEPT

    def _request(self, data: Any, initial_args: Mapping[str, Any] | None, target_model: str | None,
                 target_variant: str | None, inference_id: str | None, custom_attributes: str | None) -> Request:
        request: Request = {"EndpointName": self.endpoint_name, "Body": self.serializer.serialize(data),
                   "ContentType": self.content_type, "Accept": ", ".join(self.accept)}
        for key, value in (("TargetModel", target_model), ("TargetVariant", target_variant),
                           ("InferenceId", inference_id), ("CustomAttributes", custom_attributes)):
            if value is not None:
                request[key] = value
        request.update(initial_args or {})
        return request

    def predict(self, data: Any, initial_args: Mapping[str, Any] | None = None, target_model: str | None = None,
                target_variant: str | None = None, inference_id: str | None = None,
                custom_attributes: str | None = None) -> Any:
        """Send ``data`` to the endpoint and return the deserialized response.

        ``initial_args`` adds or overrides ``InvokeEndpoint`` fields (``{'Accept': 'text/csv'}``).
        Raises :class:`~framework_sdk.exceptions.ResponseContentTypeError` when the endpoint answers
        with a content type that was not asked for.
        """
        request = self._request(data, initial_args, target_model, target_variant, inference_id,
                                custom_attributes)
        response = self.sagemaker_session.sagemaker_runtime_client.invoke_endpoint(**request)
        body, content_type = response["Body"], response.get("ContentType")
        accept = request.get("Accept")
        if accept and content_type and codecs.negotiate(accept, [content_type]) is None:
            close = getattr(body, "close", None)
            if close:
                close()
            raise ResponseContentTypeError(
                f"endpoint {self.endpoint_name!r} answered {content_type!r} but {accept!r} was asked for; use a "
                f"deserializer that accepts {codecs.media_type(content_type)!r}, or make the model's output "
                f"function honour the Accept header")
        return self.deserializer.deserialize(body, content_type)

    # ------------------------------------------------------------------ clean-up

    def _endpoint_config(self) -> str:
        if self._endpoint_config_name is None:
            description = self.sagemaker_session.describe_endpoint(self.endpoint_name)
            self._endpoint_config_name = description["EndpointConfigName"]
        return self._endpoint_config_name

    def _models(self) -> list[str]:
        if self._model_names is None:
            config = self.sagemaker_session.describe_endpoint_config(self._endpoint_config())
            self._model_names = [variant["ModelName"] for variant in config["ProductionVariants"]]
        return self._model_names

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Delete the endpoint and (by default) its endpoint config (``DeleteEndpoint``, ``DeleteEndpointConfig``)."""
        client = self.sagemaker_session.sagemaker_client
        if delete_endpoint_config:
            self._models()  # remember them so delete_model() still works afterwards
        client.delete_endpoint(EndpointName=self.endpoint_name)
        self._endpoint_deleted = True
        if delete_endpoint_config:
            client.delete_endpoint_config(EndpointConfigName=self._endpoint_config())

    def delete_model(self) -> None:
        """Delete the models behind the endpoint (``DeleteModel``)."""
        client = self.sagemaker_session.sagemaker_client
        for name in self._models():
            client.delete_model(ModelName=name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if not self._endpoint_deleted:  # the block may have deleted it already
            self.delete_endpoint()
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint_name!r})"
