"""The local processing job's parts that need no process: shards, rebased paths, listings, refusals."""
import datetime
import sys

import pytest

from framework_sdk import contract
from framework_sdk.exceptions import AWSError
from framework_sdk.local import LocalModeError
from framework_sdk.local.backends.process import ProcessBackend
from framework_sdk.local.clients import LocalSageMakerClient
from framework_sdk.local.processing import files_under, list_summaries, materialize, rebased, shard
from framework_sdk.local.storage import Storage


def test_sharded_by_s3_key_gives_every_object_to_exactly_one_host():
    keys = [f"raw/part-{n}.csv" for n in range(7)]
    shares = [shard(keys, index, 3) for index in range(3)]
    assert shares == [["raw/part-0.csv", "raw/part-3.csv", "raw/part-6.csv"],
                      ["raw/part-1.csv", "raw/part-4.csv"], ["raw/part-2.csv", "raw/part-5.csv"]]
    assert shard(["only.csv"], 1, 2) == []  # more hosts than objects: some get none, as on SageMaker


def test_every_opt_ml_path_of_a_request_moves_to_the_hosts_tree():
    request = {"AppSpecification": {"ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/p.py"],
                                    "ContainerArguments": ["--input", "/opt/ml/processing/input/raw",
                                                           "--output=/opt/ml/processing/output", "/opt/mlx", "7"]},
               "Environment": {"DATA": "/opt/ml/processing/input", "OTHER": "/data/opt/ml"},
               "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}}}
    moved = rebased(request, "/tmp/job/algo-1")
    assert moved["AppSpecification"] == {
        "ContainerEntrypoint": ["python3", "/tmp/job/algo-1/processing/input/code/p.py"],
        "ContainerArguments": ["--input", "/tmp/job/algo-1/processing/input/raw",
                               "--output=/tmp/job/algo-1/processing/output", "/opt/mlx", "7"]}
    assert moved["Environment"] == {"DATA": "/tmp/job/algo-1/processing/input", "OTHER": "/data/opt/ml"}
    assert moved["ProcessingResources"] == request["ProcessingResources"]
    assert rebased(request, contract.BASE_DIR) == request  # in a container nothing moves


def test_files_under_skips_links_and_materialize_leaves_room_for_nested_inputs(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("1\n")
    (data / "sub" / "b.csv").write_text("2\n")
    (data / "linked").symlink_to(tmp_path)  # e.g. an input linked inside an output folder
    assert [name for name, _ in files_under(data)] == ["a.csv", "sub/b.csv"]
    assert [name for name, _ in files_under(data / "a.csv")] == ["a.csv"]
    folder = materialize(files_under(data), tmp_path / "host", subfolders=["code"])
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["a.csv", "code", "sub", "sub/b.csv"]
    assert (folder / "sub" / "b.csv").read_text() == "2\n"


def _summary(name, status, minutes):
    class Job:
        @staticmethod
        def summary():
            created = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
            return {"ProcessingJobName": name, "ProcessingJobStatus": status, "CreationTime": created,
                    "LastModifiedTime": created}

    return Job()


def test_listing_filters_and_sorts_as_list_processing_jobs_does():
    jobs = [_summary("prep-1", "Completed", 1), _summary("eval-1", "Failed", 2), _summary("prep-2", "InProgress", 3)]
    names = lambda answer: [s["ProcessingJobName"] for s in answer["ProcessingJobSummaries"]]  # noqa: E731
    assert names(list_summaries(jobs)) == ["prep-2", "eval-1", "prep-1"]  # newest first by default
    assert names(list_summaries(jobs, NameContains="prep", SortOrder="Ascending")) == ["prep-1", "prep-2"]
    assert names(list_summaries(jobs, StatusEquals="Failed")) == ["eval-1"]
    assert names(list_summaries(jobs, SortBy="Name", SortOrder="Ascending", MaxResults=2)) == ["eval-1", "prep-1"]


def _request(inputs=(), outputs=(), name="local-refusal"):
    return {"ProcessingJobName": name, "AppSpecification": {"ImageUri": "framework-sdk-python:3.11-cpu-py3"},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "local",
                                                      "VolumeSizeInGB": 30}},
            "ProcessingInputs": list(inputs), "ProcessingOutputConfig": {"Outputs": list(outputs)}}


