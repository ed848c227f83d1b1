"""Algorithm / model-package builders, checked against botocore's own SageMaker service model."""
import boto3
import pytest
from botocore.stub import ANY, Stubber

from framework_sdk import specs
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.session import Session

IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/decision-trees:latest"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
MODEL_DATA = "s3://bucket/decision-trees/output/job/model.tar.gz"


def decision_tree_training_spec():
    """Part 3 of the scikit bring-your-own notebook: the decision-tree algorithm's training spec."""
    return specs.training_specification(
        IMAGE, ["ml.m4.xlarge", "ml.m5.large", "ml.c5.xlarge"],
        [specs.channel("training", ["text/csv"], description="Iris rows, label first")],
        hyperparameters=[
            specs.hyperparameter("max_leaf_nodes", "Integer", min_value=1, max_value=100000, default=10,
                                 description="Grow a tree with at most this many leaves"),
            specs.hyperparameter("learning_rate", "Continuous", min_value=0.0, max_value=1.0, default="0.1"),
            specs.hyperparameter("criterion", "Categorical", values=["gini", "entropy"], default="gini"),
            specs.hyperparameter("note", "FreeText"),
            specs.hyperparameter("seed", "Integer", required=True, tunable=False),
        ],
        metric_definitions=[{"Name": "train:accuracy", "Regex": r"train:accuracy=(\S+)"}],
        tuning_objectives=[specs.tuning_objective("train:accuracy", "Maximize")],
    )


