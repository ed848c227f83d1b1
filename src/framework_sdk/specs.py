"""Algorithm and model-package specifications: the ``CreateAlgorithm`` / ``CreateModelPackage`` requests.

Builders return plain dicts in SageMaker's own shapes and names (``TrainingSpecification``,
``InferenceSpecification``, ``AlgorithmValidationSpecification`` ...), so what you build is
exactly what is sent and what ``DescribeAlgorithm`` gives back. They check what botocore's
parameter validation does not (enumerations, name patterns, ranges that make sense,
defaults that fit their own range, tuning objectives that name a metric), and raise
:class:`~framework_sdk.exceptions.ConfigurationError` saying what to change.

:func:`validate_hyperparameters` checks a job's hyperparameters against an algorithm's
specification before anything is started; :func:`validate_request` checks a whole request
against botocore's SageMaker service model; :func:`create_algorithm` and
:func:`create_model_package` send the requests with a session's SageMaker client.

Pure Python: botocore is imported only by :func:`validate_request`.
"""
import functools
import math
import re

from . import contract
from .contract import BATCH_STRATEGIES, COMPRESSION_TYPES, INPUT_MODES, SPLIT_TYPES
from .exceptions import ConfigurationError
from .naming import _VALID as _ENTITY_NAME

HYPERPARAMETER_TYPES = ("Integer", "Continuous", "Categorical", "FreeText")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_MAX_HYPERPARAMETERS = 100
_MAX_CHANNELS = 8
_MAX_METRICS = 40


class HyperparameterError(ConfigurationError):
    """Hyperparameters that do not fit an algorithm's specification; ``problems`` lists each one."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("hyperparameters do not fit the algorithm's specification:\n  - "
                         + "\n  - ".join(self.problems))


# ----------------------------------------------------------------- small checks


def _one_of(what, value, allowed):
    if value not in allowed:
        raise ConfigurationError(f"{what} {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def _entity_name(what, name):
    if not isinstance(name, str) or not _ENTITY_NAME.match(name):
        raise ConfigurationError(
            f"{what} {name!r} is not a valid SageMaker name: use 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit")
    return name


def _s3_uri(what, uri):
    if not isinstance(uri, str) or not re.match(r"^(https|s3)://[^/]+", uri):
        raise ConfigurationError(f"{what} must be an s3:// URI, got {uri!r}")
    return uri


def _list_of_strings(what, values, allow_empty=False):
    if isinstance(values, str):
        values = [values]
    values = list(values or ())
    if not values and not allow_empty:
        raise ConfigurationError(f"{what} needs at least one value")
    for value in values:
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{what} must hold non-empty strings, got {value!r}")
    if len(set(values)) != len(values):
        raise ConfigurationError(f"{what} lists a value twice: {values}")
    return values


def _unique_names(what, items, key="Name"):
    seen = set()
    for item in items:
        if item[key] in seen:
            raise ConfigurationError(f"{what} {item[key]!r} is defined twice")
        seen.add(item[key])


def _tags(tags):
    if tags is None:
        return None
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]
    return [dict(tag) for tag in tags]


def _compact(request):
    """Drop the optional fields left at ``None``."""
    return {key: value for key, value in request.items() if value is not None}


# ------------------------------------------------------------ value parsing


def _parse_number(kind, value):
    """``value`` (a Python number or its string) as ``int`` for Integer, ``float`` for Continuous."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if kind == "Integer" and re.fullmatch(r"[+-]?\d+", text) else float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif isinstance(value, (int, float)):
        number = value
    else:
        raise ValueError(f"{value!r} ({type(value).__name__}) is not a number")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    if kind == "Integer":
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            number = int(number)
        return number
    return float(number)


def _format_number(number):
    return str(number) if isinstance(number, int) else repr(float(number))


# ------------------------------------------------------------- training spec


