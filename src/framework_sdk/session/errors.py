"""boto3 clients that raise framework_sdk's errors: :class:`~framework_sdk.exceptions.AWSError` for a failed
call, :class:`~framework_sdk.exceptions.ConfigurationError` for a request botocore's service model refuses."""
from __future__ import annotations

from typing import Any

from framework_sdk.exceptions import AWSError, ConfigurationError, request_subject


def translate_errors(client: Any) -> Any:
    """Make ``client`` (a boto3 client) raise our exceptions; returns ``client``.

    A failed call raises :class:`AWSError`; a request that does not fit botocore's service
    model raises :class:`ConfigurationError` (instead of ``ParamValidationError``) before it is sent.
    """
    events = client.meta.events
    if getattr(client, "_framework_sdk_errors", False):
        return client
    service = client.meta.service_model.service_id.hyphenize()
    validate = service != "s3" and client.meta.config.parameter_validation  # S3 requests: built by s3transfer

    def remember(params: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        context["framework_sdk_request"] = dict(params)
        if validate:
            from botocore.exceptions import ParamValidationError
            from botocore.validate import validate_parameters

            try:
                validate_parameters(params, model.input_shape)
            except ParamValidationError as error:
                raise ConfigurationError(
                    f"{model.name}{request_subject(params)} would be refused: {error.kwargs.get('report', error)}; "
                    f"fix the argument that produces that field") from None

    def raise_ours(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300 and parsed.get("Error"):
            raise AWSError(model.name, parsed, context.get("framework_sdk_request"))

    events.register_last("before-parameter-build", remember)  # after botocore fills idempotency tokens
    events.register(f"after-call.{service}", raise_ours)
    client._framework_sdk_errors = True
    return client


def _maybe_translate(client: Any) -> Any:
    """Translate a boto3 client's errors; leave other objects with the client surface (local clients) alone."""
    meta = getattr(client, "meta", None)
    if meta is not None and hasattr(meta, "events") and hasattr(meta, "service_model"):
        return translate_errors(client)
    return client
