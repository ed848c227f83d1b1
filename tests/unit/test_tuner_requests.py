"""HyperparameterTuner on AWS: every request checked by botocore's Stubber against SageMaker's service model.

The Stubber refuses a request that does not fit botocore's model, and compares it with the
expected parameters written out here, so these tests pin the exact ``CreateHyperParameterTuningJob``
(``HyperParameterTuningJobConfig`` + ``TrainingJobDefinition``) and the describe / list / stop
calls. The responses are shaped as SageMaker's (the Stubber checks them too).
"""
import datetime
import io
import json
import re

import pytest
from botocore.stub import ANY

from framework_sdk.estimator import Estimator, Framework
from framework_sdk.exceptions import ConfigurationError, UnexpectedStatusException
from framework_sdk.tuner import (CategoricalParameter, ContinuousParameter, HyperbandStrategyConfig,
                                 HyperparameterTuner, IntegerParameter, StrategyConfig, WarmStartConfig,
                                 WarmStartTypes)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
ACCOUNT = "123456789012"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3"
CODE = "s3://code-bucket/src/sourcedir.tar.gz"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
METRICS = [{"Name": "validation:accuracy", "Regex": "validation accuracy: ([0-9.]+)"}]
NAME = "tune-1"


class Toy(Framework):
    """A framework estimator shaped like framework_sdk.chainer's."""

    _framework_name = "chainer"

    def __init__(self, *args, use_mpi=False, **kwargs):
        self.use_mpi = use_mpi
        super().__init__(*args, **kwargs)

    def _framework_hyperparameters(self):
        return {"sagemaker_mpi_enabled": self.use_mpi}

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details, model_channel_name=None):
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        params["use_mpi"] = params["hyperparameters"].pop("sagemaker_mpi_enabled", False)
        return params


def toy(session, **kwargs):
    return Toy(entry_point="train.py", source_dir=CODE, role=ROLE, instance_count=1, instance_type="ml.c5.xlarge",
               image_uri=IMAGE, output_path="s3://out-bucket/", sagemaker_session=session,
               hyperparameters={"epochs": 3, "learning-rate": 0.5}, metric_definitions=METRICS, **kwargs)


RANGES = {"learning-rate": ContinuousParameter(0.0001, 0.1, "Logarithmic"), "units": IntegerParameter(16, 256),
          "optimizer": CategoricalParameter(["adam", "sgd"])}

EXPECTED_CONFIG = {
    "Strategy": "Bayesian",
    "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2, "MaxRuntimeInSeconds": 3600},
    "ParameterRanges": {
        "ContinuousParameterRanges": [{"Name": "learning-rate", "MinValue": "0.0001", "MaxValue": "0.1",
                                       "ScalingType": "Logarithmic"}],
        "IntegerParameterRanges": [{"Name": "units", "MinValue": "16", "MaxValue": "256", "ScalingType": "Auto"}],
        "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ['"adam"', '"sgd"']}],
    },
    "TrainingJobEarlyStoppingType": "Auto",
    "RandomSeed": 7,
}
EXPECTED_DEFINITION = {
    "StaticHyperParameters": {  # the searched learning-rate is not static; every value JSON-encoded
        "epochs": "3", "sagemaker_program": '"train.py"', "sagemaker_submit_directory": json.dumps(CODE),
        "sagemaker_container_log_level": "20", "sagemaker_job_name": '"tune-1"', "sagemaker_region": '"us-west-2"',
        "sagemaker_mpi_enabled": "false"},
    "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File", "MetricDefinitions": METRICS},
    "RoleArn": ROLE,
    "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://data/train", "S3DataDistributionType": "FullyReplicated"}}}],
    "OutputDataConfig": {"S3OutputPath": "s3://out-bucket/"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
}


def tuner_for(session, **kwargs):
    arguments = dict(max_jobs=10, max_parallel_jobs=2, max_runtime_in_seconds=3600, early_stopping_type="Auto",
                     random_seed=7, tags={"team": "ml"})
    arguments.update(kwargs)
    return HyperparameterTuner(toy(session), "validation:accuracy", RANGES, **arguments)


def summary(index, value=None, status="Completed", objective_status="Succeeded", **extra):
    name = f"{NAME}-{index:03d}-0000abcd"
    result = {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/{name}",
              "TuningJobName": NAME, "CreationTime": NOW, "TrainingJobStatus": status,
              "TunedHyperParameters": {"learning-rate": "0.01", "units": str(16 * index), "optimizer": '"adam"'},
              "ObjectiveStatus": objective_status,
              "TrainingStartTime": NOW, "TrainingEndTime": NOW + datetime.timedelta(seconds=10 * index)}
    if value is not None:
        result["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": "Maximize", "MetricName": "validation:accuracy",
                                                                 "Value": value}
    result.update(extra)
    return result


