"""The ``sagemaker`` client of a LocalSession: boto3's method names, arguments and response shapes.

Training jobs, processing jobs, endpoints and transform jobs run on this machine through a backend, and tuning
jobs search with local training jobs (:mod:`framework_sdk.local.tuning`);
models and endpoint configs are kept in memory for the life of the session. Unknown
names raise :class:`~framework_sdk.exceptions.AWSError` (``ValidationException``), as a
Session's boto3 clients do.
"""
import threading

from framework_sdk import contract
from framework_sdk.local import processing, registry, runs, tuning, tuning_store
from framework_sdk.local.runtime import client_error
from framework_sdk.local.serving import ModelServers
from framework_sdk.local.training import TrainingJob
from framework_sdk.local.transform import TransformJob


def _arn(kind, name):
    return f"arn:aws:sagemaker:local:000000000000:{kind}/{name}"


class Endpoint:
    """A local endpoint: the model servers of its (single) production variant.

    What :meth:`LocalSession.local_endpoint` returns. Public: ``name``, ``status``, ``urls`` (one
    ``http://host:port`` per instance), ``hosts`` (the running servers: ``name``, ``exited``
    event, ``tail`` of their output, ``describe_exit()``) and ``logs`` (every server's lines:
    ``lines``, and ``follow()`` to read them live until the endpoint stops).
    """

    def __init__(self, name, config, model, backend, storage, settings):
        self.name = name
        self.config = config
        variant = config["ProductionVariants"][0]
        self.variant = variant.get("VariantName", "AllTraffic")
        self.status = "Creating"
        self.failure = None
        self.created = runs.utc_now()
        self.ready = threading.Event()
        self.servers = ModelServers(name, model, variant.get("InitialInstanceCount", 1), backend, storage,
                                    instance_type=variant.get("InstanceType", contract.LOCAL), **settings)

    @property
    def urls(self):
        return self._urls

    @property
    def hosts(self):
        return list(self.servers.hosts)

    @property
    def logs(self):
        return self.servers.logs

    def start(self):
        threading.Thread(target=self._start, name=f"local-endpoint-{self.name}", daemon=True).start()
        return self

    def _start(self):
        try:
            self.servers.start()
            self._urls = self.servers.urls
            self.status = "InService"
            registry.register(self.name, self._urls, image=self.servers.image)  # found by name elsewhere
        except BaseException as error:
            self.failure = str(error)
            self.status = "Failed"
        finally:
            self.ready.set()

    def stop(self):
        self.status = "Deleting"
        registry.unregister(self.name)
        self.servers.stop()

    def describe(self):
        description = {"EndpointName": self.name, "EndpointArn": _arn("endpoint", self.name),
                       "EndpointConfigName": self.config["EndpointConfigName"], "EndpointStatus": self.status,
                       "CreationTime": self.created, "LastModifiedTime": runs.utc_now(),
                       "ProductionVariants": [{"VariantName": self.variant,
                                               "CurrentInstanceCount": len(self._urls) if self.status ==
                                               "InService" else 0}]}
        if self.failure:
            description["FailureReason"] = self.failure
        return description

    _urls = ()


# What local mode knows, shared by every LocalSession of this Python process (as one AWS account
# is shared by its sessions): a job started by one session can be attached, waited for, or its
# endpoint invoked through another.
_TABLES: dict[str, dict] = {"training_jobs": {}, "models": {}, "endpoint_configs": {}, "endpoints": {}, "transform_jobs": {},
                            "hyper_parameter_tuning_jobs": {}, "processing_jobs": {}}