def hyperparameter(name, type, *, min_value=None, max_value=None, values=None, default=None,
                   required=False, tunable=None, description=None):
    """One ``HyperParameterSpecification``.

    ``type`` is ``"Integer"``, ``"Continuous"``, ``"Categorical"`` or ``"FreeText"``.
    Integer and Continuous take an inclusive ``min_value``/``max_value`` range, Categorical
    takes ``values``; FreeText takes neither. ``default`` must fit the range. ``tunable``
    defaults to True for a ranged or categorical parameter, and is always False for FreeText.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"a hyperparameter name must be a non-empty string, got {name!r}")
    _one_of(f"hyperparameter {name!r}: type", type, HYPERPARAMETER_TYPES)
    spec = {"Name": name, "Type": type}
    if description:
        spec["Description"] = description
    has_bounds = min_value is not None or max_value is not None
    if type in ("Integer", "Continuous"):
        if values is not None:
            raise ConfigurationError(f"hyperparameter {name!r}: values= is for Categorical; "
                                     "give min_value= and max_value= for a numeric range")
        if has_bounds:
            if min_value is None or max_value is None:
                raise ConfigurationError(f"hyperparameter {name!r}: give both min_value and max_value")
            try:
                low, high = _parse_number(type, min_value), _parse_number(type, max_value)
            except ValueError as error:
                raise ConfigurationError(f"hyperparameter {name!r}: range bound {error}") from None
            if low > high:
                raise ConfigurationError(f"hyperparameter {name!r}: min_value {low} is above max_value {high}")
            key = f"{type}ParameterRangeSpecification"
            spec["Range"] = {key: {"MinValue": _format_number(low), "MaxValue": _format_number(high)}}
    elif type == "Categorical":
        if has_bounds:
            raise ConfigurationError(f"hyperparameter {name!r}: a Categorical takes values=, not min/max")
        choices = _list_of_strings(f"hyperparameter {name!r}: values", [str(v) for v in (values or ())])
        if len(choices) > 30:
            raise ConfigurationError(f"hyperparameter {name!r}: SageMaker allows at most 30 values")
        spec["Range"] = {"CategoricalParameterRangeSpecification": {"Values": choices}}
    elif has_bounds or values is not None:
        raise ConfigurationError(f"hyperparameter {name!r}: a FreeText parameter takes no range or values")
    if tunable is None:
        tunable = "Range" in spec
    if tunable and "Range" not in spec:
        raise ConfigurationError(f"hyperparameter {name!r}: a tunable parameter needs a range "
                                 "(min_value/max_value or values); FreeText is never tunable")
    spec["IsTunable"] = bool(tunable)
    spec["IsRequired"] = bool(required)
    if default is not None:
        try:
            spec["DefaultValue"] = _check_value(spec, default)
        except ValueError as error:
            raise ConfigurationError(f"hyperparameter {name!r}: default {error}") from None
    return spec


def channel(name, content_types, *, input_modes=(contract.FILE_MODE,), compression_types=(contract.NONE,), required=True,
            description=None):
    """One ``ChannelSpecification``: a training input the algorithm reads."""
    if not contract.valid_channel_name(name):
        raise ConfigurationError(f"channel name {name!r} must be 1-64 letters, digits, '.', '-' or '_'")
    modes = _list_of_strings(f"channel {name!r}: input_modes", input_modes)
    for mode in modes:
        _one_of(f"channel {name!r}: input mode", mode, INPUT_MODES)
    compressions = _list_of_strings(f"channel {name!r}: compression_types", compression_types)
    for compression in compressions:
        _one_of(f"channel {name!r}: compression type", compression, COMPRESSION_TYPES)
    spec = {"Name": name, "IsRequired": bool(required),
            "SupportedContentTypes": _list_of_strings(f"channel {name!r}: content_types", content_types),
            "SupportedCompressionTypes": compressions,
            "SupportedInputModes": modes}
    if description:
        spec["Description"] = description
    return spec


def metric_definition(name, regex):
    """One ``MetricDefinition``: SageMaker takes the regex's first group from each log line."""
    if not name or not regex:
        raise ConfigurationError("a metric definition needs a Name and a Regex")
    try:
        re.compile(regex)
    except re.error as error:
        raise ConfigurationError(f"metric {name!r}: regex {regex!r} does not compile: {error}") from None
    return {"Name": name, "Regex": regex}


def tuning_objective(metric_name, type="Maximize"):
    """One ``HyperParameterTuningJobObjective``: a metric a tuning job may maximize or minimize."""
    _one_of(f"tuning objective {metric_name!r}: type", type, OBJECTIVE_TYPES)
    return {"Type": type, "MetricName": metric_name}


