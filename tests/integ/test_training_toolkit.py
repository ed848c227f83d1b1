"""The real ``train`` command against temporary /opt/ml trees (real processes, pip, Open MPI, an S3 server).

User code is installed into a throw-away virtual environment layered over the test environment,
so the tests never change ``.venv``.
"""
import io
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import venv
from pathlib import Path

import pytest

from framework_sdk.container import runners

TIMEOUT = 120


@pytest.fixture(scope="session")
def train_python(tmp_path_factory):
    """A Python whose pip installs land in a fresh venv, while it sees everything in the test environment."""
    root = tmp_path_factory.mktemp("train-venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    parent_site = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "zz_parent_env.pth").write_text(f"import site; site.addsitedir({parent_site!r})\n")
    return str(python)


def make_tree(base, hyperparameters, hosts=("algo-1",), current="algo-1", channels=None):
    """Write an /opt/ml tree under ``base``: config files and channel folders with their files."""
    config = base / "input" / "config"
    config.mkdir(parents=True)
    encoded = {name: json.dumps(value) for name, value in hyperparameters.items()}  # as framework estimators do
    (config / "hyperparameters.json").write_text(json.dumps(encoded))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": current, "hosts": list(hosts), "network_interface_name": "eth0"}))
    channels = channels or {}
    (config / "inputdataconfig.json").write_text(json.dumps(
        {name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"} for name in channels}))
    for name, files in channels.items():
        folder = base / "input" / "data" / name
        folder.mkdir(parents=True)
        for relative, content in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(content if isinstance(content, bytes) else content.encode())
    return base


def write_code(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(textwrap.dedent(content))
    return folder


def train(python, base, env=None, timeout=TIMEOUT):
    full_env = dict(os.environ, SAGEMAKER_BASE_DIR=str(base), **(env or {}))
    return subprocess.run([python, "-m", "framework_sdk.container", "train"], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def failure(base):
    return (base / "output" / "failure").read_text()


SAGEMAKER_SCRIPT = """
    import argparse
    import json
    import os

    import numpy as np
    import tabulate  # from requirements.txt


    def str2bool(text):
        return str(text).lower() in ("true", "1")


    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=1)
        parser.add_argument("--learning-rate", type=float, default=0.1)
        parser.add_argument("--normalize", type=str2bool, default=False)
        parser.add_argument("--layers", type=json.loads, default=[])
        parser.add_argument("--note", type=str, default="")
        parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
        parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
        parser.add_argument("--test", type=str, default=os.environ["SM_CHANNEL_TEST"])
        parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
        args = parser.parse_args()

        train = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
        test = np.loadtxt(os.path.join(args.test, "test.csv"), delimiter=",")
        x, y = train[:, :-1], train[:, -1]
        weights = np.zeros(x.shape[1])
        for epoch in range(args.epochs):
            gradient = x.T @ (x @ weights - y) / len(y)
            weights -= args.learning_rate * gradient
            print(f"epoch {epoch} loss {float(np.mean((x @ weights - y) ** 2)):.6f}", flush=True)
        test_loss = float(np.mean((test[:, :-1] @ weights - test[:, -1]) ** 2))
        np.save(os.path.join(args.model_dir, "weights.npy"), weights)
        with open(os.path.join(args.output_data_dir, "metrics.json"), "w") as f:
            json.dump({"test_loss": test_loss, "epochs": args.epochs, "normalize": args.normalize,
                       "layers": args.layers, "note": args.note,
                       "table": tabulate.tabulate([[1, 2]])}, f)
"""


def regression_data(rows, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = x @ np.array([1.5, -2.0, 0.5])
    return "\n".join(",".join(f"{v:.6f}" for v in row) for row in np.column_stack([x, y]))


def test_sagemaker_style_script_trains_and_saves_the_model(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"train.py": SAGEMAKER_SCRIPT, "requirements.txt": "tabulate\n"})
    base = make_tree(tmp_path / "ml", {
        "epochs": 200, "learning-rate": 0.1, "normalize": True, "layers": [8, 4], "note": "it's a \"test\" $HOME",
        "sagemaker_program": "train.py", "sagemaker_submit_directory": str(code),
    }, channels={"train": {"train.csv": regression_data(64, 0)}, "test": {"test.csv": regression_data(16, 1)}})

    done = train(train_python, base)

    assert done.returncode == 0, done.stderr
    assert (base / "output" / "success").exists() and not (base / "output" / "failure").exists()
    assert "Successfully installed tabulate" in done.stdout + done.stderr
    assert "epoch 199 loss" in done.stdout
    import numpy as np

    assert np.allclose(np.load(base / "model" / "weights.npy"), [1.5, -2.0, 0.5], atol=1e-3)
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    assert metrics["test_loss"] < 1e-5
    assert (metrics["epochs"], metrics["normalize"], metrics["layers"]) == (200, True, [8, 4])
    assert metrics["note"] == "it's a \"test\" $HOME", "hyperparameters reach argv without shell quoting"


def test_a_raising_script_leaves_its_traceback(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"train.py": """
        import sys
        print("about to fail", file=sys.stderr)
        def load():
            raise ValueError("the data is bad")
        load()
    """})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)})

    done = train(train_python, base)

    assert done.returncode == 1
    report = failure(base)
    assert report.startswith("AlgorithmError: the training script 'train.py' failed with exit code 1.")
    assert "Traceback (most recent call last)" in report and "ValueError: the data is bad" in report
    assert 'in load' in report and "about to fail" in report
    assert not (base / "output" / "success").exists()


def test_the_script_exit_code_is_kept(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"run.sh": "echo shell here; exit 7\n"})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "run.sh", "sagemaker_submit_directory": str(code)})
    done = train(train_python, base)
    assert done.returncode == 7 and "shell here" in done.stdout
    assert "failed with exit code 7" in failure(base)