def description(status="Completed", completed=0, running=0, failed=0, best=None, **extra):
    result = {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/{NAME}",
        "HyperParameterTuningJobConfig": EXPECTED_CONFIG, "TrainingJobDefinition": EXPECTED_DEFINITION,
        "HyperParameterTuningJobStatus": status, "CreationTime": NOW,
        "TrainingJobStatusCounters": {"Completed": completed, "InProgress": running, "RetryableError": 0,
                                      "NonRetryableError": failed, "Stopped": 0},
        "ObjectiveStatusCounters": {"Succeeded": completed, "Pending": running, "Failed": failed},
    }
    if best is not None:
        result["BestTrainingJob"] = best
    result.update(extra)
    return result


def test_fit_sends_the_tuning_job_sagemaker_expects_and_waits_showing_progress(aws_stubs):
    tuner = tuner_for(aws_stubs.session)
    aws_stubs.sagemaker.add_response(
        "create_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/{NAME}"},
        {"HyperParameterTuningJobName": NAME, "HyperParameterTuningJobConfig": EXPECTED_CONFIG,
         "TrainingJobDefinition": EXPECTED_DEFINITION, "Tags": [{"Key": "team", "Value": "ml"}]})
    tuner.fit({"train": "s3://data/train"}, job_name=NAME, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()

    for response in (description("InProgress", running=2), description("InProgress", running=2),
                     description("InProgress", completed=1, running=2, best=summary(1, 0.81)),
                     description("Completed", completed=3, failed=1, best=summary(3, 0.9))):
        aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job", response,
                                         {"HyperParameterTuningJobName": NAME})
    out = io.StringIO()
    final = tuner.latest_tuning_job.wait(poll=0.01, out=out)
    assert final["HyperParameterTuningJobStatus"] == "Completed"
    assert out.getvalue().splitlines() == [  # one line per change, not per poll
        "[tuning] tune-1: InProgress - 0 completed, 2 running, 0 failed, 0 stopped",
        f"[tuning] tune-1: InProgress - 1 completed, 2 running, 0 failed, 0 stopped; best: {NAME}-001-0000abcd "
        f"(validation:accuracy = 0.81)",
        f"[tuning] tune-1: Completed - 3 completed, 0 running, 1 failed, 0 stopped; best: {NAME}-003-0000abcd "
        f"(validation:accuracy = 0.9)",
    ]
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_a_generated_name_fits_sagemakers_32_characters(aws_stubs):
    tuner = tuner_for(aws_stubs.session, base_tuning_job_name="a-rather-long-base-name-for-tuning")
    aws_stubs.sagemaker.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/x"},
                                     {"HyperParameterTuningJobName": ANY, "HyperParameterTuningJobConfig": ANY,
                                      "TrainingJobDefinition": ANY, "Tags": ANY})
    tuner.fit({"train": "s3://data/train"}, wait=False)
    name = tuner.latest_tuning_job.name
    assert len(name) <= 32 and name.startswith("a-rather-long-") and name[-1].isdigit()


def test_tuning_job_names_spend_no_characters_on_our_image_prefix():
    from framework_sdk.tuner import tuning_job_name

    assert re.fullmatch(r"chainer-\d{6}-\d{6}-\d{3}", tuning_job_name("framework-sdk-chainer"))
    assert re.fullmatch(r"my-experiment-\d{6}-\d{6}-\d{3}", tuning_job_name("my_experiment"))
    assert len(tuning_job_name("x" * 60)) == 32


def test_a_failed_tuning_job_raises_with_its_reason(aws_stubs):
    tuner = HyperparameterTuner.attach(NAME, sagemaker_session=aws_stubs.session, job_details=description(),
                                       estimator_cls=Toy)
    aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job",
                                     description("Failed", failed=3, FailureReason="all training jobs failed"),
                                     {"HyperParameterTuningJobName": NAME})
    with pytest.raises(UnexpectedStatusException, match="tune-1.*failed: all training jobs failed"):
        tuner.wait()