def training_specification(image, instance_types, channels, *, hyperparameters=(), metric_definitions=(),
                           tuning_objectives=(), supports_distributed_training=False, image_digest=None):
    """A ``TrainingSpecification``: the image, where it may run, and what it accepts.

    ``channels`` come from :func:`channel`, ``hyperparameters`` from :func:`hyperparameter`,
    ``metric_definitions`` are ``{"Name", "Regex"}`` dicts, and ``tuning_objectives`` from
    :func:`tuning_objective` must each name a defined metric.
    """
    if not image or not isinstance(image, str) or any(ch.isspace() for ch in image):
        raise ConfigurationError(f"training image must be an image URI without spaces, got {image!r}")
    channels = [dict(spec) for spec in channels]
    if not 1 <= len(channels) <= _MAX_CHANNELS:
        raise ConfigurationError(f"a training specification needs 1 to {_MAX_CHANNELS} channels, "
                                 f"got {len(channels)}")
    _unique_names("channel", channels)
    hyperparameters = [dict(spec) for spec in hyperparameters]
    if len(hyperparameters) > _MAX_HYPERPARAMETERS:
        raise ConfigurationError(f"SageMaker allows at most {_MAX_HYPERPARAMETERS} hyperparameters")
    _unique_names("hyperparameter", hyperparameters)
    metrics = [metric_definition(m["Name"], m["Regex"]) for m in metric_definitions]
    if len(metrics) > _MAX_METRICS:
        raise ConfigurationError(f"SageMaker allows at most {_MAX_METRICS} metric definitions")
    _unique_names("metric", metrics)
    objectives = [dict(objective) for objective in tuning_objectives]
    defined = {m["Name"] for m in metrics}
    for objective in objectives:
        if objective["MetricName"] not in defined:
            raise ConfigurationError(
                f"tuning objective {objective['MetricName']!r} names no metric definition; "
                f"define it in metric_definitions (defined: {sorted(defined) or 'none'})")
    spec = {"TrainingImage": image,
            "SupportedTrainingInstanceTypes": _list_of_strings("instance_types", instance_types),
            "SupportsDistributedTraining": bool(supports_distributed_training),
            "TrainingChannels": channels}
    if image_digest:
        spec["TrainingImageDigest"] = image_digest
    if hyperparameters:
        spec["SupportedHyperParameters"] = hyperparameters
    if metrics:
        spec["MetricDefinitions"] = metrics
    if objectives:
        spec["SupportedTuningJobObjectiveMetrics"] = objectives
    return spec


# ------------------------------------------------------------ inference spec


def container(image, model_data=None, *, environment=None, hostname=None, image_digest=None):
    """One ``ModelPackageContainerDefinition``: an inference image and, optionally, its model data."""
    if not image or not isinstance(image, str) or any(ch.isspace() for ch in image):
        raise ConfigurationError(f"inference image must be an image URI without spaces, got {image!r}")
    spec = {"Image": image}
    if model_data is not None:
        spec["ModelDataUrl"] = _s3_uri("model_data", model_data)
    if environment:
        spec["Environment"] = {str(key): str(value) for key, value in environment.items()}
    if hostname:
        spec["ContainerHostname"] = _entity_name("container hostname", hostname)
    if image_digest:
        spec["ImageDigest"] = image_digest
    return spec


def inference_specification(containers, content_types, response_types, *, realtime_instance_types=(),
                            transform_instance_types=()):
    """An ``InferenceSpecification``: the serving containers and what they take and answer.

    ``containers`` is one or a list of :func:`container` dicts or image URIs (at most 15,
    run as an inference pipeline). Give ``realtime_instance_types`` for endpoints,
    ``transform_instance_types`` for batch transform, or both.
    """
    if isinstance(containers, (str, dict)):
        containers = [containers]
    containers = [container(item) if isinstance(item, str) else dict(item) for item in containers]
    if not 1 <= len(containers) <= 15:
        raise ConfigurationError(f"an inference specification needs 1 to 15 containers, got {len(containers)}")
    realtime = _list_of_strings("realtime_instance_types", realtime_instance_types, allow_empty=True)
    transform = _list_of_strings("transform_instance_types", transform_instance_types, allow_empty=True)
    if not realtime and not transform:
        raise ConfigurationError("give realtime_instance_types (endpoints), transform_instance_types "
                                 "(batch transform) or both")
    spec = {"Containers": containers,
            "SupportedContentTypes": _list_of_strings("content_types", content_types),
            "SupportedResponseMIMETypes": _list_of_strings("response_types", response_types)}
    if realtime:
        spec["SupportedRealtimeInferenceInstanceTypes"] = realtime
    if transform:
        spec["SupportedTransformInstanceTypes"] = transform
    return spec


