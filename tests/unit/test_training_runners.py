"""mpirun command lines, rank labels, entry point commands and failure reports (no processes run)."""
import json
import os

import pytest

from framework_sdk.container import runners, training
from framework_sdk.container.environment import ConfigurationError, Environment
from framework_sdk.container.modules import is_project


def env_for(hosts=("algo-1", "algo-2"), current="algo-1", **hyperparameters):
    return Environment.from_dict({
        "hyperparameters": {"sagemaker_program": "t.py", "sagemaker_use_mpi": "true", **hyperparameters},
        "resource_config": {"current_host": current, "hosts": list(hosts), "network_interface_name": "eth0"},
        "num_gpus": 0,
    })


def test_mpirun_across_hosts():
    env = env_for(sagemaker_process_slots_per_host="2",
                  sagemaker_additional_mpi_options='"-x NCCL_DEBUG=INFO --bind-to none"')
    argv = runners.mpirun_command(env, ["python", "t.py", "--a b"], ["SM_HOSTS", "PATH"], python="py")
    assert argv[:3] == ["mpirun", "-np", "4"]
    assert argv[argv.index("--host") + 1] == "algo-1:2,algo-2:2"
    assert argv[argv.index("btl_tcp_if_include") + 1] == "eth0"
    assert "--oversubscribe" not in argv
    middle = argv[argv.index("-x"):argv.index("py")]
    assert middle == ["-x", "NCCL_SOCKET_IFNAME=eth0", "--mca", "btl_vader_single_copy_mechanism", "none",
                      "-x", "PATH", "-x", "SM_HOSTS", "-x", "NCCL_DEBUG=INFO", "--bind-to", "none"]
    assert argv[argv.index("py"):] == ["py", "-m", "framework_sdk.container.runners", "tag-rank", "--",
                                       "python", "t.py", "--a b"]


def test_mpirun_local_hosts_has_no_ssh():
    env = env_for(sagemaker_num_processes="3")
    argv = runners.mpirun_command(env, ["t"], [], local=True, python="py")
    assert argv[:3] == ["mpirun", "-np", "3"] and "--oversubscribe" in argv and "--host" not in argv
    assert "plm_rsh_args" not in argv
    assert argv[-6:] == ["--hosts", "algo-1,algo-2", "--slots", "1", "--", "t"]


def test_local_ranks_of_other_hosts_are_told_the_master_tree():
    argv = runners.mpirun_command(env_for(), ["t"], [], local=True, python="py")
    assert argv[argv.index("tag-rank") + 1:argv.index("--hosts")] == ["--base-dir", "/opt/ml"]
    one_host = runners.mpirun_command(env_for(hosts=("algo-1",)), ["t"], [], local=True, python="py")
    assert "--base-dir" not in one_host


def test_a_rank_writes_into_the_tree_of_its_host():
    master = Environment.from_dict({
        "hyperparameters": {"sagemaker_program": "t.py", "sagemaker_use_mpi": "true"},
        "resource_config": {"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]},
        "input_data_config": {"train": {}}, "base_dir": "/jobs/j/algo-1"})
    environ = {**master.to_env_vars(), "SAGEMAKER_BASE_DIR": "/jobs/j/algo-1", "PYTHONPATH": "/jobs/j/algo-1/x",
               "SM_HP_PATH": "/jobs/j/algo-10/kept"}
    env = runners.host_tree_environment(environ, "/jobs/j/algo-1", "/jobs/j/algo-2")
    assert env["SM_MODEL_DIR"] == "/jobs/j/algo-2/model"
    assert env["SM_OUTPUT_DATA_DIR"] == "/jobs/j/algo-2/output/data"
    assert env["SM_CHANNEL_TRAIN"] == "/jobs/j/algo-2/input/data/train"
    assert env["SAGEMAKER_BASE_DIR"] == "/jobs/j/algo-2"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["model_dir"] == "/jobs/j/algo-2/model"
    assert training_env["current_host"] == "algo-1"  # the master's values stay, as mpirun -x gives them
    assert env["SM_CURRENT_HOST"] == "algo-1" and env["SM_HOSTS"] == environ["SM_HOSTS"]
    assert env["PYTHONPATH"] == "/jobs/j/algo-1/x" and env["SM_HP_PATH"] == "/jobs/j/algo-10/kept"
    assert runners.host_tree_environment(environ, "/jobs/j/algo-1", "/jobs/j/algo-1") == environ


def test_exported_names():
    env = {"SM_A": "", "PATH": "", "HOME": "", "PYTHONPATH": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_REGION": "",
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "S3_ENDPOINT_URL": ""}
    assert runners.exported_names(env) == ["SM_A", "PATH", "PYTHONPATH", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "S3_ENDPOINT_URL"]


def test_rank_labels():
    assert runners.rank_label(["algo-1", "algo-2"], 2, {"OMPI_COMM_WORLD_RANK": "3"}) == "algo-2 rank 3"
    assert runners.rank_label(None, None, {"OMPI_COMM_WORLD_RANK": "0"}).endswith(" rank 0")


def test_entry_point_commands(tmp_path):
    (tmp_path / "train.py").write_text("")
    (tmp_path / "run.sh").write_text("")
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    assert training.entry_point_command(tmp_path, "train.py", ["--x", "1"], python="py") == \
        ["py", str(tmp_path / "train.py"), "--x", "1"]
    assert training.entry_point_command(tmp_path, "run.sh", []) == ["/bin/sh", str(tmp_path / "run.sh")]
    assert training.entry_point_command(tmp_path, "tool", ["a"]) == [str(tmp_path / "tool"), "a"]
    assert os.access(tmp_path / "tool", os.X_OK)
    with pytest.raises(ConfigurationError, match=r"'missing.py' \(sagemaker_program\) does not exist.*run.sh"):
        training.entry_point_command(tmp_path, "missing.py", [])
    with pytest.raises(ConfigurationError, match="sagemaker_program"):
        training.entry_point_command(tmp_path, "", [])


def test_failure_reports():
    env = env_for(hosts=("algo-1",), sagemaker_use_mpi="false")
    oom = training.describe_failure(env, runners.ProcessResult(137, ["Killed"]))
    assert "out of memory" in oom and oom.endswith("Killed")
    report = training.describe_failure(env, runners.ProcessResult(1, ["Traceback", "KeyError: 'SM_CHANNEL_TEST'"]))
    assert report.startswith("AlgorithmError: the training script 't.py' failed with exit code 1.")
    assert "no such channel" in report
    missing = training.describe_failure(env, runners.ProcessResult(1, ["ModuleNotFoundError: No module named 'x'"]))
    assert "requirements.txt" in missing
    assert "MPI" in training.describe_failure(env_for(), runners.ProcessResult(3, []))


def test_is_project(tmp_path):
    assert not is_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    assert not is_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert is_project(tmp_path)