def test_stop_tuning_job(aws_stubs):
    tuner = HyperparameterTuner.attach(NAME, sagemaker_session=aws_stubs.session, job_details=description(),
                                       estimator_cls=Toy)
    aws_stubs.sagemaker.add_response("stop_hyper_parameter_tuning_job", {}, {"HyperParameterTuningJobName": NAME})
    tuner.stop_tuning_job()
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_analytics_reads_every_page_into_one_row_per_training_job(aws_stubs):
    tuner = HyperparameterTuner.attach(NAME, sagemaker_session=aws_stubs.session, job_details=description(),
                                       estimator_cls=Toy)
    aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job", description(),
                                     {"HyperParameterTuningJobName": NAME})
    aws_stubs.sagemaker.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": [summary(2, 0.7), summary(1, 0.8)], "NextToken": "page-2"},
        {"HyperParameterTuningJobName": NAME, "MaxResults": 100})
    aws_stubs.sagemaker.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": [summary(3, status="Failed", objective_status="Failed", FailureReason="OOM")]},
        {"HyperParameterTuningJobName": NAME, "MaxResults": 100, "NextToken": "page-2"})
    frame = tuner.analytics().dataframe()
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert list(frame.columns) == ["learning-rate", "units", "optimizer", "TrainingJobName", "TrainingJobStatus",
                                   "FinalObjectiveValue", "ObjectiveStatus", "TrainingStartTime", "TrainingEndTime",
                                   "TrainingElapsedTimeSeconds", "FailureReason"]
    assert list(frame["TrainingJobName"]) == [f"{NAME}-00{i}-0000abcd" for i in (1, 2, 3)]
    assert list(frame["units"]) == [16, 32, 48] and list(frame["optimizer"]) == ["adam"] * 3
    assert frame["learning-rate"].tolist() == [0.01] * 3
    assert frame["FinalObjectiveValue"].tolist()[:2] == [0.8, 0.7]
    assert frame["TrainingElapsedTimeSeconds"].tolist() == [10.0, 20.0, 30.0]
    assert frame["FailureReason"].tolist()[2] == "OOM"


def best_job_description(best):
    """DescribeTrainingJob of a tuning job's training job (static plus tuned hyperparameters)."""
    return {"TrainingJobName": best, "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/{best}",
            "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed", "CreationTime": NOW, "RoleArn": ROLE,
            "AlgorithmSpecification": EXPECTED_DEFINITION["AlgorithmSpecification"],
            "HyperParameters": {**EXPECTED_DEFINITION["StaticHyperParameters"], "learning-rate": "0.01", "units": "32",
                                "optimizer": '"adam"'},
            "OutputDataConfig": {"S3OutputPath": "s3://out-bucket/"},
            "ResourceConfig": EXPECTED_DEFINITION["ResourceConfig"], "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://out-bucket/{best}/output/model.tar.gz"}}


def test_attach_rebuilds_the_tuner_and_best_estimator_deploys_the_best_job(aws_stubs):
    details = description(best=summary(2, 0.93), WarmStartConfig={
        "WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "old"}]})
    aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job", details,
                                     {"HyperParameterTuningJobName": NAME})
    tuner = HyperparameterTuner.attach(NAME, sagemaker_session=aws_stubs.session, estimator_cls=Toy)
    assert (tuner.strategy, tuner.max_jobs, tuner.max_parallel_jobs, tuner.early_stopping_type, tuner.random_seed) == (
        "Bayesian", 10, 2, "Auto", 7)
    assert tuner.hyperparameter_ranges() == EXPECTED_CONFIG["ParameterRanges"]  # categorical values not re-encoded
    assert tuner.warm_start_config.type is WarmStartTypes.TRANSFER_LEARNING and tuner.warm_start_config.parents == {"old"}
    estimator = tuner.estimator
    assert isinstance(estimator, Toy) and (estimator.entry_point, estimator.source_dir) == ("train.py", CODE)
    assert estimator._hyperparameters == {"epochs": 3} and estimator.role == ROLE

    best = f"{NAME}-002-0000abcd"
    job = best_job_description(best)
    aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job", details,
                                     {"HyperParameterTuningJobName": NAME})
    for _ in range(3):  # attach, deploy's status check, model_data
        aws_stubs.sagemaker.add_response("describe_training_job", job, {"TrainingJobName": best})
    aws_stubs.sagemaker.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m"}, {
        "ModelName": ANY, "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"s3://out-bucket/{best}/output/model.tar.gz",
                             "Environment": ANY}})
    aws_stubs.sagemaker.add_response("create_endpoint_config", {"EndpointConfigArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint-config/c"}, {
        "EndpointConfigName": best, "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": ANY, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 1.0}]})
    aws_stubs.sagemaker.add_response("create_endpoint", {"EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e"},
                                     {"EndpointName": best, "EndpointConfigName": best})
    aws_stubs.sagemaker.add_response("describe_endpoint", {
        "EndpointName": best, "EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e", "EndpointConfigName": best, "EndpointStatus": "InService",
        "CreationTime": NOW, "LastModifiedTime": NOW}, {"EndpointName": best})
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                       "UserId": "AIDA"}, {})  # the image URI's account
    predictor = tuner.deploy(1, "ml.m5.large")
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert predictor.endpoint_name == best  # named after the best training job, as SageMaker v2 names it