class LocalSageMakerClient:
    """Runs SageMaker API calls locally; made by :class:`~framework_sdk.local.LocalSession`.

    Jobs, models and endpoints are those of this Python process, whichever session made them;
    :meth:`close` stops those this client started.
    """

    def __init__(self, backend, storage, work_dir=None, serving_port=None, startup_timeout=None, stop_grace=None):
        self.backend = backend
        self.stop_grace = stop_grace  # seconds between SIGTERM and SIGKILL when a job is stopped
        self.storage = storage
        self.work_dir = work_dir
        self.serving_port = serving_port
        self.startup_timeout = startup_timeout
        for table, entries in _TABLES.items():
            setattr(self, table, entries)
        self._started = []  # the endpoints and jobs this client started, for close()

    def _settings(self):
        settings = {"work_dir": self.work_dir, "serving_port": self.serving_port}
        if self.startup_timeout:
            settings["startup_timeout"] = self.startup_timeout
        return settings

    @staticmethod
    def _get(table, name, kind, operation):
        if name not in table:
            raise client_error("ValidationException", f"Could not find local {kind} {name!r}.", operation)
        return table[name]

    @staticmethod
    def _check_new(table, name, kind, operation):
        if name in table:
            raise client_error("ValidationException", f"Cannot create an already existing {kind} {name!r}.",
                               operation)

    # ------------------------------------------------------------- training
    def create_training_job(self, **request):
        name = request["TrainingJobName"]
        self._check_new(self.training_jobs, name, "training job", "CreateTrainingJob")
        job = TrainingJob(request, self.backend, self.storage, self.work_dir, stop_grace=self.stop_grace)
        job.start()
        self.training_jobs[name] = job
        self._started.append(job)
        return {"TrainingJobArn": _arn("training-job", name)}

    def describe_training_job(self, TrainingJobName):
        if TrainingJobName not in self.training_jobs:  # a tuning job's training job, run by another process?
            recorded = tuning_store.training_job(TrainingJobName)
            if recorded is not None:
                return recorded
        return self._get(self.training_jobs, TrainingJobName, "training job", "DescribeTrainingJob").describe()

    def stop_training_job(self, TrainingJobName):
        # As on SageMaker: the job goes Stopping now and Stopped once its hosts have ended.
        self._get(self.training_jobs, TrainingJobName, "training job", "StopTrainingJob").stop(wait=False)
        return {}

    # ----------------------------------------------------------- processing
    def create_processing_job(self, **request):
        name = request["ProcessingJobName"]
        self._check_new(self.processing_jobs, name, "processing job", "CreateProcessingJob")
        job = processing.ProcessingJob(request, self.backend, self.storage, self.work_dir)
        job.start()
        self.processing_jobs[name] = job
        self._started.append(job)
        return {"ProcessingJobArn": processing.arn(name)}

    def describe_processing_job(self, ProcessingJobName):
        return self._get(self.processing_jobs, ProcessingJobName, "processing job", "DescribeProcessingJob").describe()

    def stop_processing_job(self, ProcessingJobName):
        self._get(self.processing_jobs, ProcessingJobName, "processing job", "StopProcessingJob").stop()
        return {}

    def list_processing_jobs(self, **filters):
        return processing.list_summaries(list(self.processing_jobs.values()), **filters)

    # ---------------------------------------------------------------- models
    def create_model(self, **request):
        name = request["ModelName"]
        existing = self.models.get(name)
        if existing is not None and {k: v for k, v in existing.items() if k != "CreationTime"} == request:
            return {"ModelArn": _arn("model", name)}  # the same model again (deploy, then transformer)
        self._check_new(self.models, name, "model", "CreateModel")
        self.models[name] = dict(request, CreationTime=runs.utc_now())
        return {"ModelArn": _arn("model", name)}

    def describe_model(self, ModelName):
        model = self._get(self.models, ModelName, "model", "DescribeModel")
        return dict(model, ModelArn=_arn("model", ModelName))

    def delete_model(self, ModelName):
        self._get(self.models, ModelName, "model", "DeleteModel")
        del self.models[ModelName]
        return {}

    # ------------------------------------------------------ endpoint configs
    def create_endpoint_config(self, **request):
        name = request["EndpointConfigName"]
        self._check_new(self.endpoint_configs, name, "endpoint configuration", "CreateEndpointConfig")
        variants = request.get("ProductionVariants") or []
        if len(variants) != 1:
            raise client_error("ValidationException", "local endpoints serve exactly one production variant; "
                               f"{name!r} has {len(variants)}", "CreateEndpointConfig")
        self._get(self.models, variants[0].get("ModelName"), "model", "CreateEndpointConfig")
        self.endpoint_configs[name] = dict(request, CreationTime=runs.utc_now())
        return {"EndpointConfigArn": _arn("endpoint-config", name)}

    def describe_endpoint_config(self, EndpointConfigName):
        config = self._get(self.endpoint_configs, EndpointConfigName, "endpoint configuration",
                           "DescribeEndpointConfig")
        return dict(config, EndpointConfigArn=_arn("endpoint-config", EndpointConfigName))

    def delete_endpoint_config(self, EndpointConfigName):
        self._get(self.endpoint_configs, EndpointConfigName, "endpoint configuration", "DeleteEndpointConfig")
        del self.endpoint_configs[EndpointConfigName]
        return {}

    # ------------------------------------------------------------- endpoints
    def create_endpoint(self, EndpointName, EndpointConfigName, **_):
        existing = self.endpoints.get(EndpointName)
        if existing is not None and existing.status != "Failed":
            raise client_error("ValidationException", f"Cannot create an already existing endpoint "
                               f"{EndpointName!r}; delete it first.", "CreateEndpoint")
        config = self._get(self.endpoint_configs, EndpointConfigName, "endpoint configuration", "CreateEndpoint")
        model = self._get(self.models, config["ProductionVariants"][0]["ModelName"], "model", "CreateEndpoint")
        endpoint = Endpoint(EndpointName, config, model, self.backend, self.storage, self._settings())
        self.endpoints[EndpointName] = endpoint
        self._started.append(endpoint)
        endpoint.start()
        return {"EndpointArn": _arn("endpoint", EndpointName)}

    def describe_endpoint(self, EndpointName):
        return self._get(self.endpoints, EndpointName, "endpoint", "DescribeEndpoint").describe()

    def delete_endpoint(self, EndpointName):
        endpoint = self._get(self.endpoints, EndpointName, "endpoint", "DeleteEndpoint")
        endpoint.ready.wait(endpoint.servers.startup_timeout + 30)
        endpoint.stop()
        del self.endpoints[EndpointName]
        return {}

    # ------------------------------------------------------- batch transform
    def create_transform_job(self, **request):
        name = request["TransformJobName"]
        self._check_new(self.transform_jobs, name, "transform job", "CreateTransformJob")
        model = self._get(self.models, request["ModelName"], "model", "CreateTransformJob")
        job = TransformJob(request, model, self.backend, self.storage, self.work_dir, self.serving_port)
        job.start()
        self.transform_jobs[name] = job
        self._started.append(job)
        return {"TransformJobArn": _arn("transform-job", name)}

    def describe_transform_job(self, TransformJobName):
        return self._get(self.transform_jobs, TransformJobName, "transform job", "DescribeTransformJob").describe()

    def stop_transform_job(self, TransformJobName):
        self._get(self.transform_jobs, TransformJobName, "transform job", "StopTransformJob").stop()
        return {}

    # --------------------------------------------- hyperparameter tuning (framework_sdk.local.tuning)
    def create_hyper_parameter_tuning_job(self, **request):
        job = tuning.create(self.hyper_parameter_tuning_jobs, self, request)
        self._started.append(job)  # before its training jobs: close() stops the search first
        job.start()
        return {"HyperParameterTuningJobArn": tuning.arn(job.name)}

    def describe_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
        return tuning.describe(self.hyper_parameter_tuning_jobs, HyperParameterTuningJobName)

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **request):
        return tuning.list_page(self.hyper_parameter_tuning_jobs, request)

    def list_hyper_parameter_tuning_jobs(self, **request):
        return tuning.list_tuning_jobs(self.hyper_parameter_tuning_jobs, request)

    def stop_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
        tuning.stop(self.hyper_parameter_tuning_jobs, HyperParameterTuningJobName)
        return {}

    def delete_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
        tuning.delete(self.hyper_parameter_tuning_jobs, HyperParameterTuningJobName)
        return {}

    def close(self):
        """Stop (and forget) the endpoints, and stop the jobs, that this client started."""
        started, self._started = self._started, []
        for run in started:
            if isinstance(run, Endpoint):
                if self.endpoints.get(run.name) is run:
                    del self.endpoints[run.name]
                run.stop()
            else:
                run.stop("stopped: the session closed")