# ----------------------------------------------------------- validation spec


def s3_data_source(uri, data_type=contract.S3_PREFIX, distribution=contract.FULLY_REPLICATED):
    """A training ``DataSource`` reading ``uri`` (an S3 prefix by default)."""
    _one_of("S3 data type", data_type, contract.S3_DATA_TYPES)
    _one_of("S3 data distribution", distribution, contract.S3_DATA_DISTRIBUTIONS)
    return {"S3DataSource": {"S3DataType": data_type, "S3Uri": _s3_uri("training input", uri),
                             "S3DataDistributionType": distribution}}


def training_job_definition(inputs, output_path, instance_type, *, instance_count=1, hyperparameters=None,
                            input_mode=contract.FILE_MODE, content_type=None, compression_type=None, volume_size=30,
                            max_run=3600):
    """A ``TrainingJobDefinition`` for a validation profile: ``inputs`` maps channel names to S3 URIs."""
    _one_of("input_mode", input_mode, INPUT_MODES)
    if isinstance(inputs, str):
        inputs = {"training": inputs}
    if not inputs:
        raise ConfigurationError("a validation training job needs at least one input channel")
    channels = []
    for name, uri in inputs.items():
        channel_config = {"ChannelName": name, "DataSource": s3_data_source(uri)}
        if content_type:
            channel_config["ContentType"] = content_type
        if compression_type:
            channel_config["CompressionType"] = _one_of("compression_type", compression_type, COMPRESSION_TYPES)
        channels.append(channel_config)
    return {"TrainingInputMode": input_mode,
            "HyperParameters": {str(key): str(value) for key, value in (hyperparameters or {}).items()},
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": _s3_uri("output_path", output_path)},
            "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": int(instance_count),
                               "VolumeSizeInGB": int(volume_size)},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(max_run)}}


def transform_job_definition(data, output_path, instance_type, *, content_type=None, split_type=None,
                             compression_type=None, accept=None, assemble_with=None, instance_count=1,
                             strategy=None, max_payload=None, max_concurrent_transforms=None,
                             environment=None, data_type=contract.S3_PREFIX):
    """A ``TransformJobDefinition`` for a validation profile: transform ``data`` into ``output_path``."""
    _one_of("data_type", data_type, contract.S3_DATA_TYPES)
    transform_input = {"DataSource": {"S3DataSource": {"S3DataType": data_type,
                                                       "S3Uri": _s3_uri("transform input", data)}}}
    if content_type:
        transform_input["ContentType"] = content_type
    if split_type:
        transform_input["SplitType"] = _one_of("split_type", split_type, SPLIT_TYPES)
    if compression_type:
        transform_input["CompressionType"] = _one_of("compression_type", compression_type, COMPRESSION_TYPES)
    output = {"S3OutputPath": _s3_uri("output_path", output_path)}
    if accept:
        output["Accept"] = accept
    if assemble_with:
        output["AssembleWith"] = _one_of("assemble_with", assemble_with, contract.ASSEMBLE_WITH)
    return _compact({
        "MaxConcurrentTransforms": max_concurrent_transforms,
        "MaxPayloadInMB": max_payload,
        "BatchStrategy": strategy and _one_of("strategy", strategy, BATCH_STRATEGIES),
        "Environment": {str(k): str(v) for k, v in environment.items()} if environment else None,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": int(instance_count)},
    })


def _role_arn(role):
    if not isinstance(role, str) or not _ROLE_ARN.match(role):
        raise ConfigurationError(f"validation role must be a full IAM role ARN "
                                 f"(arn:aws:iam::<account>:role/<name>), got {role!r}")
    return role