def test_include_cls_metadata_lets_attach_find_the_estimator_class(aws_stubs):
    tuner = tuner_for(aws_stubs.session)
    sent = {}

    def capture(definition):
        sent.update(definition)
        return True

    class Capture:
        def __eq__(self, other):
            return capture(other)

    aws_stubs.sagemaker.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/x"},
                                     {"HyperParameterTuningJobName": NAME, "HyperParameterTuningJobConfig": ANY,
                                      "TrainingJobDefinition": Capture(), "Tags": ANY})
    tuner.fit({"train": "s3://data/train"}, job_name=NAME, include_cls_metadata=True, wait=False)
    static = sent["StaticHyperParameters"]
    assert (json.loads(static["sagemaker_estimator_module"]), json.loads(static["sagemaker_estimator_class_name"])) == (
        __name__, "Toy")
    attached = HyperparameterTuner.attach(NAME, sagemaker_session=aws_stubs.session,
                                          job_details=description(TrainingJobDefinition=sent))
    assert type(attached.estimator) is Toy and "sagemaker_estimator_module" not in attached.estimator.hyperparameters()


def test_a_framework_image_attaches_as_its_estimator_and_others_as_estimator(aws_stubs):
    from framework_sdk.chainer import Chainer

    assert type(HyperparameterTuner.attach(NAME, aws_stubs.session, job_details=description()).estimator) is Chainer
    other = dict(EXPECTED_DEFINITION, StaticHyperParameters={"epochs": "3"},
                 AlgorithmSpecification=dict(EXPECTED_DEFINITION["AlgorithmSpecification"], TrainingImage="me/algo:1"))
    attached = HyperparameterTuner.attach(NAME, aws_stubs.session, job_details=description(TrainingJobDefinition=other))
    assert type(attached.estimator) is Estimator and attached.estimator.image_uri == "me/algo:1"


