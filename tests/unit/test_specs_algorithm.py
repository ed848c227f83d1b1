"""AlgorithmEstimator and ModelPackage: every request checked by botocore's Stubber (the aws_stubs fixture)."""
import datetime

import pytest
from botocore.stub import ANY

from framework_sdk import specs
from framework_sdk.algorithm import AlgorithmEstimator, ModelPackage
from framework_sdk.exceptions import ConfigurationError

ALGORITHM_ARN = "arn:aws:sagemaker:us-west-2:123456789012:algorithm/decision-trees"
PACKAGE_ARN = "arn:aws:sagemaker:us-west-2:123456789012:model-package/decision-trees-package"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/decision-trees:latest"
NOW = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)


def training_spec():
    return specs.training_specification(
        IMAGE, ["ml.m5.large", "ml.c5.xlarge"],
        [specs.channel("training", ["text/csv"]), specs.channel("validation", ["text/csv"], required=False)],
        hyperparameters=[specs.hyperparameter("max_leaf_nodes", "Integer", min_value=1, max_value=1000, default=10),
                         specs.hyperparameter("criterion", "Categorical", values=["gini", "entropy"],
                                              required=True)],
        metric_definitions=[{"Name": "train:accuracy", "Regex": r"train:accuracy=(\S+)"}])


def describe_algorithm(aws):
    aws.sagemaker.add_response(
        "describe_algorithm",
        {"AlgorithmName": "decision-trees", "AlgorithmArn": ALGORITHM_ARN, "CreationTime": NOW,
         "TrainingSpecification": training_spec(), "AlgorithmStatus": "Completed",
         "AlgorithmStatusDetails": {}},
        {"AlgorithmName": ALGORITHM_ARN})


def estimator(aws, **kwargs):
    describe_algorithm(aws)
    options = {"role": ROLE, "instance_count": 1, "instance_type": "ml.m5.large",
               "output_path": "s3://bucket/output", "sagemaker_session": aws.session}
    options.update(kwargs)
    return AlgorithmEstimator(ALGORITHM_ARN, **options)