def _input(name, path, **s3):
    return {"InputName": name, "S3Input": {"S3Uri": "file:///tmp", "LocalPath": path, "S3DataType": "S3Prefix",
                                           "S3InputMode": "File", **s3}}


@pytest.mark.parametrize("request_, message", [
    (_request([_input("raw", "/opt/ml/processing/raw", S3InputMode="Pipe")]), "S3InputMode='Pipe'.*'File' only"),
    (_request([_input("raw", "/opt/ml/processing/raw", S3DataType="ManifestFile")]), "'S3Prefix' only"),
    (_request([_input("raw", "/opt/ml/input/raw")]), "not a folder under /opt/ml/processing/"),
    (_request([_input("a", "/opt/ml/processing/in"), _input("b", "/opt/ml/processing/in/")]),
     r"inputs \['a'\] and 'b' have the same LocalPath"),
    (_request([_input("raw", "/opt/ml/processing/input")],
              [{"OutputName": "out", "S3Output": {"S3Uri": "file:///tmp/o", "LocalPath": "/opt/ml/processing/input/o",
                                                  "S3UploadMode": "EndOfJob"}}]),
     "output 'out' .* is inside input 'raw' .* read-only here"),
    (_request([{"InputName": "athena", "DatasetDefinition": {}}]), "not DatasetDefinition"),
])
def test_what_local_mode_cannot_do_is_refused_before_anything_runs(request_, message):
    client = LocalSageMakerClient(ProcessBackend(python=sys.executable), Storage())
    with pytest.raises(LocalModeError, match=message):
        client.create_processing_job(**request_)
    with pytest.raises(AWSError, match="ValidationException.*Could not find local processing job"):
        client.describe_processing_job(ProcessingJobName=request_["ProcessingJobName"])


REDIRECTED = '''
import glob, os, pathlib, shutil
print(open("/opt/ml/processing/input/a.txt").read().strip())
print(sorted(os.listdir(b"/opt/ml/processing/input")))
print(os.path.isfile("/opt/ml/processing/input/a.txt"), pathlib.Path("/opt/ml/processing/input/a.txt").exists())
os.makedirs("/opt/ml/processing/output/deep", exist_ok=True)
shutil.copy("/opt/ml/processing/input/a.txt", "/opt/ml/processing/output/deep/b.txt")
os.rename("/opt/ml/processing/output/deep/b.txt", "/opt/ml/processing/output/deep/c.txt")
print(glob.glob("/opt/ml/processing/output/*/*.txt"))
print(open(os.open("/opt/ml/processing/input/a.txt", os.O_RDONLY)).read().strip())
'''


def test_python_sees_opt_ml_in_the_hosts_tree_and_the_environments_sitecustomize_still_runs(tmp_path):
    import subprocess

    from framework_sdk.local import path_redirect

    tree = tmp_path / "algo-1"
    (tree / "processing" / "input").mkdir(parents=True)
    (tree / "processing" / "input" / "a.txt").write_text("from the tree\n")
    own = tmp_path / "own-site"
    own.mkdir()
    (own / "sitecustomize.py").write_text("print('own sitecustomize ran')\n")
    done = subprocess.run([sys.executable, "-c", REDIRECTED], capture_output=True, text=True, env={
        "PATH": "/usr/bin:/bin", "SAGEMAKER_BASE_DIR": str(tree),
        "PYTHONPATH": f"{path_redirect.FOLDER}:{own}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "own sitecustomize ran", "from the tree", "[b'a.txt']", "True True",
        "['/opt/ml/processing/output/deep/c.txt']",  # glob answers in the script's own terms
        "from the tree"]
    assert (tree / "processing" / "output" / "deep" / "c.txt").read_text() == "from the tree\n"


def test_without_a_tree_elsewhere_nothing_moves(tmp_path):
    import subprocess

    from framework_sdk.local import path_redirect

    done = subprocess.run([sys.executable, "-c", "import builtins, os; print(hasattr(builtins.open, '__wrapped__'), "
                           "hasattr(os.stat, '__wrapped__'))"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": path_redirect.FOLDER,
                               "SAGEMAKER_BASE_DIR": "/opt/ml"})
    assert done.stdout.split() == ["False", "False"]  # the real functions: nothing wrapped
