"""Processing jobs on the process backend (no Docker): scripts run as child processes in the framework's
cached environment (``framework-sdk-python:3.11-cpu-py3`` stands for it) or an image folder's.

Every test checks that no process or temporary tree of local mode is left behind.
"""
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.processing import FrameworkProcessor, ProcessingInput, ProcessingJob, ProcessingOutput, ScriptProcessor

IMAGE = "framework-sdk-python:3.11-cpu-py3"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A preprocessing script as SageMaker's examples write them: paths come from its arguments (defaults: /opt/ml/...).
PREPROCESS = '''
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--raw", default="/opt/ml/processing/input/raw")
parser.add_argument("--scale", default="/opt/ml/processing/input/scale/scale.txt")
parser.add_argument("--output", default="/opt/ml/processing/output")
args = parser.parse_args()
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
resource = json.load(open(os.path.join(base, "config", "resourceconfig.json")))
job = json.load(open(os.path.join(base, "config", "processingjobconfig.json")))
host = resource["current_host"]
scale = float(open(args.scale).read())
names = sorted(os.listdir(args.raw))
print("REPORT " + json.dumps({"host": host, "hosts": resource["hosts"], "files": names, "argv": sys.argv[1:],
                              "data_env": os.environ["DATA_DIR"], "python": sys.executable,
                              "local_paths": [i["S3Input"]["LocalPath"] for i in job["ProcessingInputs"]],
                              "arn": job["ProcessingJobArn"]}), flush=True)
os.makedirs(os.path.join(args.output, "scaled"), exist_ok=True)
for name in names:
    rows = [float(line) * scale for line in open(os.path.join(args.raw, name)).read().split()]
    with open(os.path.join(args.output, "scaled", name), "w") as out:
        out.write("\\n".join(str(row) for row in rows) + "\\n")
'''


@pytest.fixture(scope="module")
def framework_python():
    """Build (or reuse) the python framework environment once, outside any timed step."""
    from framework_sdk import venvs

    return venvs.framework_python("python", "3.11")


@pytest.fixture
def work(tmp_path, monkeypatch, framework_python):
    raw = tmp_path / "raw"
    raw.mkdir()
    for part in range(5):
        (raw / f"part-{part}.csv").write_text("".join(f"{part * 10 + row}\n" for row in range(3)))
    (tmp_path / "scale.txt").write_text("0.5")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "preprocess.py").write_text(PREPROCESS)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    import tempfile

    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


