"""The conformance check's verdicts, without an engine: baselines, PATH order, framework scripts."""
import pytest

from framework_sdk import conformance
from framework_sdk.conformance import FAIL, PASS, SKIP, _EntryProbe, _TrainingOutcome
from framework_sdk.container import frameworks

OK = _TrainingOutcome(0)
# today's chainer/python images: the venv first on PATH, `train`/`serve` in /usr/local/bin, no ENTRYPOINT
VENV_FIRST = "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def judged(valid, bad, what="an empty channel"):
    return [(result.status, result.detail) for result in conformance._judge_bad_training(what, valid, bad, 60)]


def statuses(valid, bad):
    return [status for status, _ in judged(valid, bad)]


def test_failing_on_valid_input_too_makes_every_bad_input_check_a_skip():
    always = _TrainingOutcome(1, "no user code: sagemaker_submit_directory is not set")
    for (status, detail) in judged(always, always):
        assert status == SKIP
        assert detail.startswith("training fails on valid input too: fix that first (exit code 1, output/failure")
    assert statuses(_TrainingOutcome(None), _TrainingOutcome(2, "other")) == [SKIP, SKIP]


def test_exiting_0_on_bad_input_fails_whatever_the_valid_run_did():
    assert statuses(OK, _TrainingOutcome(0)) == [FAIL, FAIL]
    assert statuses(_TrainingOutcome(1, "x"), _TrainingOutcome(0, "x")) == [FAIL, FAIL]


def test_a_failure_different_from_the_valid_run_passes_and_says_what_was_proven():
    failure = "AlgorithmError: the script failed\nLast lines of its stderr:\nno files in /opt/ml/input/data/training\n"
    (fails, explains) = judged(OK, _TrainingOutcome(3, failure))
    assert fails == (PASS, "exit code 3 on an empty channel while exiting 0 on valid data")
    assert explains == (PASS, "'AlgorithmError: the script failed ... no files in /opt/ml/input/data/training' "
                              "(exit code 3), a reason the successful run did not give")


def test_a_failure_without_a_reason_or_with_the_valid_runs_reason_does_not_explain_anything():
    assert statuses(OK, _TrainingOutcome(1)) == [PASS, FAIL]
    stale = _TrainingOutcome(0, "left over")
    assert statuses(stale, _TrainingOutcome(1, "left over")) == [PASS, FAIL]
    assert statuses(stale, _TrainingOutcome(1, "bad CSV")) == [PASS, PASS]


def test_hanging_on_bad_input_fails_only_against_a_valid_run_that_ended():
    assert statuses(OK, _TrainingOutcome(None)) == [FAIL, SKIP]
    assert statuses(OK, _TrainingOutcome(None, start_error="train: not found")) == [FAIL, SKIP]


def probe(path, train="/usr/local/bin/train", scripts="/opt/venv/bin"):
    lines = [f"path={path}", f"train={train}", "serve=/usr/local/bin/serve"]
    return _EntryProbe.parse("\n".join(lines + ([f"scripts={scripts}/"] if scripts else [])))


def test_a_scripts_folder_before_the_command_on_path_fails():
    result = conformance._judge_path_order("train", probe(VENV_FIRST))
    assert result.name == "train: a requirement cannot replace `train`" and result.status == FAIL
    assert "pip puts them in /opt/venv/bin, which comes first on PATH" in result.detail


def test_pip_writing_into_the_commands_own_folder_fails():
    result = conformance._judge_path_order("train", probe(VENV_FIRST, train="/opt/venv/bin/train"))
    assert result.status == FAIL and "holds it itself: pip would overwrite it" in result.detail


@pytest.mark.parametrize("path", ["/usr/local/bin:/opt/venv/bin:/usr/bin:/bin", "/usr/local/bin:/usr/bin:/bin"])
def test_the_command_found_before_the_scripts_folder_passes(path):
    assert conformance._judge_path_order("serve", probe(path)).status == PASS


def test_without_python_or_command_the_verdict_says_why():
    assert conformance._judge_path_order("train", probe(VENV_FIRST, scripts=None)).status == SKIP
    missing = conformance._judge_path_order("train", probe(VENV_FIRST, train=""))
    assert missing.status == FAIL and "no `train` on PATH" in missing.detail


def test_an_entrypoint_is_judged_by_whether_the_planted_script_ran():
    entrypoint = ["/usr/bin/tini", "--"]
    assert conformance._judge_planted("train", probe(VENV_FIRST), entrypoint, ran=True).status == FAIL
    assert conformance._judge_planted("train", probe(VENV_FIRST), entrypoint, ran=False).status == PASS


def test_the_framework_of_an_image_comes_from_its_environment_or_our_label():
    env = {"Config": {"Env": ["PATH=/bin", "FRAMEWORK_SDK_FRAMEWORK=chainer"], "Labels": None}}
    label = {"Config": {"Env": ["PATH=/bin"], "Labels": {"org.framework-sdk.framework": "python"}}}
    assert conformance._framework_of(env) == "chainer" and conformance._framework_of(label) == "python"
    assert conformance._framework_of({"Config": {"Env": ["PATH=/bin"], "Labels": {}}}) is None


@pytest.mark.parametrize("framework, file_name", [("chainer", "softmax_regression.py"),
                                                  ("python", "nearest_centroid.py")])
def test_every_framework_brings_a_check_script_read_as_package_data(framework, file_name):
    name, source = frameworks.check_script(frameworks.load(framework))
    assert name == file_name and "def model_fn(model_dir)" in source and "status_code = 400" in source
    compile(source, name, "exec")
    assert conformance._builtin_script("img:1", framework) == (name, source)


def test_a_framework_without_a_script_stops_with_the_command_to_run():
    with pytest.raises(conformance.ConformanceError) as raised:
        conformance._builtin_script("vendor/img:1", "fsdk_test_unknown")
    message = str(raised.value)
    assert "vendor/img:1 is a fsdk_test_unknown framework image" in message
    assert "framework-sdk check vendor/img:1 --entry-point train.py --source-dir src" in message


def test_the_python_check_script_trains_serves_and_refuses_bad_input(tmp_path, monkeypatch):
    import json
    import runpy

    name, source = frameworks.check_script(frameworks.load("python"))
    script = tmp_path / name
    script.write_text(source)
    channel, model = tmp_path / "training", tmp_path / "model"
    channel.mkdir(), model.mkdir()
    labels, features = conformance.sample_data()
    (channel / "data.csv").write_bytes(conformance._csv([[label, *row] for label, row in zip(labels, features)]))
    monkeypatch.setenv("SM_CHANNELS", json.dumps(["training"]))
    monkeypatch.setenv("SM_CHANNEL_TRAINING", str(channel))
    monkeypatch.setenv("SM_MODEL_DIR", str(model))
    runpy.run_path(str(script), run_name="__main__")
    served = runpy.run_path(str(script))
    network = served["model_fn"](str(model))
    assert list(served["predict_fn"](features, network)) == labels
    with pytest.raises(served["BadRequest"]) as wrong:
        served["predict_fn"]([row + [1.0] for row in features], network)
    assert wrong.value.status_code == 400
    (channel / "data.csv").unlink()
    with pytest.raises(SystemExit, match="no files in"):
        runpy.run_path(str(script), run_name="__main__")
