"""The container contract module: SageMaker's spellings, the config files it writes and reads, and both
halves agreeing through it (the toolkit reads what the engine's writer wrote, exports its SM_* names,
answers its routes)."""
import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from framework_sdk import codecs, contract
from framework_sdk.container.environment import ConfigurationError, Environment
from framework_sdk.container.serving.app import ServingApp
from framework_sdk.container.serving.config import ServerConfig
from framework_sdk.container.serving.deadline import Deadline
from framework_sdk.contract import ContractError, Layout

# ------------------------------------------------------------------ the tree


def test_the_default_tree_is_sagemakers_opt_ml():
    tree = Layout()
    expected = {
        "input_dir": "/opt/ml/input",
        "input_config_dir": "/opt/ml/input/config",
        "input_data_dir": "/opt/ml/input/data",
        "hyperparameters_file": "/opt/ml/input/config/hyperparameters.json",
        "resource_config_file": "/opt/ml/input/config/resourceconfig.json",
        "input_data_config_file": "/opt/ml/input/config/inputdataconfig.json",
        "model_dir": "/opt/ml/model",
        "inference_code_dir": "/opt/ml/model/code",
        "output_dir": "/opt/ml/output",
        "output_data_dir": "/opt/ml/output/data",
        "output_intermediate_dir": "/opt/ml/output/intermediate",
        "failure_file": "/opt/ml/output/failure",
        "success_file": "/opt/ml/output/success",
        "code_dir": "/opt/ml/code",
        "checkpoints_dir": "/opt/ml/checkpoints",
    }
    assert {name: getattr(tree, name).as_posix() for name in expected} == expected
    assert tree.channel_dir("train").as_posix() == "/opt/ml/input/data/train"
    assert tree.checkpoints_dir.as_posix() == contract.DEFAULT_CHECKPOINT_DIR


def test_a_tree_elsewhere(tmp_path):
    assert Layout.from_env({"SAGEMAKER_BASE_DIR": str(tmp_path)}).model_dir == tmp_path / "model"
    assert Layout.from_env({"SAGEMAKER_BASE_DIR": ""}).base == Path("/opt/ml")  # empty: not set
    assert Layout.from_env({}).base == Path("/opt/ml")
    assert Layout(str(tmp_path)).base == tmp_path  # a str base becomes a Path
    assert Layout(tmp_path) == Layout(str(tmp_path))


def test_paths_relative_to_the_tree_are_the_same_in_every_tree(tmp_path):
    for tree in (Layout(), Layout(tmp_path / "algo-2")):
        assert tree.relative(tree.channel_dir("train")) == "input/data/train"
        assert tree.relative(tree.code_dir) == "code"
        assert tree.relative(tree.inference_code_dir) == "model/code"


def test_create_makes_the_folders_a_training_job_starts_with(tmp_path):
    tree = Layout(tmp_path / "host").create(["train", "test"])
    for folder in (tree.input_config_dir, tree.model_dir, tree.output_data_dir, tree.channel_dir("train"),
                   tree.channel_dir("test")):
        assert folder.is_dir()


# ------------------------------------------------------------------ config files


def test_training_config_round_trip_in_sagemakers_files(tmp_path):
    tree = Layout(tmp_path)
    hyperparameters = {"epochs": "3", "sagemaker_program": '"train.py"'}
    resource = contract.resource_config("algo-2", ["algo-1", "algo-2"])
    data = {"train": contract.channel_config(contract.CSV)}
    contract.write_training_config(tree, hyperparameters, resource, data)
    config = tmp_path / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == hyperparameters
    assert json.loads((config / "resourceconfig.json").read_text()) == {
        "current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "network_interface_name": "eth0"}
    assert json.loads((config / "inputdataconfig.json").read_text()) == {"train": {
        "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None",
        "ContentType": "text/csv"}}
    assert contract.read_training_config(tree) == (hyperparameters, resource, data)


def test_missing_config_files_mean_none(tmp_path):
    config = contract.read_training_config(Layout(tmp_path))
    assert config.hyperparameters == {} and config.resource is None and config.input_data == {}


@pytest.mark.parametrize("text, message", [
    ("{", "is not valid JSON"),
    ("[1, 2]", "must hold a JSON object, found list"),
])
def test_a_malformed_config_file_is_named(tmp_path, text, message):
    tree = Layout(tmp_path)
    tree.input_config_dir.mkdir(parents=True)
    tree.input_data_config_file.write_text(text)
    with pytest.raises(ContractError, match=message) as caught:
        contract.read_training_config(tree)
    assert str(tree.input_data_config_file) in str(caught.value)


@pytest.mark.parametrize("resource, message", [
    ({"current_host": "algo-1", "hosts": []}, '"hosts" must be a non-empty list'),
    ({"current_host": "algo-3", "hosts": ["algo-1"]}, "is not one of"),
    ({"current_host": "a b", "hosts": ["a b"]}, "host names may hold only"),
])
def test_a_resource_config_must_name_its_hosts(tmp_path, resource, message):
    tree = Layout(tmp_path)
    contract.write_training_config(tree, {}, resource, {})
    with pytest.raises(ContractError, match=message):
        contract.read_training_config(tree)


def test_resource_config_with_an_instance_type_has_sagemakers_instance_group():
    config = contract.resource_config("algo-1", ("algo-1", "algo-2"), instance_type="local")
    assert config == {
        "current_host": "algo-1", "hosts": ["algo-1", "algo-2"], "network_interface_name": "eth0",
        "current_group_name": "homogeneousCluster", "current_instance_type": "local",
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "hosts": ["algo-1", "algo-2"],
                             "instance_type": "local"}]}
    assert contract.resource_config("algo-1", ["algo-1"], "eth1", rank=0)["rank"] == 0  # extra keys kept