def algorithm_validation_specification(role, training_job_definition, transform_job_definition=None,
                                       profile_name="ValidationProfile1"):
    """An ``AlgorithmValidationSpecification``: SageMaker trains (and transforms) once to prove the algorithm."""
    profile = {"ProfileName": _entity_name("profile_name", profile_name),
               "TrainingJobDefinition": training_job_definition}
    if transform_job_definition:
        profile["TransformJobDefinition"] = transform_job_definition
    return {"ValidationRole": _role_arn(role), "ValidationProfiles": [profile]}


def model_package_validation_specification(role, transform_job_definition, profile_name="ValidationProfile1"):
    """A ``ModelPackageValidationSpecification``: SageMaker runs one batch transform to prove the package."""
    return {"ValidationRole": _role_arn(role),
            "ValidationProfiles": [{"ProfileName": _entity_name("profile_name", profile_name),
                                    "TransformJobDefinition": transform_job_definition}]}


# ------------------------------------------------------------------ requests


def create_algorithm_request(name, training_specification, inference_specification=None,
                             validation_specification=None, *, description=None,
                             certify_for_marketplace=False, tags=None):
    """The ``CreateAlgorithm`` request."""
    return _compact({
        "AlgorithmName": _entity_name("algorithm name", name),
        "AlgorithmDescription": description,
        "TrainingSpecification": training_specification,
        "InferenceSpecification": inference_specification,
        "ValidationSpecification": validation_specification,
        "CertifyForMarketplace": bool(certify_for_marketplace),
        "Tags": _tags(tags),
    })


def create_model_package_request(name=None, *, inference_specification=None, algorithm_name=None,
                                 model_data=None, validation_specification=None, description=None,
                                 certify_for_marketplace=False, model_package_group_name=None,
                                 approval_status=None, tags=None):
    """The ``CreateModelPackage`` request.

    Either an ``inference_specification`` (your own serving image and model), or
    ``algorithm_name`` plus ``model_data`` (a model trained by that algorithm, served by
    the algorithm's own inference specification), or both. ``name`` makes an unversioned
    package; ``model_package_group_name`` a versioned one in that group.
    """
    if (name is None) == (model_package_group_name is None):
        raise ConfigurationError("give exactly one of name (an unversioned model package) and "
                                 "model_package_group_name (a new version in a group)")
    if inference_specification is None and algorithm_name is None:
        raise ConfigurationError("a model package needs an inference_specification, or an algorithm_name "
                                 "and the model_data it trained")
    source = None
    if algorithm_name is not None:
        if model_data is None:
            raise ConfigurationError(f"model_data (the s3:// model.tar.gz that {algorithm_name!r} trained) "
                                     "is needed with algorithm_name")
        source = {"SourceAlgorithms": [{"AlgorithmName": algorithm_name,
                                        "ModelDataUrl": _s3_uri("model_data", model_data)}]}
    elif model_data is not None:
        raise ConfigurationError("model_data goes with algorithm_name; for your own image put it in "
                                 "container(image, model_data) of the inference specification")
    if approval_status is not None:
        _one_of("approval_status", approval_status, ("Approved", "Rejected", "PendingManualApproval"))
    return _compact({
        "ModelPackageName": name and _entity_name("model package name", name),
        "ModelPackageGroupName": model_package_group_name,
        "ModelPackageDescription": description,
        "InferenceSpecification": inference_specification,
        "ValidationSpecification": validation_specification,
        "SourceAlgorithmSpecification": source,
        "CertifyForMarketplace": bool(certify_for_marketplace),
        "ModelApprovalStatus": approval_status,
        "Tags": _tags(tags),
    })


