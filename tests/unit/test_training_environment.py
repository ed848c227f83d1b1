"""Environment built from plain data, its SM_* export, and hyperparameter handling."""
import json
import logging
from pathlib import Path

import pytest

from framework_sdk.container import frameworks
from framework_sdk.container.environment import (ConfigurationError, Environment, decode_hyperparameters,
                                                 env_value, to_cmd_args)

HYPERPARAMETERS = {
    "epochs": "3",
    "learning-rate": "0.01",
    "optimizer": "adam",
    "flag": "true",
    "sizes": "[1, 2]",
    "name": '"quoted"',
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": '"s3://bucket/job/source/sourcedir.tar.gz"',
    "sagemaker_region": '"us-west-2"',
    "sagemaker_container_log_level": "20",
    "sagemaker_job_name": '"job-1"',
    "sagemaker_use_mpi": "true",
}


def make(**overrides):
    data = {
        "hyperparameters": HYPERPARAMETERS,
        "resource_config": {"current_host": "algo-2", "hosts": ["algo-2", "algo-1"],
                            "network_interface_name": "eth1"},
        "input_data_config": {"train": {"TrainingInputMode": "File"}, "test": {"TrainingInputMode": "File"}},
        "base_dir": "/ml",
        "num_gpus": 0,
        "num_cpus": 4,
    }
    data.update(overrides)
    return Environment.from_dict(data)


def test_decoding_keeps_what_does_not_parse():
    assert decode_hyperparameters({"a": "3", "b": "x", "c": "[1]", "d": '"s"', "e": "false", "f": 2}) == \
        {"a": 3, "b": "x", "c": [1], "d": "s", "e": False, "f": 2}


def test_attributes():
    env = make()
    assert env.hyperparameters == {"epochs": 3, "learning-rate": 0.01, "optimizer": "adam", "flag": True,
                                   "sizes": [1, 2], "name": "quoted"}
    assert env.framework_params["sagemaker_use_mpi"] is True
    assert env.additional_framework_params == {"sagemaker_use_mpi": True}
    assert env.hosts == ["algo-1", "algo-2"]
    assert (env.current_host, env.master_host, env.is_master) == ("algo-2", "algo-1", False)
    assert env.channel_dirs == {"test": Path("/ml/input/data/test"), "train": Path("/ml/input/data/train")}
    assert env.model_dir == Path("/ml/model") and env.output_data_dir == Path("/ml/output/data")
    assert (env.module_name, env.user_entry_point) == ("train", "train.py")
    assert env.module_dir == "s3://bucket/job/source/sourcedir.tar.gz"
    assert (env.log_level, env.job_name, env.region) == (logging.INFO, "job-1", "us-west-2")
    assert env.network_interface_name == "eth1"
    assert env.use_mpi and env.process_slots_per_host == 1 and env.num_processes == 2


def test_sm_export_names_and_encoding():
    exported = make().to_env_vars()
    expected = {
        "SM_MODEL_DIR": "/ml/model",
        "SM_CHANNELS": '["test","train"]',
        "SM_CHANNEL_TRAIN": "/ml/input/data/train",
        "SM_CHANNEL_TEST": "/ml/input/data/test",
        "SM_HPS": '{"epochs":3,"flag":true,"learning-rate":0.01,"name":"quoted","optimizer":"adam","sizes":[1,2]}',
        "SM_HP_EPOCHS": "3",
        "SM_HP_LEARNING-RATE": "0.01",
        "SM_HP_OPTIMIZER": "adam",
        "SM_HP_FLAG": "true",
        "SM_HP_SIZES": "[1,2]",
        "SM_HP_NAME": "quoted",
        "SM_USER_ARGS": '["--epochs","3","--flag","True","--learning-rate","0.01","--name","quoted",'
                        '"--optimizer","adam","--sizes","[1, 2]"]',
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
        "SM_CURRENT_INSTANCE_TYPE": "local",
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": "[]",
        "SM_INSTANCE_GROUPS": "[]",
        "SM_INSTANCE_GROUPS_DICT": "{}",
        "SM_DISTRIBUTION_INSTANCE_GROUPS": '["homogeneousCluster"]',
        "SM_IS_HETERO": "false",
        "SM_MASTER_ADDR": "algo-1",
        "SM_IS_MASTER": "false",
        "SM_NETWORK_INTERFACE_NAME": "eth1",
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": "4",
        "SM_LOG_LEVEL": "20",
        "SM_INPUT_DIR": "/ml/input",
        "SM_INPUT_CONFIG_DIR": "/ml/input/config",
        "SM_OUTPUT_DIR": "/ml/output",
        "SM_OUTPUT_DATA_DIR": "/ml/output/data",
        "SM_OUTPUT_INTERMEDIATE_DIR": "/ml/output/intermediate",
        "SM_MODULE_NAME": "train",
        "SM_MODULE_DIR": "s3://bucket/job/source/sourcedir.tar.gz",
        "SM_USER_ENTRY_POINT": "train.py",
        "SM_FRAMEWORK_MODULE": "",
        "SM_FRAMEWORK_PARAMS": '{"sagemaker_use_mpi":true}',
        "SM_RESOURCE_CONFIG": '{"current_host":"algo-2","hosts":["algo-2","algo-1"],"network_interface_name":"eth1"}',
        "SM_INPUT_DATA_CONFIG": '{"test":{"TrainingInputMode":"File"},"train":{"TrainingInputMode":"File"}}',
    }
    training_env = json.loads(exported.pop("SM_TRAINING_ENV"))
    assert exported == expected
    assert training_env["channel_input_dirs"] == {"test": "/ml/input/data/test", "train": "/ml/input/data/train"}
    assert training_env["hyperparameters"]["sizes"] == [1, 2]
    assert training_env["module_name"] == "train" and training_env["master_hostname"] == "algo-1"