def test_fit_names_the_algorithm_and_sends_checked_hyperparameters_with_defaults(aws_stubs):
    algo = estimator(aws_stubs, hyperparameters={"criterion": "entropy"})
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:training-job/j"}, {
        "TrainingJobName": ANY,
        "AlgorithmSpecification": {"AlgorithmName": ALGORITHM_ARN, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"criterion": "entropy", "max_leaf_nodes": "10"},
        "InputDataConfig": ANY,
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    })
    algo.fit({"training": "s3://bucket/iris/train"}, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert algo.latest_training_job.name.startswith("decision-trees-")


def test_bad_hyperparameters_are_refused_before_any_job(aws_stubs):
    with pytest.raises(specs.HyperparameterError) as caught:
        estimator(aws_stubs, hyperparameters={"max_leaf_nodes": 0, "depth": 3})
    assert [problem.split(" ")[0] for problem in caught.value.problems] == ["'max_leaf_nodes'", "'depth'"]
    algo = estimator(aws_stubs)
    with pytest.raises(specs.HyperparameterError, match="'criterion' .* is required"):
        algo.fit("s3://bucket/iris/train", wait=False)
    with pytest.raises(specs.HyperparameterError, match="'criterion' .* 'gini', 'entropy'"):
        algo.set_hyperparameters(criterion="log_loss")


@pytest.mark.parametrize("inputs, message", [
    ({"train": "s3://bucket/x"}, "'train' is not accepted"),
    ({"validation": "s3://bucket/x"}, "'training' is required"),
])
def test_channels_are_checked_against_the_algorithm(aws_stubs, inputs, message):
    algo = estimator(aws_stubs, hyperparameters={"criterion": "gini"})
    with pytest.raises(ConfigurationError, match=message):
        algo.fit(inputs, wait=False)


def test_input_mode_is_checked_against_the_channels(aws_stubs):
    algo = estimator(aws_stubs, hyperparameters={"criterion": "gini"}, input_mode="Pipe")
    with pytest.raises(ConfigurationError, match="does not support input mode 'Pipe'"):
        algo.fit("s3://bucket/x", wait=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"instance_type": "ml.p3.2xlarge"}, "does not train on 'ml.p3.2xlarge'; use one of ml.m5.large, ml.c5.xlarge"),
    ({"instance_count": 2}, "does not support distributed training"),
])
def test_instances_are_checked_against_the_algorithm(aws_stubs, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        estimator(aws_stubs, **kwargs)


def test_local_mode_points_to_the_image_instead():
    with pytest.raises(ConfigurationError, match="Estimator\\(image_uri=<its TrainingImage>"):
        AlgorithmEstimator(ALGORITHM_ARN, instance_count=1, instance_type="local")


def test_deploy_a_model_package_arn(aws_stubs):
    aws_stubs.sagemaker.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-west-2:123456789012:model/iris"}, {
        "ModelName": ANY, "PrimaryContainer": {"ModelPackageName": PACKAGE_ARN}, "ExecutionRoleArn": ROLE,
        "EnableNetworkIsolation": True})
    aws_stubs.sagemaker.add_response("create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/iris"}, {
        "EndpointConfigName": "iris", "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": ANY, "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}]})
    aws_stubs.sagemaker.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint/iris"},
                                     {"EndpointName": "iris", "EndpointConfigName": "iris"})
    package = ModelPackage(ROLE, model_package_arn=PACKAGE_ARN, sagemaker_session=aws_stubs.session)
    predictor = package.deploy(1, "ml.m5.large", endpoint_name="iris", wait=False)
    assert predictor.endpoint_name == "iris"
    assert package.name.startswith("decision-trees-package-")
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_estimator_deploy_registers_the_trained_model_as_a_package_first(aws_stubs):
    algo = estimator(aws_stubs, hyperparameters={"criterion": "gini"})
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:training-job/j"}, None)
    algo.fit("s3://bucket/iris/train", wait=False)
    job = algo.latest_training_job.name
    described = {"TrainingJobName": job, "TrainingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:training-job/j", "TrainingJobStatus": "Completed",
                 "SecondaryStatus": "Completed", "CreationTime": NOW,
                 "AlgorithmSpecification": {"AlgorithmName": ALGORITHM_ARN, "TrainingInputMode": "File"},
                 "ModelArtifacts": {"S3ModelArtifacts": f"s3://bucket/output/{job}/output/model.tar.gz"},
                 "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
                 "StoppingCondition": {"MaxRuntimeInSeconds": 86400}}
    for _ in range(2):  # deploy checks the job is Completed, then reads its model
        aws_stubs.sagemaker.add_response("describe_training_job", described, {"TrainingJobName": job})
    aws_stubs.sagemaker.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, {
        "ModelPackageName": ANY, "CertifyForMarketplace": False,
        "SourceAlgorithmSpecification": {"SourceAlgorithms": [{
            "AlgorithmName": ALGORITHM_ARN, "ModelDataUrl": f"s3://bucket/output/{job}/output/model.tar.gz"}]}})
    for status in ("InProgress", "Completed"):
        aws_stubs.sagemaker.add_response("describe_model_package", {
            "ModelPackageName": "p", "ModelPackageArn": PACKAGE_ARN, "CreationTime": NOW,
            "ModelPackageStatus": status, "ModelPackageStatusDetails": {"ValidationStatuses": []}},
            {"ModelPackageName": ANY})
    aws_stubs.sagemaker.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-west-2:123456789012:model/iris"}, {
        "ModelName": ANY, "PrimaryContainer": {"ModelPackageName": PACKAGE_ARN}, "ExecutionRoleArn": ROLE,
        "EnableNetworkIsolation": True})
    aws_stubs.sagemaker.add_response("create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/iris"}, None)
    aws_stubs.sagemaker.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint/iris"}, None)
    algo.deploy(1, "ml.m5.large", wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_a_failed_package_raises_with_its_reason(aws_stubs):
    aws_stubs.sagemaker.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, None)
    aws_stubs.sagemaker.add_response("describe_model_package", {
        "ModelPackageName": "p", "ModelPackageArn": PACKAGE_ARN, "CreationTime": NOW, "ModelPackageStatus": "Failed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [
            {"Name": "ValidationProfile1", "Status": "Failed", "FailureReason": "model.tar.gz is empty"}]}},
        None)
    package = ModelPackage(ROLE, model_data="s3://bucket/model.tar.gz", algorithm_arn=ALGORITHM_ARN,
                           sagemaker_session=aws_stubs.session)
    with pytest.raises(Exception, match="ended Failed: model.tar.gz is empty") as caught:
        package.prepare_container_def()
    assert caught.value.failure_reason == "model.tar.gz is empty"


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give model_package_arn"),
    ({"algorithm_arn": ALGORITHM_ARN}, "model_data"),
])
def test_model_package_arguments(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        ModelPackage(ROLE, **kwargs)


def test_session_creates_an_algorithm_with_a_validated_request(aws_stubs):
    inference = specs.inference_specification([specs.container(IMAGE)], ["text/csv"], ["text/csv"],
                                              realtime_instance_types=["ml.m5.large"],
                                              transform_instance_types=["ml.m5.large"])
    aws_stubs.sagemaker.add_response("create_algorithm", {"AlgorithmArn": ALGORITHM_ARN}, {
        "AlgorithmName": "decision-trees", "TrainingSpecification": training_spec(),
        "InferenceSpecification": inference, "CertifyForMarketplace": False})
    arn = aws_stubs.session.create_algorithm("decision-trees", training_spec(), inference)
    assert arn == ALGORITHM_ARN
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_session_creates_a_model_package_from_an_algorithm(aws_stubs):
    aws_stubs.sagemaker.add_response("create_model_package", {"ModelPackageArn": PACKAGE_ARN}, {
        "ModelPackageName": "decision-trees-package", "CertifyForMarketplace": False,
        "SourceAlgorithmSpecification": {"SourceAlgorithms": [
            {"AlgorithmName": ALGORITHM_ARN, "ModelDataUrl": "s3://bucket/model.tar.gz"}]}})
    arn = aws_stubs.session.create_model_package("decision-trees-package", algorithm_name=ALGORITHM_ARN,
                                                 model_data="s3://bucket/model.tar.gz")
    assert arn == PACKAGE_ARN
    aws_stubs.sagemaker.assert_no_pending_responses()
