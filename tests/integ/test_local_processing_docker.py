"""Processing jobs on the docker backend: one container per host, SageMaker's processing contract inside.

The framework image runs a ScriptProcessor's script; a bring-your-own image that knows nothing
of framework-sdk (processing_byo_image/: plain Python reading /opt/ml/config and
/opt/ml/processing) runs with its own ENTRYPOINT. Every test checks that no container, network
or temporary tree is left behind.
"""
import json
import os
from pathlib import Path

import pytest

from framework_sdk import LocalSession
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.local.backends.docker import LABEL
from framework_sdk.processing import ProcessingInput, ProcessingOutput, Processor, ScriptProcessor

pytestmark = pytest.mark.docker
BASE_NAME = "proc-docker-test"
BYO_DIR = Path(__file__).parent / "processing_byo_image"

# The layout of SageMaker's scikit-learn processing example: data at /opt/ml/processing/input, the code
# (ScriptProcessor's input "code") inside it at /opt/ml/processing/input/code; paths written in the code.
SPLIT = '''
import json, os
host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
names = sorted(name for name in os.listdir("/opt/ml/processing/input") if name.endswith(".csv"))
print(f"{host} has {names}", flush=True)
for name in names:
    values = [float(v) for v in open(os.path.join("/opt/ml/processing/input", name)).read().split()]
    channel = "test" if name.endswith("4.csv") else "train"
    os.makedirs(f"/opt/ml/processing/{channel}", exist_ok=True)
    with open(f"/opt/ml/processing/{channel}/{name}", "w") as out:
        out.write("\\n".join(str(v / 100) for v in values) + "\\n")
'''


@pytest.fixture
def work(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    for part in range(5):
        (raw / f"part-{part}.csv").write_text("".join(f"{part * 10 + row}\n" for row in range(3)))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "split.py").write_text(SPLIT)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    import tempfile

    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


def leftovers(docker_client, work):
    containers = [c.name for c in docker_client.containers.list(all=True, filters={"label": LABEL})
                  if BASE_NAME in c.name]
    networks = [n.name for n in docker_client.networks.list(filters={"label": LABEL}) if BASE_NAME in n.name]
    trees = [p.name for p in (work / "tmp").iterdir() if p.name.startswith("framework-sdk-local-")]
    return containers + networks + trees


@pytest.fixture
def session(docker_client, work):
    session = LocalSession(backend="docker", docker_client=docker_client)
    yield session
    session.close()
    assert leftovers(docker_client, work) == []


@pytest.fixture(scope="module")
def byo_processing_image(docker_client, base_image):
    from conftest import build_test_image, remove_test_image

    tag = build_test_image(docker_client, BYO_DIR, "fsdk-test-byo-processing", base_image)
    yield tag
    remove_test_image(docker_client, tag)


def test_a_script_in_the_framework_image_on_two_sharded_hosts(session, python_image, work, capsys):
    processor = ScriptProcessor(image_uri=python_image, command=["python3"], instance_type="local", instance_count=2,
                                base_job_name=BASE_NAME, sagemaker_session=session)
    processor.run(str(work / "code" / "split.py"),
                  inputs=[ProcessingInput(str(work / "raw"), "/opt/ml/processing/input",
                                          s3_data_distribution_type="ShardedByS3Key")],
                  outputs=[ProcessingOutput("/opt/ml/processing/train", f"file://{work}/channels/train"),
                           ProcessingOutput("/opt/ml/processing/test", f"file://{work}/channels/test")])
    out = capsys.readouterr().out
    assert "algo-1 | algo-1 has ['part-0.csv', 'part-2.csv', 'part-4.csv']" in out
    assert "algo-2 | algo-2 has ['part-1.csv', 'part-3.csv']" in out
    assert sorted(os.listdir(work / "channels" / "train")) == [f"part-{n}.csv" for n in range(4)]
    assert (work / "channels" / "test" / "part-4.csv").read_text().split() == ["0.4", "0.41", "0.42"]
    assert sorted(os.listdir(work / "raw")) == [f"part-{n}.csv" for n in range(5)]  # no code/ made in the source


def test_a_failing_script_fails_the_job_with_its_traceback(session, python_image, work):
    (work / "code" / "failing.py").write_text("def check(rows):\n    raise ValueError(f'{rows} rows is too few')\n"
                                              "print('checking', flush=True)\ncheck(3)\n")
    processor = ScriptProcessor(image_uri=python_image, command=["python3"], instance_type="local", instance_count=1,
                                base_job_name=BASE_NAME, sagemaker_session=session)
    with pytest.raises(UnexpectedStatusException) as failure:
        processor.run(str(work / "code" / "failing.py"), logs=False)
    reason = str(failure.value)
    assert "host algo-1 exited with code 1" in reason
    assert "the script's traceback on algo-1:\nTraceback (most recent call last):" in reason
    # Docker reads stdout and stderr on two pipes: "checking" may land before or inside the traceback's lines
    assert "ValueError: 3 rows is too few" in reason and "\nchecking" in reason


def test_a_bring_your_own_image_reads_the_contract_on_its_own(session, byo_processing_image, work):
    (work / "labels.txt").write_text("a\nb\n")
    processor = Processor(image_uri=byo_processing_image, instance_type="local", instance_count=2,
                          base_job_name=BASE_NAME, env={"REPORT_LABEL": "nightly"}, sagemaker_session=session)
    inputs = [ProcessingInput(str(work / "raw"), "/opt/ml/processing/input/raw", "raw"),
              ProcessingInput(f"file://{work}/labels.txt", "/opt/ml/processing/input/labels", "labels")]
    outputs = [ProcessingOutput("/opt/ml/processing/report", f"file://{work}/report", "report")]
    processor.run(inputs=inputs, outputs=outputs, arguments=["--label", "x"], logs=False)
    job = processor.latest_job.name
    reports = {name: json.loads((work / "report" / name).read_text()) for name in sorted(os.listdir(work / "report"))}
    assert sorted(reports) == ["report-algo-1.json", "report-algo-2.json"]
    report = reports["report-algo-2.json"]
    assert (report["host"], report["hosts"], report["arguments"], report["job"], report["env"]) == (
        "algo-2", ["algo-1", "algo-2"], ["--label", "x"], job, "nightly")
    assert report["lines"] == {**{f"input/raw/part-{n}.csv": 3 for n in range(5)}, "input/labels/labels.txt": 2}
    assert processor.latest_job.describe()["ExitMessage"] == "algo-1 counted 6 filesalgo-2 counted 6 files"

    processor.run(inputs=inputs, outputs=outputs, arguments=["--fail"], logs=False, wait=False)
    with pytest.raises(UnexpectedStatusException) as failure:
        processor.latest_job.wait(logs=False)
    assert "exited with code 3" in str(failure.value)
    assert "counted 6 files" in str(failure.value)  # output/message goes into FailureReason
