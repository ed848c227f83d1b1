"""Script mode: :class:`Framework` runs a user's ``entry_point`` from ``source_dir`` in a framework image."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from framework_sdk import image_uris, naming, sdk_v1
from framework_sdk.estimator.base import EstimatorBase
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.inputs import uri_scheme
from framework_sdk.model import FrameworkModel
from framework_sdk.packaging import SOURCEDIR, check_dependencies, local_code_dir, pack_sourcedir, resolve_entry_point
from framework_sdk.session import parse_s3_uri, s3_uri

if TYPE_CHECKING:
    import tempfile

    from framework_sdk._types import Response
    from framework_sdk.predictor import Predictor


def _json_hyperparameter(key: object, value: object) -> str:
    """``value`` as JSON; numpy scalars and arrays become numbers and lists."""
    def plain(item: Any) -> Any:
        if hasattr(item, "tolist"):  # numpy scalars and arrays, without importing numpy
            return item.tolist()
        raise ConfigurationError(f"hyperparameter {key!r} is a {type(item).__name__}, which has no JSON form; "
                                 f"pass numbers, strings, booleans, lists or dicts")

    return json.dumps(value, default=plain)


_FRAMEWORK_KEYS = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_container_log_level",
                   "sagemaker_job_name", "sagemaker_region")


class Framework(EstimatorBase):
    """Script mode: run ``entry_point`` from ``source_dir`` in a framework image.

    The entry point is checked at construction (inside ``source_dir`` when given). At ``fit``,
    ``source_dir`` (with its ``requirements.txt``) and ``dependencies`` are packed into a
    reproducible ``sourcedir.tar.gz`` and uploaded to
    ``<code_location or the output bucket>/<base_job_name>/source/<sha256[:16]>/sourcedir.tar.gz``
    unless that object is already there; in local mode ``source_dir`` is used in place
    (``file://``). Hyperparameters gain ``sagemaker_program``, ``sagemaker_submit_directory``,
    ``sagemaker_container_log_level``, ``sagemaker_job_name``, ``sagemaker_region`` and
    :meth:`_framework_hyperparameters`, and every value is JSON-encoded.
    """

    _framework_name: str | None = None
    predictor_cls: type[Predictor] | None = None  # None: framework_sdk.Predictor
    model_cls: type[FrameworkModel] | None = None  # None: framework_sdk.FrameworkModel

    @sdk_v1.accepts(sdk_v1.FRAMEWORK_RENAMED)
    def __init__(self, entry_point: str, source_dir: str | None = None,
                 hyperparameters: Mapping[str, Any] | None = None, container_log_level: int = logging.INFO,
                 code_location: str | None = None, image_uri: str | None = None,
                 dependencies: Sequence[str] | None = None, framework_version: str | None = None,
                 py_version: str | None = None, role: str | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, **kwargs: Any) -> None:
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.dependencies = list(dependencies or [])
        self._program = resolve_entry_point(entry_point, source_dir)
        check_dependencies(self.dependencies)
        self.container_log_level = container_log_level
        self.code_location = code_location
        self.image_uri = image_uri
        self.framework_version = framework_version
        self.py_version = py_version
        if image_uri is None:
            if self._framework_name is None:
                raise ConfigurationError(f"{type(self).__name__} needs image_uri (it names no framework)")
            if framework_version is None:
                raise ConfigurationError(
                    f"framework_version is required when image_uri is not given; supported "
                    f"{self._framework_name} versions: {', '.join(image_uris.supported_versions(self._framework_name))}")
            self.py_version = py_version or image_uris.DEFAULT_PY_VERSION
            image_uris.validate(self._framework_name, framework_version, self.py_version)
        self._hyperparameters = dict(hyperparameters or {})
        self._code_uri: str | None = None
        self._job_name: str | None = None
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        super().__init__(role=role, instance_count=instance_count, instance_type=instance_type, **kwargs)
        if code_location is not None and uri_scheme(code_location) != "s3":
            raise ConfigurationError(f"code_location {code_location!r} must be an s3:// URI")

    # hooks -----------------------------------------------------------------------

    def _framework_hyperparameters(self) -> dict[str, Any]:
        """Extra ``sagemaker_*`` hyperparameters of a framework (raw values; JSON-encoded later)."""
        return {}

    def _model_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for :attr:`model_cls` in :meth:`create_model`."""
        return {}

    # -----------------------------------------------------------------------------

    def training_image_uri(self) -> str:
        if self.image_uri:
            return self.image_uri
        session = self.sagemaker_session
        framework, version, py_version = self._framework_name, self.framework_version, self.py_version
        assert framework and version and py_version  # __init__ checked them: there is no image_uri
        if self.local_mode:
            return image_uris.retrieve(framework, version, py_version, self.instance_type)
        return image_uris.retrieve(framework, version, py_version, self.instance_type,
                                   region=session.boto_region_name, account=session.account_id())

    def _base_name(self) -> str:
        if self.base_job_name:
            return self.base_job_name
        if self.image_uri is None:
            assert self._framework_name  # __init__ checked it: there is no image_uri
            return naming.base_name_from_image(image_uris.repository(self._framework_name))
        return naming.base_name_from_image(self.image_uri)

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def _stage_code(self, job_name: str) -> None:
        if uri_scheme(self.source_dir) == "s3":
            self._code_uri = self.source_dir
        elif self.local_mode:
            path, self._staging = local_code_dir(self.entry_point, self.source_dir, self.dependencies)
            self._code_uri = "file://" + path
        else:
            self._code_uri = self._upload_sourcedir()
        self._job_name = job_name

    def _upload_sourcedir(self) -> str:
        session = self.sagemaker_session
        if self.code_location:
            bucket, prefix = parse_s3_uri(self.code_location)
        elif uri_scheme(self.output_path) == "s3":
            bucket, prefix = parse_s3_uri(self.output_path)[0], ""
        else:
            bucket, prefix = session.default_bucket(), ""
        with pack_sourcedir(self.entry_point, self.source_dir, self.dependencies) as archive:
            uri = s3_uri(bucket, prefix, self._base_name(), "source", archive.sha256[:16], SOURCEDIR)
            session.upload_if_changed(archive.path, uri, archive.sha256)
        return uri

    def hyperparameters(self) -> dict[str, str]:
        """User and framework hyperparameters, every value JSON-encoded (``2`` -> ``'2'``, ``'a'`` -> ``'"a"'``)."""
        values = dict(self._hyperparameters)
        if self._code_uri is not None:
            values.update({
                "sagemaker_program": self._program,
                "sagemaker_submit_directory": self._code_uri,
                "sagemaker_container_log_level": self.container_log_level,
                "sagemaker_job_name": self._job_name,
                "sagemaker_region": self.sagemaker_session.boto_region_name,
            })
        values.update(self._framework_hyperparameters())
        return {str(key): _json_hyperparameter(key, value) for key, value in values.items()}

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details: Response,
                                                  model_channel_name: str | None = None) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        hyperparameters = {}
        for key, value in params["hyperparameters"].items():
            try:
                hyperparameters[key] = json.loads(value)
            except (TypeError, ValueError):
                hyperparameters[key] = value
        params["entry_point"] = hyperparameters.pop("sagemaker_program", None)
        params["source_dir"] = hyperparameters.pop("sagemaker_submit_directory", None)
        params["container_log_level"] = hyperparameters.pop("sagemaker_container_log_level", logging.INFO)
        hyperparameters.pop("sagemaker_job_name", None)
        hyperparameters.pop("sagemaker_region", None)
        params["hyperparameters"] = hyperparameters
        if not params["entry_point"]:
            raise ConfigurationError(f"training job {job_details['TrainingJobName']!r} has no sagemaker_program "
                                     f"hyperparameter, so it is not a {cls.__name__} job; attach with Estimator")
        if uri_scheme(params["source_dir"]) == "file":
            params["source_dir"] = params["source_dir"][len("file://"):]
        image = params.pop("image_uri")
        parsed = cls._parse_image(image)
        if parsed:
            params["framework_version"], params["py_version"] = parsed
        else:
            params["image_uri"] = image
        return params

    @classmethod
    def _parse_image(cls, image: str | None) -> tuple[str, str] | None:
        """``(framework_version, py_version)`` when ``image`` is this framework's own image, else None."""
        if not cls._framework_name or not image or ":" not in image:
            return None
        repository, tag = image.rsplit("/", 1)[-1].split(":", 1)
        if repository != image_uris.repository(cls._framework_name):
            return None
        parts = tag.split("-")
        if len(parts) != 3:
            return None
        version, _processor, py_version = parts
        try:
            image_uris.validate(cls._framework_name, version, py_version)
        except ValueError:
            return None
        return version, py_version

    @sdk_v1.accepts(removed=sdk_v1.CREATE_MODEL_REMOVED)
    def create_model(self, role: str | None = None, image_uri: str | None = None, entry_point: str | None = None,
                     source_dir: str | None = None, dependencies: Sequence[str] | None = None,
                     predictor_cls: type[Predictor] | None = None, env: Mapping[str, str] | None = None,
                     name: str | None = None, **kwargs: Any) -> FrameworkModel:
        """A :attr:`model_cls` that serves the latest job's model with this estimator's code (or the given code)."""
        model_cls = self.model_cls or FrameworkModel
        if not model_cls._framework_name:  # a plain FrameworkModel serves with the training image
            image_uri = image_uri or self.training_image_uri()
        arguments: dict[str, Any] = dict(
            model_data=self.model_data, image_uri=image_uri or self.image_uri, role=role or self.role,
            entry_point=entry_point or self.entry_point,
            source_dir=self.source_dir if entry_point is None and source_dir is None else source_dir,
            dependencies=self.dependencies if dependencies is None else dependencies,
            predictor_cls=predictor_cls or self.predictor_cls, env=env, name=name,
            container_log_level=self.container_log_level, code_location=self.code_location,
            sagemaker_session=self.sagemaker_session)
        if model_cls._framework_name:
            arguments.update(framework_version=self.framework_version, py_version=self.py_version)
        arguments.update(self._model_kwargs())
        arguments.update(kwargs)
        return model_cls(**arguments)