def test_channel_config_holds_the_optional_keys_only_when_given():
    assert contract.channel_config() == {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                                         "RecordWrapperType": "None"}
    entry = contract.channel_config(contract.JSON, "Pipe", "ShardedByS3Key", "RecordIO", "Gzip")
    assert entry == {"TrainingInputMode": "Pipe", "S3DistributionType": "ShardedByS3Key",
                     "RecordWrapperType": "RecordIO", "ContentType": "application/json", "CompressionType": "Gzip"}


def test_host_names():
    assert contract.host_names(3) == ["algo-1", "algo-2", "algo-3"]
    assert contract.DEFAULT_HOST == "algo-1"


# ------------------------------------------------------------------ names


def test_sm_names():
    assert contract.sm_name("model_dir") == "SM_MODEL_DIR"
    assert contract.channel_env("train") == "SM_CHANNEL_TRAIN"
    assert contract.hyperparameter_env("learning-rate") == "SM_HP_LEARNING-RATE"


def test_framework_parameters_are_the_sagemaker_prefixed_ones():
    assert contract.is_framework_param(contract.PROGRAM_PARAM)
    assert not contract.is_framework_param("epochs")
    assert all(contract.is_framework_param(name) for name in contract.TOOLKIT_PARAMS)
    assert all(contract.is_framework_param(name) for name in contract.DISTRIBUTION_ENABLED_PARAMS)


@pytest.mark.parametrize("given, expected", [
    ("", "MULTI_RECORD"), ("MultiRecord", "MULTI_RECORD"), ("SingleRecord", "SINGLE_RECORD"),
    ("multi-record", "MULTI_RECORD"), ("SINGLE_RECORD", "SINGLE_RECORD"), (" single_record ", "SINGLE_RECORD"),
    ("several", "SEVERAL"),
])
def test_the_model_servers_spelling_of_a_batch_strategy(given, expected):
    assert contract.server_batch_strategy(given) == expected


@pytest.mark.parametrize("name, valid", [
    ("train", True), ("a.b-c_D9", True), ("x" * 64, True), ("x" * 65, False), ("", False),
    ("tr ain", False), ("trainé", False), ("train\n", False), (7, False),
])
def test_channel_names(name, valid):
    assert contract.valid_channel_name(name) is valid


@pytest.mark.parametrize("name", ["train\n", "x" * 65, "trainé"])
def test_the_client_refuses_the_channel_names_the_contract_refuses(name):
    from framework_sdk import specs
    from framework_sdk.exceptions import ConfigurationError as ClientConfigurationError
    from framework_sdk.inputs import input_data_config

    with pytest.raises(ClientConfigurationError, match="channel name"):
        input_data_config({name: "s3://bucket/data"}, local_mode=False)
    with pytest.raises(ClientConfigurationError, match="channel name"):  # a trailing newline passed before
        specs.channel(name, [contract.CSV])


def test_enumerations_name_their_members():
    assert contract.LOCAL_INSTANCE_TYPES == ("local", "local_gpu")
    assert contract.is_local_instance_type("local_gpu") and not contract.is_local_instance_type("ml.m5.large")
    assert not contract.is_local_instance_type(None)
    assert contract.FILE_MODE in contract.INPUT_MODES and contract.PIPE_MODE in contract.INPUT_MODES
    assert contract.S3_PREFIX in contract.S3_DATA_TYPES
    assert contract.FULLY_REPLICATED in contract.S3_DATA_DISTRIBUTIONS
    assert contract.LINE in contract.SPLIT_TYPES and contract.LINE in contract.ASSEMBLE_WITH
    for values in (contract.COMPRESSION_TYPES, contract.RECORD_WRAPPINGS, contract.SPLIT_TYPES,
                   contract.ASSEMBLE_WITH, contract.JOIN_SOURCES):
        assert values[0] == contract.NONE == "None"
    assert contract.BATCH_STRATEGIES == (contract.MULTI_RECORD, contract.SINGLE_RECORD)
    assert len(contract.SERVER_BATCH_STRATEGIES) == len(contract.BATCH_STRATEGIES)