def processes_under(folder):
    """Pids of processes whose SAGEMAKER_BASE_DIR lies in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"SAGEMAKER_BASE_DIR={folder}".encode() in environ:
            found.append(entry.name)
    return found


def leftovers(work):
    return [p.name for p in (work / "tmp").iterdir() if p.name.startswith("framework-sdk-local-")] + \
        processes_under(work / "tmp")


@pytest.fixture
def session(work):
    session = LocalSession(backend="process")
    yield session
    session.close()
    assert leftovers(work) == []


def script_processor(session, count=1, **kwargs):
    return ScriptProcessor(image_uri=IMAGE, command=["python3"], instance_type="local", instance_count=count,
                           sagemaker_session=session, **kwargs)


def reports(text):
    return {report["host"]: report for report in
            (json.loads(line.split("REPORT ", 1)[1]) for line in text.splitlines() if "REPORT " in line)}


def test_two_hosts_share_a_sharded_input_and_write_one_output(session, work, capsys, framework_python):
    processor = script_processor(session, count=2, env={"DATA_DIR": "/opt/ml/processing/input/raw"})
    processor.run(str(work / "code" / "preprocess.py"),
                  inputs=[ProcessingInput(str(work / "raw"), "/opt/ml/processing/input/raw", "raw",
                                          s3_data_distribution_type="ShardedByS3Key"),
                          ProcessingInput(f"file://{work}/scale.txt", "/opt/ml/processing/input/scale")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", f"file://{work}/out", "prepared")],
                  arguments=["--raw", "/opt/ml/processing/input/raw", "--output=/opt/ml/processing/output"])
    seen = reports(capsys.readouterr().out)
    assert sorted(seen) == ["algo-1", "algo-2"]
    assert seen["algo-1"]["files"] == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert seen["algo-2"]["files"] == ["part-1.csv", "part-3.csv"]
    assert seen["algo-2"]["hosts"] == ["algo-1", "algo-2"]
    job = processor.latest_job
    assert seen["algo-1"]["arn"].endswith(f"processing-job/{job.name}")
    for host, report in seen.items():  # /opt/ml paths moved to the host's own tree, said where
        tree = report["argv"][1][: -len("/processing/input/raw")]
        assert tree.endswith(f"/{host}") and report["argv"][2] == f"--output={tree}/processing/output"
        assert report["data_env"] == f"{tree}/processing/input/raw"
        assert report["local_paths"] == [f"{tree}/processing/input/raw", f"{tree}/processing/input/scale",
                                         f"{tree}/processing/input/code"]
        assert Path(report["python"]).parent == Path(framework_python).parent  # python3: the framework's
    assert sorted(os.listdir(work / "out" / "scaled")) == [f"part-{n}.csv" for n in range(5)]
    assert (work / "out" / "scaled" / "part-3.csv").read_text().split() == ["15.0", "15.5", "16.0"]
    description = job.describe()
    assert description["ProcessingJobStatus"] == "Completed"
    assert description["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == f"file://{work}/out"
    assert sorted(os.listdir(work / "raw")) == [f"part-{n}.csv" for n in range(5)]  # the source is untouched


FAILING = '''
import os
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
print("reading rows", flush=True)
with open(os.path.join(base, "output", "message"), "w") as message:
    message.write("bad row 3 in part-1.csv")
def parse(row):
    raise ValueError(f"cannot parse {row!r}")
parse("x,y")
'''


def test_a_failing_script_fails_the_job_with_exit_code_traceback_and_message(session, work):
    (work / "code" / "failing.py").write_text(FAILING)
    processor = script_processor(session)
    with pytest.raises(UnexpectedStatusException) as failure:
        processor.run(str(work / "code" / "failing.py"), logs=False)
    reason = str(failure.value)
    assert "host algo-1 exited with code 1" in reason
    assert "output/message of algo-1:\nbad row 3 in part-1.csv" in reason
    assert "the script's traceback on algo-1:\nTraceback (most recent call last):" in reason
    assert "ValueError: cannot parse 'x,y'" in reason
    assert "last log lines of algo-1 before it:\nreading rows" in reason
    description = processor.latest_job.describe()
    assert description["ProcessingJobStatus"] == "Failed"
    assert description["ExitMessage"] == "bad row 3 in part-1.csv"


LITERAL = '''
import glob, json, os, pathlib, shutil, tarfile
import numpy as np
rows = np.loadtxt("/opt/ml/processing/input/raw/part-1.csv")
names = sorted(os.path.basename(p) for p in glob.glob("/opt/ml/processing/input/raw/*.csv"))
os.makedirs("/opt/ml/processing/output/copy", exist_ok=True)
shutil.copy("/opt/ml/processing/input/raw/part-0.csv", "/opt/ml/processing/output/copy/")
with tarfile.open("/opt/ml/processing/output/raw.tar.gz", "w:gz") as archive:
    archive.add("/opt/ml/processing/input/raw/part-4.csv", "raw/part-4.csv")
pathlib.Path("/opt/ml/processing/output/summary.json").write_text(json.dumps({"sum": rows.sum(), "names": names}))
'''


def test_python_scripts_with_opt_ml_paths_in_their_code_run_unchanged(session, work):
    (work / "code" / "literal.py").write_text(LITERAL)
    script_processor(session).run(str(work / "code" / "literal.py"), logs=False,
                                  inputs=[ProcessingInput(str(work / "raw"), "/opt/ml/processing/input/raw")],
                                  outputs=[ProcessingOutput("/opt/ml/processing/output", f"file://{work}/out")])
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary == {"sum": 33.0, "names": [f"part-{n}.csv" for n in range(5)]}
    assert (work / "out" / "copy" / "part-0.csv").read_text() == (work / "raw" / "part-0.csv").read_text()
    import tarfile

    with tarfile.open(work / "out" / "raw.tar.gz") as archive:
        assert "raw/part-4.csv" in archive.getnames()


def test_other_programs_reading_opt_ml_in_their_code_are_told_what_to_do(session, work):
    from framework_sdk.processing import Processor

    processor = Processor(image_uri=IMAGE, entrypoint=["/bin/sh", "-c", "cat /opt/ml/processing/input/raw/part-0.csv"],
                          instance_type="local", instance_count=1, sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException) as failure:
        processor.run(inputs=[ProcessingInput(str(work / "raw"), "/opt/ml/processing/input/raw")], logs=False)
    reason = str(failure.value)
    assert "exited with code 1" in reason and "No such file or directory" in reason
    assert "SAGEMAKER_BASE_DIR" in reason and "take its paths from its arguments" in reason


CONTINUOUS = '''
import os, sys, time
output, uploaded = sys.argv[1], sys.argv[2]
with open(os.path.join(output, "progress.txt"), "w") as progress:
    progress.write("half done")
deadline = time.monotonic() + 30
while not os.path.exists(uploaded):  # the file reaches its destination while this job still runs
    if time.monotonic() > deadline:
        sys.exit("progress.txt was not uploaded while the job ran")
    time.sleep(0.1)
with open(os.path.join(output, "done.txt"), "w") as done:
    done.write("all done")
'''


def test_continuous_outputs_are_uploaded_while_the_job_runs(session, work):
    (work / "code" / "continuous.py").write_text(CONTINUOUS)
    destination = work / "live"
    script_processor(session).run(
        str(work / "code" / "continuous.py"), logs=False,
        outputs=[ProcessingOutput("/opt/ml/processing/live", f"file://{destination}", s3_upload_mode="Continuous")],
        arguments=["/opt/ml/processing/live", str(destination / "progress.txt")])
    assert (destination / "progress.txt").read_text() == "half done"
    assert (destination / "done.txt").read_text() == "all done"  # and the last changes at the end


def test_a_running_job_is_listed_attached_and_stopped(session, work):
    (work / "code" / "slow.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    processor = script_processor(session, count=2, max_runtime_in_seconds=300)
    processor.run(str(work / "code" / "slow.py"), wait=False)
    name = processor.latest_job.name
    attached = ProcessingJob.from_processing_name(session, name)
    assert [item.input_name for item in attached.inputs] == ["code"]
    listed = session.sagemaker_client.list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]
    assert [(s["ProcessingJobName"], s["ProcessingJobStatus"]) for s in listed] == [(name, "InProgress")]
    run = session.sagemaker_client.processing_jobs[name]
    deadline = time.monotonic() + 60
    while len([line for line in run.logs.lines if line.endswith("| started")]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    attached.stop()
    assert time.monotonic() - started < 15
    description = attached.describe()
    assert description["ProcessingJobStatus"] == "Stopped"
    assert "stopped by stop_processing_job" in description["FailureReason"]


def test_a_job_running_longer_than_its_limit_is_stopped(session, work):
    (work / "code" / "slow.py").write_text("import time\ntime.sleep(120)\n")
    started = time.monotonic()
    processor = script_processor(session, max_runtime_in_seconds=1)
    processor.run(str(work / "code" / "slow.py"), logs=False)  # stopped, as SageMaker stops it: no exception
    assert time.monotonic() - started < 20
    description = processor.latest_job.describe()
    assert description["ProcessingJobStatus"] == "Stopped"
    assert "MaxRuntimeInSeconds=1" in description["FailureReason"]


class PythonScript(Framework):
    """Script mode on the generic python image: the estimator class a FrameworkProcessor takes its image from."""

    _framework_name = "python"


EVALUATE = '''
import json, os, sys
import helpers
print("requirements installed:", os.environ.get("FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"), flush=True)
out = sys.argv[sys.argv.index("--out") + 1]
with open(os.path.join(out, "evaluation.json"), "w") as report:
    json.dump({"accuracy": helpers.ACCURACY, "cwd_has_requirements": os.path.exists("requirements.txt")}, report)
'''


def test_framework_processor_runs_source_dir_with_requirements_from_a_cached_layer(session, work, capsys):
    source = work / "evaluation"
    source.mkdir()
    (source / "evaluate.py").write_text(EVALUATE)
    (source / "requirements.txt").write_text("numpy>=1.21\n")  # already there: the layer installs nothing
    helpers = work / "helpers"
    helpers.mkdir()
    (helpers / "__init__.py").write_text("ACCURACY = 0.93\n")
    processor = FrameworkProcessor(PythonScript, framework_version="3.11", instance_type="local", instance_count=1,
                                   sagemaker_session=session)
    assert processor.image_uri == IMAGE
    processor.run("evaluate.py", source_dir=str(source), dependencies=[str(helpers)],
                  outputs=[ProcessingOutput("/opt/ml/processing/evaluation", f"file://{work}/evaluation-out")],
                  arguments=["--out", "/opt/ml/processing/evaluation"])
    assert "requirements installed: 1" in capsys.readouterr().out
    assert json.loads((work / "evaluation-out" / "evaluation.json").read_text()) == {
        "accuracy": 0.93, "cwd_has_requirements": True}
    assert sorted(os.listdir(source)) == ["evaluate.py", "requirements.txt"]  # nothing written into the sources


def test_s3_inputs_and_outputs_through_a_local_s3_server(s3_server, session, work, capsys):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="raw-data")
    for part in sorted((work / "raw").iterdir()):
        s3.upload_file(str(part), "raw-data", f"raw/{part.name}")
    s3.put_object(Bucket="raw-data", Key="scale/scale.txt", Body=b"2")
    processor = script_processor(session, count=2, env={"DATA_DIR": "unused"})
    processor.run(str(work / "code" / "preprocess.py"),
                  inputs=[ProcessingInput("s3://raw-data/raw", "/opt/ml/processing/input/raw",
                                          s3_data_distribution_type="ShardedByS3Key"),
                          ProcessingInput("s3://raw-data/scale", "/opt/ml/processing/input/scale")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", "s3://raw-data/prepared")],
                  arguments=["--raw", "/opt/ml/processing/input/raw", "--output", "/opt/ml/processing/output"])
    seen = reports(capsys.readouterr().out)
    assert seen["algo-1"]["files"] == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert seen["algo-2"]["files"] == ["part-1.csv", "part-3.csv"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="raw-data", Prefix="prepared/")["Contents"]]
    assert sorted(keys) == [f"prepared/scaled/part-{n}.csv" for n in range(5)]
    body = s3.get_object(Bucket="raw-data", Key="prepared/scaled/part-1.csv")["Body"].read().decode()
    assert body.split() == ["20.0", "22.0", "24.0"]


def test_an_image_folder_runs_the_script_in_its_own_environment(work, capsys):
    folder = EXAMPLES / "byo-decision-trees"
    (work / "code" / "which.py").write_text(textwrap.dedent('''
        import sys, sklearn
        print("REPORT {\\"host\\": \\"algo-1\\", \\"prefix\\": \\"%s\\"}" % sys.prefix, flush=True)
    '''))
    session = LocalSession(backend="process", image_folders=[str(folder)])
    try:
        ScriptProcessor(image_uri="decision-trees:latest", command=["python3"], instance_type="local",
                        instance_count=1, sagemaker_session=session).run(str(work / "code" / "which.py"))
    finally:
        session.close()
    from framework_sdk import venvs
    from framework_sdk.local import image_folders

    expected = Path(venvs.folder_python(image_folders.load(folder), image_folders.load(folder).interpreter()))
    assert Path(reports(capsys.readouterr().out)["algo-1"]["prefix"]) == expected.parent.parent
    assert leftovers(work) == []


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3-compatible server on a free loopback port, with test credentials in the environment."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_the_process_command_runs_a_script_with_inputs_and_outputs(work):
    from click.testing import CliRunner

    from framework_sdk.cli import main

    result = CliRunner().invoke(main, [
        "process", "python", "--entry-point", str(work / "code" / "preprocess.py"), "--instance-count", "2",
        "--backend", "process", "--input", f"raw={work}/raw", "--shard", "raw", "--input", f"scale={work}/scale.txt",
        "--output", f"prepared={work}/prepared", "--env", "DATA_DIR=/opt/ml/processing/input/raw",
        "--", "--raw", "/opt/ml/processing/input/raw", "--output", "/opt/ml/processing/output/prepared"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"prepared\tfile://{work}/prepared"]
    assert "on the process backend" in result.stderr and "algo-2 | REPORT" in result.stderr
    assert sorted(os.listdir(work / "prepared" / "scaled")) == [f"part-{n}.csv" for n in range(5)]
    assert leftovers(work) == []