@functools.cache
def _sagemaker_service_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def validate_request(operation_name, request):
    """Check ``request`` against botocore's SageMaker service model; raise ConfigurationError listing every problem."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    input_shape = _sagemaker_service_model().operation_model(operation_name).input_shape
    try:
        validate_parameters(request, input_shape)
    except ParamValidationError as error:
        raise ConfigurationError(f"{operation_name} request is not valid for SageMaker: {error}") from None
    return request


def create_algorithm(session, name, training_specification, inference_specification=None,
                     validation_specification=None, **options):
    """Send ``CreateAlgorithm`` with ``session.sagemaker_client``; returns the algorithm ARN."""
    request = create_algorithm_request(name, training_specification, inference_specification,
                                       validation_specification, **options)
    return session.sagemaker_client.create_algorithm(**request)["AlgorithmArn"]


def create_model_package(session, name=None, **options):
    """Send ``CreateModelPackage`` with ``session.sagemaker_client``; returns the model package ARN."""
    request = create_model_package_request(name, **options)
    return session.sagemaker_client.create_model_package(**request)["ModelPackageArn"]


# ---------------------------------------------------- checks before a job runs


def _hyperparameter_specs(spec):
    """The ``HyperParameterSpecification`` list of a training spec, algorithm description or list."""
    if isinstance(spec, dict):
        spec = spec.get("TrainingSpecification", spec)
        return list(spec.get("SupportedHyperParameters", ()))
    return list(spec)


def _check_value(spec, value):
    """``value`` as the string SageMaker passes, if it fits ``spec``; else ValueError saying why."""
    kind = spec["Type"]
    ranges = spec.get("Range", {})
    if kind in ("Integer", "Continuous"):
        number = _parse_number(kind, value)
        bounds = ranges.get(f"{kind}ParameterRangeSpecification")
        if bounds:
            low, high = _parse_number(kind, bounds["MinValue"]), _parse_number(kind, bounds["MaxValue"])
            if not low <= number <= high:
                raise ValueError(f"{value!r} is outside the range [{bounds['MinValue']}, {bounds['MaxValue']}]")
        return _format_number(number)
    if isinstance(value, (dict, list, tuple, set)):
        raise ValueError(f"{value!r} is a {type(value).__name__}; pass a string")
    text = str(value)
    if kind == "Categorical":
        choices = ranges.get("CategoricalParameterRangeSpecification", {}).get("Values", [])
        if choices and text not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, choices))}")
    return text


def validate_hyperparameters(spec, hyperparameters, check_required=True):
    """Check ``hyperparameters`` against an algorithm's specification; return them filled and as strings.

    ``spec`` is a ``TrainingSpecification``, a ``DescribeAlgorithm`` response or a list of
    ``HyperParameterSpecification``. Raises :class:`HyperparameterError` listing every
    unknown name, wrong type, out-of-range value and (with ``check_required``) missing
    required parameter. The result holds every given value as the string SageMaker passes
    to the container (Integer ``3.0`` becomes ``"3"``) plus the specification's defaults
    for those not given.
    """
    specs = {item["Name"]: item for item in _hyperparameter_specs(spec)}
    given = dict(hyperparameters or {})
    problems, result = [], {}
    for name, value in given.items():
        item = specs.get(name)
        if item is None:
            known = ", ".join(sorted(specs)) or "none"
            problems.append(f"{name!r} is not a hyperparameter of this algorithm (it accepts: {known})")
            continue
        try:
            result[name] = _check_value(item, value)
        except ValueError as error:
            problems.append(f"{name!r} ({item['Type']}): {error}")
    for name, item in specs.items():
        if name in given:
            continue
        if "DefaultValue" in item:
            result[name] = item["DefaultValue"]
        elif item.get("IsRequired") and check_required:
            problems.append(f"{name!r} ({item['Type']}) is required and has no default; pass a value")
    if problems:
        raise HyperparameterError(problems)
    return result


def validate_channels(spec, channel_names, input_mode=None):
    """Check a job's channel names (and ``input_mode``) against a ``TrainingSpecification``'s ``TrainingChannels``."""
    if isinstance(spec, dict):
        spec = spec.get("TrainingSpecification", spec)
    channels = {item["Name"]: item for item in spec.get("TrainingChannels", ())}
    names = list(channel_names)
    problems = [f"channel {name!r} is not accepted by this algorithm (it reads: {', '.join(sorted(channels))})"
                for name in names if name not in channels]
    problems += [f"channel {name!r} is required; pass it in inputs"
                 for name, item in channels.items() if item.get("IsRequired") and name not in names]
    problems += [f"channel {name!r} does not support input mode {input_mode!r} (it supports: "
                 f"{', '.join(channels[name]['SupportedInputModes'])})"
                 for name in names if input_mode and name in channels
                 and input_mode not in channels[name].get("SupportedInputModes", (input_mode,))]
    if problems:
        raise ConfigurationError("inputs do not fit the algorithm's channels:\n  - " + "\n  - ".join(problems))