def test_codecs_content_types_are_the_contracts():
    assert (codecs.NPY, codecs.JSON, codecs.CSV, codecs.JSONLINES) == contract.CONTENT_TYPES == codecs.SUPPORTED
    assert contract.CONTENT_TYPES == ("application/x-npy", "application/json", "text/csv", "application/jsonlines")


def test_the_contract_imports_the_standard_library_only():
    tree = ast.parse(Path(contract.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in tree.body
                 if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))  # nothing of ours
    if sys.version_info >= (3, 10):
        assert imported - {"__future__"} <= set(sys.stdlib_module_names)
    probe = ("import sys, framework_sdk.contract; "
             "print(sorted(m for m in sys.modules if m.startswith('framework_sdk')))")
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "['framework_sdk', 'framework_sdk._lazy', 'framework_sdk.contract']"


# ------------------------------------------------------------------ both halves through the contract


def test_the_toolkit_reads_the_tree_the_contract_writes(tmp_path):
    tree = Layout(tmp_path)
    contract.write_training_config(
        tree, {"epochs": "3", contract.PROGRAM_PARAM: '"train.py"'},
        contract.resource_config("algo-2", contract.host_names(2), instance_type="local"),
        {"train": contract.channel_config(contract.CSV)})
    environment = Environment.from_files(environ={contract.BASE_DIR_ENV: str(tmp_path)})
    assert environment.layout == tree
    assert (environment.current_host, environment.hosts, environment.program) == ("algo-2", ["algo-1", "algo-2"],
                                                                                   "train.py")
    assert environment.channel_dirs == {"train": tree.channel_dir("train")}
    assert environment.current_instance_group == contract.HOMOGENEOUS_GROUP
    variables = environment.to_env_vars()
    assert set(variables) == {*contract.TRAINING_ENV_NAMES, contract.channel_env("train"),
                              contract.hyperparameter_env("epochs")}
    assert variables[contract.sm_name("model_dir")] == str(tree.model_dir)


def test_the_toolkit_reports_a_broken_config_file_as_its_configuration_error(tmp_path):
    tree = Layout(tmp_path)
    contract.write_training_config(tree, {}, {"current_host": "algo-9", "hosts": ["algo-1"]}, {})
    with pytest.raises(ConfigurationError, match=r'resourceconfig\.json: "current_host"'):
        Environment.from_files(tmp_path)


def test_the_model_server_defaults_are_the_contracts():
    config = ServerConfig.from_env({})
    assert (config.base_dir, config.port, config.host, config.timeout, config.max_payload_mb, config.batch_strategy) \
        == (Path(contract.BASE_DIR), contract.DEFAULT_PORT, contract.DEFAULT_BIND_HOST,
            contract.DEFAULT_MODEL_SERVER_TIMEOUT, contract.DEFAULT_MAX_PAYLOAD_MB, "MULTI_RECORD")
    assert config.model_dir == Layout().model_dir
    environ = {contract.BASE_DIR_ENV: "/srv/ml", contract.BIND_TO_PORT_ENV: "9000",
               contract.BATCH_STRATEGY_ENV: contract.SINGLE_RECORD}
    config = ServerConfig.from_env(environ)
    assert (config.base_dir, config.port, config.batch_strategy) == (Path("/srv/ml"), 9000, "SINGLE_RECORD")


def test_the_model_server_answers_the_contracts_routes():
    class Echo:
        wants_context = False

        def invoke(self, body, content_type, accept, context):
            return bytes(body), content_type

    app = ServingApp(Echo(), ServerConfig(), Deadline(5.0))

    def status(method, path):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"{}"}

        async def send(message):
            sent.append(message)

        asyncio.run(app({"type": "http", "method": method, "path": path,
                         "headers": [(b"content-type", contract.JSON.encode())]}, receive, send))
        return sent[0]["status"]

    assert status("GET", contract.PING) == 200
    assert status("POST", contract.INVOCATIONS) == 200
    assert status("GET", contract.EXECUTION_PARAMETERS) == 200
    assert status("GET", "/pong") == 404