def test_a_missing_requirement_fails_with_pips_error(tmp_path, train_python):
    code = write_code(tmp_path / "code", {
        "train.py": "print('never runs')\n",
        "requirements.txt": "framework-sdk-no-such-package-7f3a9c1e==1.0\n",
    })
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)})

    done = train(train_python, base)

    assert done.returncode != 0 and "never runs" not in done.stdout
    report = failure(base)
    assert report.startswith("UserCodeInstallError: pip could not install")
    assert "requirements.txt" in report
    assert "ERROR: No matching distribution found for framework-sdk-no-such-package-7f3a9c1e" in report


def test_cached_requirements_are_not_installed_again(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"train.py": "print('ran')\n",
                                          "requirements.txt": "framework-sdk-no-such-package-7f3a9c1e\n"})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)})
    done = train(train_python, base, env={"FRAMEWORK_SDK_REQUIREMENTS_INSTALLED": "1"})
    assert done.returncode == 0 and "ran" in done.stdout
    assert "requirements.txt already installed" in done.stderr


MPI_SCRIPT = """
    import os
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    total = world.allreduce(world.Get_rank() + 1, op=MPI.SUM)
    print(f"rank {world.Get_rank()} of {world.Get_size()} sum {total} hp {os.environ['SM_HP_EPOCHS']}")
    if world.Get_rank() == 0:
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "sum.txt"), "w") as f:
            f.write(f"{total} {world.Get_size()} {MPI.Get_library_version().split(',')[0]}")
"""