def decision_tree_inference_spec(model_data=None):
    return specs.inference_specification(
        [specs.container(IMAGE, model_data, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": 2})],
        ["text/csv"], ["text/csv"],
        realtime_instance_types=["ml.m4.xlarge", "ml.c5.xlarge"],
        transform_instance_types=["ml.m4.xlarge"])


def algorithm_request():
    training = specs.training_job_definition(
        {"training": "s3://bucket/iris/train"}, "s3://bucket/validation/output", "ml.m4.xlarge",
        hyperparameters={"max_leaf_nodes": 5, "seed": 1}, content_type="text/csv")
    transform = specs.transform_job_definition(
        "s3://bucket/iris/batch", "s3://bucket/validation/transform", "ml.m4.xlarge",
        content_type="text/csv", split_type="Line", accept="text/csv", assemble_with="Line",
        strategy="MultiRecord", max_payload=6)
    return specs.create_algorithm_request(
        "decision-trees-algo", decision_tree_training_spec(), decision_tree_inference_spec(),
        specs.algorithm_validation_specification(ROLE, training, transform),
        description="scikit-learn decision tree", tags={"team": "ml"})


def model_package_request():
    transform = specs.transform_job_definition(
        "s3://bucket/iris/batch", "s3://bucket/validation/transform", "ml.m4.xlarge",
        content_type="text/csv", split_type="Line")
    return specs.create_model_package_request(
        "decision-trees-package", inference_specification=decision_tree_inference_spec(MODEL_DATA),
        validation_specification=specs.model_package_validation_specification(ROLE, transform),
        certify_for_marketplace=True)


def stubbed_session():
    client = boto3.client("sagemaker", region_name="us-west-2", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    return Session(sagemaker_client=client), Stubber(client)


# --------------------------------------------------------------------- botocore model


def test_create_algorithm_request_passes_botocore_validation():
    request = algorithm_request()
    assert specs.validate_request("CreateAlgorithm", request) is request
    spec = request["TrainingSpecification"]
    assert spec["SupportedHyperParameters"][0] == {
        "Name": "max_leaf_nodes", "Type": "Integer", "Description": "Grow a tree with at most this many leaves",
        "Range": {"IntegerParameterRangeSpecification": {"MinValue": "1", "MaxValue": "100000"}},
        "IsTunable": True, "IsRequired": False, "DefaultValue": "10"}
    assert spec["SupportedHyperParameters"][3]["IsTunable"] is False  # FreeText
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]
    profile = request["ValidationSpecification"]["ValidationProfiles"][0]
    assert profile["TrainingJobDefinition"]["HyperParameters"] == {"max_leaf_nodes": "5", "seed": "1"}


@pytest.mark.parametrize("build", [model_package_request, lambda: specs.create_model_package_request(
    "from-algorithm", algorithm_name="decision-trees-algo", model_data=MODEL_DATA)])
def test_create_model_package_requests_pass_botocore_validation(build):
    specs.validate_request("CreateModelPackage", build())


def test_validate_request_reports_botocore_problems():
    request = algorithm_request()
    del request["TrainingSpecification"]["TrainingChannels"]
    request["TrainingSpecification"]["SupportsDistributedTraining"] = "yes"
    with pytest.raises(ConfigurationError) as caught:
        specs.validate_request("CreateAlgorithm", request)
    assert "TrainingChannels" in str(caught.value) and "SupportsDistributedTraining" in str(caught.value)


def test_create_algorithm_sends_the_request_through_the_session_client():
    session, stubber = stubbed_session()
    arn = "arn:aws:sagemaker:us-west-2:123456789012:algorithm/decision-trees-algo"
    stubber.add_response("create_algorithm", {"AlgorithmArn": arn},
                         {"AlgorithmName": "decision-trees-algo", "TrainingSpecification": ANY,
                          "CertifyForMarketplace": False})
    with stubber:
        assert specs.create_algorithm(session, "decision-trees-algo", decision_tree_training_spec()) == arn
    stubber.assert_no_pending_responses()


def test_create_model_package_sends_the_request_through_the_session_client():
    session, stubber = stubbed_session()
    arn = "arn:aws:sagemaker:us-west-2:123456789012:model-package/decision-trees-package"
    expected = specs.create_model_package_request("decision-trees-package",
                                                  inference_specification=decision_tree_inference_spec(MODEL_DATA))
    stubber.add_response("create_model_package", {"ModelPackageArn": arn}, expected)
    with stubber:
        assert specs.create_model_package(
            session, "decision-trees-package",
            inference_specification=decision_tree_inference_spec(MODEL_DATA)) == arn
    stubber.assert_no_pending_responses()


# --------------------------------------------------------------- builder errors


@pytest.mark.parametrize("call, message", [
    (lambda: specs.hyperparameter("x", "Float"), "not one of"),
    (lambda: specs.hyperparameter("x", "Integer", min_value=1), "both min_value and max_value"),
    (lambda: specs.hyperparameter("x", "Integer", min_value=5, max_value=1), "above max_value"),
    (lambda: specs.hyperparameter("x", "Integer", min_value=0.5, max_value=2), "whole number"),
    (lambda: specs.hyperparameter("x", "Integer", min_value=1, max_value=3, default=9), "outside the range"),
    (lambda: specs.hyperparameter("x", "Categorical", values=["a"], default="b"), "not one of"),
    (lambda: specs.hyperparameter("x", "Categorical"), "at least one value"),
    (lambda: specs.hyperparameter("x", "FreeText", tunable=True), "FreeText is never tunable"),
    (lambda: specs.hyperparameter("x", "FreeText", values=["a"]), "takes no range"),
    (lambda: specs.channel("bad name", ["text/csv"]), "channel name"),
    (lambda: specs.channel("train", ["text/csv"], input_modes=["Stream"]), "input mode"),
    (lambda: specs.channel("train", []), "at least one value"),
    (lambda: specs.metric_definition("loss", "loss=(["), "does not compile"),
    (lambda: specs.tuning_objective("loss", "Lower"), "not one of"),
    (lambda: specs.training_specification(IMAGE, ["ml.m5.large"], [specs.channel("t", ["text/csv"])],
                                          tuning_objectives=[specs.tuning_objective("loss")]),
     "names no metric definition"),
    (lambda: specs.training_specification(IMAGE, ["ml.m5.large"], [specs.channel("t", ["a"])] * 2),
     "defined twice"),
    (lambda: specs.training_specification(IMAGE, ["ml.m5.large"], []), "1 to 8 channels"),
    (lambda: specs.inference_specification(IMAGE, ["text/csv"], ["text/csv"]), "realtime_instance_types"),
    (lambda: specs.container(IMAGE, "file:///tmp/model.tar.gz"), "s3:// URI"),
    (lambda: specs.algorithm_validation_specification("SageMakerRole", {}), "role ARN"),
    (lambda: specs.create_algorithm_request("bad_name", {}), "not a valid SageMaker name"),
    (lambda: specs.create_model_package_request("p"), "needs an inference_specification"),
    (lambda: specs.create_model_package_request("p", algorithm_name="a"), "model_data"),
    (lambda: specs.create_model_package_request(inference_specification={}), "exactly one of name"),
])
def test_builders_reject_bad_input_with_a_clear_message(call, message):
    with pytest.raises(ConfigurationError, match=message):
        call()


# ------------------------------------------------------------ hyperparameter check


def test_validate_hyperparameters_fills_defaults_and_stringifies():
    result = specs.validate_hyperparameters(
        decision_tree_training_spec(), {"max_leaf_nodes": 7.0, "seed": "3", "learning_rate": 1, "note": True})
    assert result == {"max_leaf_nodes": "7", "seed": "3", "learning_rate": "1.0", "note": "True",
                      "criterion": "gini"}


def test_validate_hyperparameters_accepts_a_describe_algorithm_response():
    described = {"AlgorithmName": "a", "TrainingSpecification": decision_tree_training_spec()}
    assert specs.validate_hyperparameters(described, {"seed": 1})["max_leaf_nodes"] == "10"


@pytest.mark.parametrize("hyperparameters, problem", [
    ({"seed": 1, "max_leaves": 3}, "'max_leaves' is not a hyperparameter of this algorithm (it accepts: "
                                   "criterion, learning_rate, max_leaf_nodes, note, seed)"),
    ({"seed": 1, "max_leaf_nodes": "ten"}, "'max_leaf_nodes' (Integer): 'ten' is not a number"),
    ({"seed": 1, "max_leaf_nodes": 2.5}, "'max_leaf_nodes' (Integer): 2.5 is not a whole number"),
    ({"seed": True}, "'seed' (Integer): True is a boolean, not a number"),
    ({"seed": 1, "max_leaf_nodes": 0}, "'max_leaf_nodes' (Integer): 0 is outside the range [1, 100000]"),
    ({"seed": 1, "learning_rate": "1.5"}, "'learning_rate' (Continuous): '1.5' is outside the range [0.0, 1.0]"),
    ({"seed": 1, "learning_rate": float("nan")}, "'learning_rate' (Continuous): nan is not a finite number"),
    ({"seed": 1, "criterion": "log_loss"}, "'criterion' (Categorical): 'log_loss' is not one of 'gini', 'entropy'"),
    ({"seed": 1, "note": ["a"]}, "'note' (FreeText): ['a'] is a list; pass a string"),
    ({}, "'seed' (Integer) is required and has no default; pass a value"),
])
def test_validate_hyperparameters_errors_name_the_problem(hyperparameters, problem):
    with pytest.raises(specs.HyperparameterError) as caught:
        specs.validate_hyperparameters(decision_tree_training_spec(), hyperparameters)
    assert caught.value.problems == [problem]
    assert isinstance(caught.value, ValueError)


def test_validate_hyperparameters_lists_every_problem_at_once():
    with pytest.raises(specs.HyperparameterError) as caught:
        specs.validate_hyperparameters(decision_tree_training_spec(), {"depth": 3, "max_leaf_nodes": -1})
    assert len(caught.value.problems) == 3  # unknown, out of range, missing required
    assert str(caught.value).count("\n  - ") == 3


def test_validate_channels():
    spec = decision_tree_training_spec()
    specs.validate_channels(spec, ["training"])
    with pytest.raises(ConfigurationError, match="(?s)'train' is not accepted .* 'training' is required"):
        specs.validate_channels(spec, ["train"])
