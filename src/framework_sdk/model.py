"""Models: :class:`Model` (an image plus ``model.tar.gz``) and :class:`FrameworkModel` (plus inference code).

``deploy()`` sends ``CreateModel``, ``CreateEndpointConfig`` and ``CreateEndpoint`` through
``sagemaker_session.sagemaker_client``, waits for the endpoint and returns a predictor;
``transformer()`` creates the model and returns a :class:`~framework_sdk.Transformer`.
Arguments follow SageMaker Python SDK v2 and are checked before the first request.

Hooks for framework models (``framework_sdk.chainer.ChainerModel`` is one)::

    class ChainerModel(FrameworkModel):
        _framework_name = "chainer"        # image resolution from framework_version / py_version
        _repack_code = False               # True: ship code as code/ inside model.tar.gz
        predictor_cls = ChainerPredictor   # default for the predictor_cls argument

        def _framework_env(self):          # extra container environment
            return {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import image_uris, naming, sdk_v1
from .exceptions import AWSError, ConfigurationError
from .inputs import check_uri, uri_scheme
from .jobs import is_local, resolve_session
from .packaging import (MODEL, SOURCEDIR, check_dependencies, local_code_dir, pack_sourcedir, repack_model,
                        resolve_entry_point)
from .predictor import Predictor
from .session import Session, format_tags, parse_s3_uri, s3_uri
from .transformer import Transformer

if TYPE_CHECKING:
    from ._types import Request, Tags
    from .serializers import BaseDeserializer, BaseSerializer

LOGGER = logging.getLogger(__name__)
VARIANT_NAME = "AllTraffic"


class Model:
    """A model artifact served by an image: ``Model(image_uri, model_data, role, env, name, predictor_cls, sagemaker_session)``."""

    predictor_cls: type[Predictor] | None = None

    def __init__(self, image_uri: str | None, model_data: str | None = None, role: str | None = None,
                 predictor_cls: type[Predictor] | None = None, env: Mapping[str, str] | None = None,
                 name: str | None = None, vpc_config: Mapping[str, Sequence[str]] | None = None,
                 sagemaker_session: Session | None = None, enable_network_isolation: bool = False) -> None:
        if model_data is not None and not uri_scheme(model_data):
            raise ConfigurationError(
                f"model_data {model_data!r} is not a URI: pass the s3:// URI of a model.tar.gz "
                f"(upload it with session.upload_data), or file:///path/model.tar.gz in local mode")
        if name is not None:
            naming.validate(name, "model name")
        self.image_uri = image_uri
        self.model_data = model_data
        self.role = role
        if predictor_cls is not None:
            self.predictor_cls = predictor_cls
        self.env = dict(env or {})
        self.name = name
        self.vpc_config = vpc_config
        self.sagemaker_session = sagemaker_session
        self.enable_network_isolation = enable_network_isolation
        self.endpoint_name: str | None = None
        self._created_name: str | None = None

    # ---------------------------------------------------------------- container

    def serving_image_uri(self, instance_type: str | None = None) -> str:
        if not self.image_uri:
            raise ConfigurationError("image_uri is required: the serving image to run")
        return self.image_uri

    def prepare_container_def(self, instance_type: str | None = None) -> Request:
        """The ``PrimaryContainer`` of ``CreateModel``: image, model data and environment."""
        container: Request = {"Image": self.serving_image_uri(instance_type)}
        if self.model_data:
            container["ModelDataUrl"] = self.model_data
        if self.env:
            container["Environment"] = {str(k): str(v) for k, v in self.env.items()}
        return container

    # ------------------------------------------------------------------ lifecycle

    @property
    def _session(self) -> Session:
        """The session (``deploy``/``transformer`` resolve one when none was given)."""
        if self.sagemaker_session is None:
            raise ConfigurationError("this model has no session yet: pass sagemaker_session=..., or call "
                                     "deploy() or transformer(), which make one")
        return self.sagemaker_session

    def _init_session(self, instance_type: str | None) -> bool:
        self.sagemaker_session = resolve_session(self.sagemaker_session, instance_type)
        local = bool(self.sagemaker_session.local_mode)
        if self.model_data is not None:
            check_uri(self.model_data, "model_data", local)
        if not self.role and not local:
            raise ConfigurationError(
                "role is required to create a model on AWS SageMaker: pass role='arn:aws:iam::<account>:role/<name>' "
                "(an IAM role SageMaker can assume that can read model_data)")
        if local and uri_scheme(self.model_data) == "s3":
            self.sagemaker_session.require_credentials(f"model_data {self.model_data!r}")
        return local

    def _default_name(self) -> str:
        return naming.name_from_base(naming.base_name_from_image(self.image_uri or "model"))

    def _create_sagemaker_model(self, instance_type: str | None = None, tags: Tags | None = None) -> str:
        """Send ``CreateModel`` once (named :attr:`name`, or from the image plus a timestamp)."""
        local = self._init_session(instance_type)
        if self._created_name is not None and self._created_name == self.name:
            return self._created_name
        self.name = self.name or self._default_name()
        container = self.prepare_container_def(instance_type)
        request: Request = {"ModelName": self.name, "PrimaryContainer": container}
        if self.role:
            request["ExecutionRoleArn"] = self.role if local else self._session.expand_role(self.role)
        if tags:
            request["Tags"] = format_tags(tags)
        if self.vpc_config:
            request["VpcConfig"] = self.vpc_config
        if self.enable_network_isolation:
            request["EnableNetworkIsolation"] = True
        try:
            self._session.sagemaker_client.create_model(**request)
        except AWSError as error:
            if "already existing model" not in error.aws_message:
                raise
            LOGGER.warning("model %s already exists; using it as it is", self.name)
        self._created_name = self.name
        return self.name

    @sdk_v1.accepts(removed=sdk_v1.DEPLOY_REMOVED)
    def deploy(self, initial_instance_count: int | None = None, instance_type: str | None = None,
               serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
               accelerator_type: str | None = None, endpoint_name: str | None = None, tags: Tags | None = None,
               kms_key: str | None = None, wait: bool = True, volume_size: int | None = None,
               model_data_download_timeout: int | None = None,
               container_startup_health_check_timeout: int | None = None) -> Predictor:
        """Create the model, an endpoint config and an endpoint; wait for it; return a predictor.

        The endpoint config takes the endpoint's name (default: the model's name).
        """
        if not instance_type:
            raise ConfigurationError("instance_type is required to deploy: e.g. 'ml.m5.large', or 'local'")
        if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
            raise ConfigurationError(
                f"initial_instance_count must be a positive integer, got {initial_instance_count!r}")
        if endpoint_name is not None:
            naming.validate(endpoint_name, "endpoint_name")
        model_name = self._create_sagemaker_model(instance_type, tags=tags)
        endpoint_name = endpoint_name or model_name
        variant: Request = {"VariantName": VARIANT_NAME, "ModelName": model_name,
                   "InitialInstanceCount": initial_instance_count, "InstanceType": instance_type,
                   "InitialVariantWeight": 1.0}
        if accelerator_type:
            variant["AcceleratorType"] = accelerator_type
        for key, value in (("VolumeSizeInGB", volume_size),
                           ("ModelDataDownloadTimeoutInSeconds", model_data_download_timeout),
                           ("ContainerStartupHealthCheckTimeoutInSeconds", container_startup_health_check_timeout)):
            if value is not None:
                variant[key] = value
        config: Request = {"EndpointConfigName": endpoint_name, "ProductionVariants": [variant]}
        endpoint: Request = {"EndpointName": endpoint_name, "EndpointConfigName": endpoint_name}
        if tags:
            config["Tags"] = endpoint["Tags"] = format_tags(tags)
        if kms_key:
            config["KmsKeyId"] = kms_key
        client = self._session.sagemaker_client
        client.create_endpoint_config(**config)
        client.create_endpoint(**endpoint)
        if wait:
            self._session.wait_for_endpoint(endpoint_name)
        self.endpoint_name = endpoint_name
        predictor = (self.predictor_cls or Predictor)(endpoint_name, self._session)
        if serializer is not None:
            predictor.serializer = serializer
        if deserializer is not None:
            predictor.deserializer = deserializer
        return predictor

    def transformer(self, instance_count: int, instance_type: str, strategy: str | None = None,
                    assemble_with: str | None = None, output_path: str | None = None,
                    output_kms_key: str | None = None, accept: str | None = None,
                    env: Mapping[str, str] | None = None, max_concurrent_transforms: int | None = None,
                    max_payload: int | None = None, tags: Tags | None = None,
                    volume_kms_key: str | None = None) -> Transformer:
        """Create the model (once) and return a :class:`~framework_sdk.Transformer` for it."""
        model_name = self._create_sagemaker_model(instance_type, tags=tags)
        return Transformer(model_name, instance_count, instance_type, strategy=strategy,
                           assemble_with=assemble_with, output_path=output_path, output_kms_key=output_kms_key,
                           accept=accept, max_concurrent_transforms=max_concurrent_transforms,
                           max_payload=max_payload, env=env, tags=tags, volume_kms_key=volume_kms_key,
                           sagemaker_session=self.sagemaker_session)

    def delete_model(self) -> None:
        """Delete the SageMaker model this object created (``DeleteModel``)."""
        if self.name is None or self.sagemaker_session is None:
            raise ConfigurationError("this model was never created; nothing to delete")
        self.sagemaker_session.sagemaker_client.delete_model(ModelName=self.name)
        self._created_name = None


class FrameworkModel(Model):
    """A model plus the inference script that serves it (``entry_point`` in ``source_dir``).

    The code reaches the container one of two ways: by default ``sourcedir.tar.gz`` is uploaded
    (reproducibly, once per content) and ``SAGEMAKER_SUBMIT_DIRECTORY`` points at it; with
    ``_repack_code = True`` the code is added as ``code/`` to a new ``model.tar.gz`` and
    ``SAGEMAKER_SUBMIT_DIRECTORY`` is ``/opt/ml/model/code``. In local mode ``source_dir`` is
    used in place (``file://``). The environment also carries ``SAGEMAKER_PROGRAM``,
    ``SAGEMAKER_CONTAINER_LOG_LEVEL`` and ``SAGEMAKER_REGION``.
    """

    _framework_name: str | None = None
    _repack_code = False

    def __init__(self, model_data: str | None, image_uri: str | None, role: str | None, entry_point: str | None,
                 source_dir: str | None = None, predictor_cls: type[Predictor] | None = None,
                 env: Mapping[str, str] | None = None, name: str | None = None,
                 container_log_level: int = logging.INFO, code_location: str | None = None,
                 sagemaker_session: Session | None = None, dependencies: Sequence[str] | None = None,
                 framework_version: str | None = None, py_version: str | None = None, **kwargs: Any) -> None:
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.dependencies = list(dependencies or [])
        self._program = resolve_entry_point(entry_point, source_dir)
        check_dependencies(self.dependencies)
        self.container_log_level = container_log_level
        self.code_location = code_location
        if code_location is not None and uri_scheme(code_location) != "s3":
            raise ConfigurationError(f"code_location {code_location!r} must be an s3:// URI")
        self.framework_version = framework_version
        self.py_version = py_version or image_uris.DEFAULT_PY_VERSION
        if image_uri is None:
            if not self._framework_name:
                raise ConfigurationError(f"{type(self).__name__} needs image_uri (it names no framework)")
            if framework_version is None:
                raise ConfigurationError(
                    f"framework_version is required when image_uri is not given; supported "
                    f"{self._framework_name} versions: {', '.join(image_uris.supported_versions(self._framework_name))}")
            image_uris.validate(self._framework_name, framework_version, self.py_version)
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        super().__init__(image_uri, model_data, role, predictor_cls=predictor_cls, env=env, name=name,
                         sagemaker_session=sagemaker_session, **kwargs)

    def _framework_env(self) -> dict[str, str]:
        """Extra container environment of a framework (hook)."""
        return {}

    def serving_image_uri(self, instance_type: str | None = None) -> str:
        if self.image_uri:
            return self.image_uri
        session = self._session
        framework, version = self._framework_name, self.framework_version
        assert framework and version  # __init__ checked them: there is no image_uri
        if session.local_mode:
            return image_uris.retrieve(framework, version, self.py_version, instance_type)
        return image_uris.retrieve(framework, version, self.py_version, instance_type,
                                   region=session.boto_region_name, account=session.account_id())

    def _default_name(self) -> str:
        if self.image_uri is None:
            assert self._framework_name  # __init__ checked it: there is no image_uri
            return naming.name_from_base(image_uris.repository(self._framework_name))
        return super()._default_name()

    def _code_bucket_and_prefix(self) -> tuple[str, str]:
        if self.code_location:
            return parse_s3_uri(self.code_location)
        if uri_scheme(self.model_data) == "s3":
            return parse_s3_uri(self.model_data)[0], ""
        return self._session.default_bucket(), ""

    def _stage_code(self) -> tuple[str | None, str | None]:
        """Ship the code; returns ``(SAGEMAKER_SUBMIT_DIRECTORY, model_data to use)``."""
        session = self._session
        if uri_scheme(self.source_dir) in ("s3", "file"):
            return self.source_dir, self.model_data
        if session.local_mode:
            path, self._staging = local_code_dir(self.entry_point, self.source_dir, self.dependencies)
            return "file://" + path, self.model_data
        bucket, prefix = self._code_bucket_and_prefix()
        if self._repack_code and self.model_data:
            with tempfile.TemporaryDirectory(prefix="framework-sdk-model-") as scratch:
                original = os.path.join(scratch, MODEL)
                source_bucket, source_key = parse_s3_uri(self.model_data)
                session.s3_client.download_file(source_bucket, source_key, original)
                with repack_model(original, self.entry_point, self.source_dir, self.dependencies) as archive:
                    uri = s3_uri(bucket, prefix, self.name, archive.sha256[:16], MODEL)
                    session.upload_if_changed(archive.path, uri, archive.sha256)
            return "/opt/ml/model/code", uri
        with pack_sourcedir(self.entry_point, self.source_dir, self.dependencies) as archive:
            uri = s3_uri(bucket, prefix, self.name, "source", archive.sha256[:16], SOURCEDIR)
            session.upload_if_changed(archive.path, uri, archive.sha256)
        return uri, self.model_data

    def prepare_container_def(self, instance_type: str | None = None) -> Request:
        submit_directory, model_data = self._stage_code()
        env: dict[str, Any] = {
            "SAGEMAKER_PROGRAM": self._program,
            "SAGEMAKER_SUBMIT_DIRECTORY": submit_directory,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": str(self.container_log_level),
            "SAGEMAKER_REGION": self._session.boto_region_name,
        }
        env.update(self._framework_env())
        env.update(self.env)
        container: Request = {"Image": self.serving_image_uri(instance_type),
                              "Environment": {str(k): str(v) for k, v in env.items()}}
        if model_data:
            container["ModelDataUrl"] = model_data
        return container


__all__ = ["Model", "FrameworkModel", "is_local"]  # is_local: kept importable from here (it lives in jobs)