def test_instance_groups_as_sagemaker_writes_them():
    groups = [{"instance_group_name": "train", "instance_type": "ml.c5.xlarge", "hosts": ["algo-1", "algo-2"]},
              {"instance_group_name": "data", "instance_type": "ml.m5.large", "hosts": ["algo-3"]}]
    env = Environment.from_dict({
        "hyperparameters": {"sagemaker_distribution_instance_groups": '["train"]'},
        "resource_config": {"current_host": "algo-3", "hosts": ["algo-1", "algo-2", "algo-3"],
                            "current_group_name": "data", "instance_groups": groups},
    })
    exported = env.to_env_vars()
    assert exported["SM_CURRENT_INSTANCE_GROUP"] == "data" and exported["SM_IS_HETERO"] == "true"
    assert json.loads(exported["SM_CURRENT_INSTANCE_GROUP_HOSTS"]) == ["algo-3"]
    assert json.loads(exported["SM_INSTANCE_GROUPS"]) == ["train", "data"]
    assert json.loads(exported["SM_INSTANCE_GROUPS_DICT"])["train"]["hosts"] == ["algo-1", "algo-2"]
    assert json.loads(exported["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == ["train"]
    assert json.loads(exported["SM_TRAINING_ENV"])["current_instance_group"] == "data"


def test_env_values():
    assert env_value("a b") == "a b" and env_value(None) == "" and env_value(True) == "true"
    assert env_value({"b": [1, 2.5], "a": None}) == '{"a":null,"b":[1,2.5]}'


def test_cmd_args_are_one_item_each_and_sorted():
    args = to_cmd_args({"x": 1, "b": False, "list": ["a b", "c"], "d": {"k": 1, "j": "v"}, "s": "it's \"q\"",
                        "none": None})
    assert args == ["-b", "False", "-d", "j=v,k=1", "--list", '["a b", "c"]', "--none", "", "-s", "it's \"q\"",
                    "-x", "1"]


def test_framework_defaults_never_override_the_user():
    chainer = frameworks.load("chainer")
    single = make(resource_config={"current_host": "algo-1", "hosts": ["algo-1"]},
                  hyperparameters={"sagemaker_program": "train.py"})
    assert frameworks.training_defaults(chainer, single) == {}
    multi = make(hyperparameters={"sagemaker_program": "train.py"})
    assert multi.with_framework_defaults(frameworks.training_defaults(chainer, multi)).use_mpi
    told_no = make(hyperparameters={"sagemaker_use_mpi": "false"})
    assert not told_no.with_framework_defaults(frameworks.training_defaults(chainer, told_no)).use_mpi
    assert frameworks.load("") is None and frameworks.load("no_such_framework") is None
    assert frameworks.load("../etc") is None


def test_from_files_reads_the_tree(tmp_path, monkeypatch):
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({"epochs": "2", "sagemaker_program": '"t.py"'}))
    (config / "resourceconfig.json").write_text('{"current_host": "algo-1", "hosts": ["algo-1"]}')
    (config / "inputdataconfig.json").write_text('{"train": {}}')
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    env = Environment.from_files()
    assert env.base_dir == tmp_path and env.hyperparameters == {"epochs": 2} and env.program == "t.py"
    assert env.channel_dirs == {"train": tmp_path / "input" / "data" / "train"}
    with pytest.raises(ConfigurationError, match=r"channel\(s\) \['train'\].*inputdataconfig.json"):
        env.check_channels()
    (config / "inputdataconfig.json").write_text('{"train": {"TrainingInputMode": "Pipe"}}')
    Environment.from_files().check_channels()  # Pipe-mode channels are FIFOs, not folders


def test_program_from_environment_variable(tmp_path):
    env = Environment.from_files(tmp_path, environ={"SAGEMAKER_PROGRAM": "run.sh"})
    assert env.program == "run.sh" and env.hosts == ["algo-1"] and env.module_dir == str(tmp_path / "code")


@pytest.mark.parametrize("name, text, message", [
    ("hyperparameters.json", "{epochs: 1}", r"hyperparameters.json is not valid JSON"),
    ("hyperparameters.json", "[1]", r"must hold a JSON object"),
    ("resourceconfig.json", '{"current_host": "algo-3", "hosts": ["algo-1"]}', r"current_host.*algo-3"),
    ("resourceconfig.json", '{"current_host": "a", "hosts": []}', r"non-empty list"),
])
def test_bad_config_files_are_named(tmp_path, name, text, message):
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / name).write_text(text)
    with pytest.raises(ConfigurationError, match=message) as caught:
        Environment.from_files(tmp_path, environ={})
    assert str(tmp_path) in str(caught.value)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigurationError, match="unknown keys"):
        Environment.from_dict({"hyperparams": {}})