def run_hosts(python, bases, env):
    """Start one ``train`` per host tree at once; return their CompletedProcess-like results in order."""
    processes = [subprocess.Popen([python, "-m", "framework_sdk.container", "train"],
                                  env=dict(os.environ, SAGEMAKER_BASE_DIR=str(base), **env), start_new_session=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for base in bases]
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    finally:
        for process in processes:  # on a timeout, leave no ranks behind
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return results


def mpi_hosts(tmp_path, program, code_files, hyperparameters=None):
    code = write_code(tmp_path / "code", code_files)
    hosts = ("algo-1", "algo-2")
    hps = {"epochs": 2, "sagemaker_program": program, "sagemaker_submit_directory": str(code),
           "sagemaker_process_slots_per_host": 2, **(hyperparameters or {})}
    return [make_tree(tmp_path / "job" / host, hps, hosts=hosts, current=host) for host in hosts]


def test_mpi_allreduce_across_two_hosts_worth_of_ranks(tmp_path, train_python):
    bases = mpi_hosts(tmp_path, "mpi_sum.py", {"mpi_sum.py": MPI_SCRIPT})

    master, worker = run_hosts(train_python, bases, {"FRAMEWORK_SDK_LOCAL_HOSTS": "1",
                                                     "FRAMEWORK_SDK_FRAMEWORK": "chainer"})

    assert master.returncode == 0, master.stderr
    assert worker.returncode == 0, worker.stderr
    assert (bases[0] / "model" / "sum.txt").read_text() == "10 4 Open MPI v4.1.4" or \
        (bases[0] / "model" / "sum.txt").read_text().startswith("10 4 Open MPI")
    for rank, host in enumerate(["algo-1", "algo-1", "algo-2", "algo-2"]):
        assert f"[{host} rank {rank}] rank {rank} of 4 sum 10 hp 2" in master.stdout
    assert (bases[1] / "output" / "success").exists()


def test_a_failing_mpi_rank_fails_master_and_worker(tmp_path, train_python):
    bases = mpi_hosts(tmp_path, "bad.py", {"bad.py": """
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 3:
            raise RuntimeError("rank three broke")
        MPI.COMM_WORLD.Barrier()
    """}, {"sagemaker_use_mpi": True})

    master, worker = run_hosts(train_python, bases, {"FRAMEWORK_SDK_LOCAL_HOSTS": "1"})

    assert master.returncode != 0 and worker.returncode == master.returncode
    report = failure(bases[0])
    assert "the MPI job (mpirun) failed" in report and "[algo-2 rank 3]" in report
    assert "RuntimeError: rank three broke" in report
    assert "master host algo-1" in failure(bases[1])


HOSTILE = {
    "dotdot": ("../escaped.py", None),
    "absolute": ("/tmp/framework-sdk-escaped.py", None),
    "symlink": ("evil_link", "/etc"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_sourcedir_is_refused(tmp_path, train_python, kind):
    name, link = HOSTILE[kind]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        script = b"print('should never run')\n"
        info = tarfile.TarInfo("train.py")
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    archive = tmp_path / "sourcedir.tar.gz"
    archive.write_bytes(buffer.getvalue())
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py",
                                       "sagemaker_submit_directory": f"file://{archive}"})

    done = train(train_python, base)

    assert done.returncode != 0 and "should never run" not in done.stdout
    report = failure(base)
    assert report.startswith("UnsafeArchiveError: refusing to extract archive member") and name in report
    assert not (base / "code" / "train.py").exists()
    assert not (tmp_path / "ml" / "escaped.py").exists() and not Path("/tmp/framework-sdk-escaped.py").exists()


def test_code_channel_package_module_and_project_are_importable(tmp_path, train_python):
    archive_buffer = io.BytesIO()
    with tarfile.open(fileobj=archive_buffer, mode="w:gz") as tar:
        payload = b"ARCHIVED = 'from the archive'\n"
        info = tarfile.TarInfo("archived_module.py")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    channel = {
        "mypackage/__init__.py": "from .core import VALUE\n",
        "mypackage/core.py": "VALUE = 'package'\n",
        "loose_module.py": "LOOSE = 'loose'\n",
        "nested/deeper/helper.py": "HELPER = 'walked'\n",
        "project/setup.py": "from setuptools import setup\nsetup(name='fsdk-channel-project', version='1.0',"
                            " py_modules=['channel_project'])\n",
        "project/channel_project.py": "PROJECT = 'installed'\n",
        "extra.tar.gz": archive_buffer.getvalue(),
    }
    code = write_code(tmp_path / "code", {"train.py": """
        import os
        import archived_module, channel_project, helper, loose_module, mypackage
        print("IMPORTED", mypackage.VALUE, loose_module.LOOSE, channel_project.PROJECT, helper.HELPER,
              archived_module.ARCHIVED)
        print("INSTALLED AT", channel_project.__file__)
    """})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)},
                     channels={"code": channel})

    done = train(train_python, base)

    assert done.returncode == 0, done.stderr
    assert "IMPORTED package loose installed walked from the archive" in done.stdout
    assert str(Path(train_python).parent.parent) in done.stdout.split("INSTALLED AT")[1]
    assert (base / "model" / "code" / "mypackage" / "core.py").exists()
    assert (base / "model" / "code" / "project" / "setup.py").exists()


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_user_code_from_s3(tmp_path, train_python, s3_server):
    import boto3

    env = {"S3_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="code-bucket")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {"entry.py": "import lib\nprint('from s3', lib.X)\n", "lib.py": "X = 42\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    s3.put_object(Bucket="code-bucket", Key="job/source/sourcedir.tar.gz", Body=buffer.getvalue())
    uri = "s3://code-bucket/job/source/sourcedir.tar.gz"
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "entry.py", "sagemaker_submit_directory": uri})

    done = train(train_python, base, env=env)

    assert done.returncode == 0, done.stderr
    assert "from s3 42" in done.stdout and (base / "code" / "entry.py").exists()
    missing = make_tree(tmp_path / "ml2", {"sagemaker_program": "entry.py",
                                           "sagemaker_submit_directory": uri.replace("job", "nojob")})
    assert train(train_python, missing, env=env).returncode == 1
    assert "does not exist (S3 said" in failure(missing)