def test_a_plain_estimator_sends_categorical_values_as_they_are(aws_stubs):
    estimator = Estimator(IMAGE, role=ROLE, instance_count=1, instance_type="ml.m5.large", output_path="s3://o/",
                          hyperparameters={"depth": 3, "mode": "fast"}, sagemaker_session=aws_stubs.session)
    tuner = HyperparameterTuner(estimator, "rmse", {"mode": CategoricalParameter(["fast", "slow"])},
                                metric_definitions=[{"Name": "rmse", "Regex": "rmse=(\\S+)"}], objective_type="Minimize",
                                strategy="Grid")
    assert tuner.max_jobs == 2  # Grid: every combination
    aws_stubs.sagemaker.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/x"}, {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid", "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "mode", "Values": ["fast", "slow"]}]},
            "TrainingJobEarlyStoppingType": "Off"},
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"depth": "3"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": "rmse", "Regex": "rmse=(\\S+)"}]},
            "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": "s3://o/"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400}}})
    tuner.fit(job_name=NAME, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_hyperband_and_warm_start_go_into_the_request(aws_stubs):
    tuner = tuner_for(aws_stubs.session, strategy="Hyperband", early_stopping_type="Off", random_seed=None, tags=None,
                      strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=9, min_resource=2)),
                      warm_start_config=WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, ["p1", "p2"]))
    config = dict(EXPECTED_CONFIG, Strategy="Hyperband", TrainingJobEarlyStoppingType="Off",
                  StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 2, "MaxResource": 9}})
    del config["RandomSeed"]
    aws_stubs.sagemaker.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:hyper-parameter-tuning-job/x"}, {
        "HyperParameterTuningJobName": NAME, "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": EXPECTED_DEFINITION,
        "WarmStartConfig": {"WarmStartType": "IdenticalDataAndAlgorithm", "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": "p1"}, {"HyperParameterTuningJobName": "p2"}]}})
    tuner.fit({"train": "s3://data/train"}, job_name=NAME, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()


@pytest.mark.parametrize("make, message", [
    (lambda: ContinuousParameter(0, 1, "Logarithmic"), "Logarithmic scaling needs values above 0"),
    (lambda: ContinuousParameter(0.5, 1.5, "ReverseLogarithmic"), "within 0 <= value < 1"),
    (lambda: IntegerParameter(1, 10, "ReverseLogarithmic"), "ReverseLogarithmic scaling is for continuous"),
    (lambda: IntegerParameter(1.5, 10), "must be an integer"),
    (lambda: ContinuousParameter(2, 1), "must be below max_value"),
    (lambda: ContinuousParameter(0, 1, "Exponential"), "scaling_type 'Exponential' is not one of"),
    (lambda: CategoricalParameter([]), "needs a list of values"),
    (lambda: CategoricalParameter(["a", "a"]), "lists a value twice"),
    (lambda: CategoricalParameter(list(range(31))), "at most 30"),
    (lambda: WarmStartConfig("Sideways", ["p"]), "is not one of IdenticalDataAndAlgorithm"),
])
def test_ranges_are_checked_when_made(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


@pytest.mark.parametrize("arguments, message", [
    ({"objective_metric_name": "loss"}, "objective metric 'loss' has no regex"),
    ({"strategy": "Grid"}, "Grid strategy searches only CategoricalParameter"),
    ({"strategy": "Hyperband"}, "Hyperband strategy stops weak training jobs itself"),
    ({"strategy": "Annealing"}, "strategy 'Annealing' is not one of"),
    ({"objective_type": "Best"}, "objective_type 'Best'"),
    ({"max_parallel_jobs": 0}, "max_parallel_jobs must be a positive integer"),
    ({"hyperparameter_ranges": {}}, "hyperparameter_ranges is empty"),
    ({"hyperparameter_ranges": {"lr": (0, 1)}}, "must be an IntegerParameter"),
    ({"metric_definitions": [{"Name": "validation:accuracy", "Regex": "(unclosed"}]}, "does not compile"),
    ({"strategy_config": StrategyConfig(HyperbandStrategyConfig(3))}, "configures Hyperband only"),
])
def test_tuner_arguments_are_checked_before_any_request(aws_stubs, arguments, message):
    values = dict(objective_metric_name="validation:accuracy", hyperparameter_ranges=RANGES, early_stopping_type="Auto")
    values.update(arguments)
    with pytest.raises(ConfigurationError, match=message):
        HyperparameterTuner(toy(aws_stubs.session), **values)


def test_hyperband_needs_max_resource_or_an_epochs_hyperparameter(aws_stubs):
    estimator = toy(aws_stubs.session)
    estimator._hyperparameters = {"batch-size": 64}
    tuner = HyperparameterTuner(estimator, "validation:accuracy", RANGES, strategy="Hyperband")
    with pytest.raises(ConfigurationError, match="Hyperband strategy needs MaxResource"):
        tuner.fit({"train": "s3://data/train"}, job_name=NAME, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()  # nothing was sent


def test_a_job_name_over_32_characters_is_refused_before_sending(aws_stubs):
    with pytest.raises(ConfigurationError, match="longer than SageMaker's 32 characters"):
        tuner_for(aws_stubs.session).fit({"train": "s3://data/train"}, job_name="x" * 33, wait=False)


def test_transformer_serves_the_best_training_jobs_model(aws_stubs):
    best = f"{NAME}-002-0000abcd"
    tuner = HyperparameterTuner.attach(NAME, aws_stubs.session, job_details=description(), estimator_cls=Toy)
    aws_stubs.sagemaker.add_response("describe_hyper_parameter_tuning_job", description(best=summary(2, 0.93)),
                                     {"HyperParameterTuningJobName": NAME})
    for _ in range(3):  # attach, the status check, model_data
        aws_stubs.sagemaker.add_response("describe_training_job", best_job_description(best), {"TrainingJobName": best})
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                       "UserId": "AIDA"}, {})
    aws_stubs.sagemaker.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m"}, {
        "ModelName": best, "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"s3://out-bucket/{best}/output/model.tar.gz",
                             "Environment": ANY}})
    transformer = tuner.transformer(1, "ml.m5.large", output_path="s3://out-bucket/batch")
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert transformer.model_name == best and transformer.output_path == "s3://out-bucket/batch"