def test_module_entry_point_and_environment(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"trainer/__init__.py": "", "trainer/__main__.py": """
        import json, os, sys
        print("ARGV", json.dumps(sys.argv[1:]))
        print("CWD", os.getcwd())
        print("HOSTS", os.environ["SM_HOSTS"], os.environ["SM_CURRENT_HOST"], os.environ["SM_USER_ARGS"])
    """})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "trainer", "sagemaker_submit_directory": str(code),
                                       "debug": False, "x": 1})
    done = train(train_python, base)
    assert done.returncode == 0, done.stderr
    assert 'ARGV ["--debug", "False", "-x", "1"]' in done.stdout
    assert f"CWD {code}" in done.stdout
    assert 'HOSTS ["algo-1"] algo-1 ["--debug","False","-x","1"]' in done.stdout


def test_an_executable_that_cannot_start_is_the_users_error(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"tool": "echo no interpreter line\n"})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "tool", "sagemaker_submit_directory": str(code)})
    done = train(train_python, base)
    assert done.returncode == 1
    assert failure(base).startswith("AlgorithmError: cannot start the entry point 'tool': Exec format error")


@pytest.mark.parametrize("case, expected", [
    ("missing entry point", "'nope.py' (sagemaker_program) does not exist in the code folder"),
    ("bad hyperparameters", "hyperparameters.json is not valid JSON"),
    ("missing channel", "channel(s) ['train'] are declared in"),
])
def test_errors_name_the_file_and_the_fix(tmp_path, train_python, case, expected):
    code = write_code(tmp_path / "code", {"train.py": "print('x')\n"})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "nope.py" if case == "missing entry point" else "train.py",
                                       "sagemaker_submit_directory": str(code)})
    if case == "bad hyperparameters":
        (base / "input" / "config" / "hyperparameters.json").write_text("{not json")
    if case == "missing channel":
        (base / "input" / "config" / "inputdataconfig.json").write_text('{"train": {}}')
    done = train(train_python, base)
    assert done.returncode == 1
    assert expected in failure(base)


def test_wait_for_sshd_is_bounded_and_names_the_silent_host():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]  # the kernel completes connections on a listening socket
    runners.wait_for_sshd(["127.0.0.1"], port=port, timeout=5)
    listener.close()
    with pytest.raises(runners.MPIError, match=r"sshd on worker host\(s\) 127\.0\.0\.1 did not accept"):
        runners.wait_for_sshd(["127.0.0.1"], port=port, timeout=0.5)


def test_output_is_streamed_line_by_line(tmp_path):
    """Each line reaches our stdout while the child still runs (the child waits for us to see it)."""
    marker = tmp_path / "seen"
    script = textwrap.dedent(f"""
        import os, sys, time
        print("first line", flush=True)
        deadline = time.monotonic() + 20
        while not os.path.exists({str(marker)!r}) and time.monotonic() < deadline:
            time.sleep(0.01)
        print("second line", "seen" if os.path.exists({str(marker)!r}) else "timeout")
    """)
    reader_code = textwrap.dedent(f"""
        import sys
        from framework_sdk.container.runners import run_process
        sys.exit(run_process([sys.executable, "-c", {script!r}]).returncode)
    """)
    process = subprocess.Popen([sys.executable, "-c", reader_code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "first line\n"
    marker.touch()
    assert process.stdout.readline() == "second line seen\n"
    assert process.wait(timeout=30) == 0


def test_sigterm_reaches_the_script(tmp_path, train_python):
    code = write_code(tmp_path / "code", {"train.py": """
        import signal, sys, threading
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        print("ready", flush=True)
        stopped.wait(30)
        print("stopping cleanly" if stopped.is_set() else "no signal", flush=True)
        sys.exit(143 if stopped.is_set() else 0)
    """})
    base = make_tree(tmp_path / "ml", {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)})
    process = subprocess.Popen([train_python, "-m", "framework_sdk.container", "train"], text=True,
                               env=dict(os.environ, SAGEMAKER_BASE_DIR=str(base)),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        assert process.stdout.readline() == "stopping cleanly\n"
        assert process.wait(timeout=30) == 143
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "killed by signal 15" in failure(base)
