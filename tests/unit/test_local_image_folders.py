"""Bring-your-own image folders for the process backend: Dockerfile reading, image.toml, resolution (no processes)."""
import re
from pathlib import Path

import pytest

from framework_sdk.images import PipStep
from framework_sdk.local import image_folders
from framework_sdk.local.backends.process import ProcessBackend
from framework_sdk.local.errors import LocalModeError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo-decision-trees"


def make(folder, dockerfile, files=(), toml=None):
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\necho hi\n")
        path.chmod(0o755)
    if toml is not None:
        (folder / "image.toml").write_text(toml)
    return folder


def test_dockerfile_copies_are_read_with_flags_continuations_and_json_form(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM base\n# COPY commented /nowhere\nCOPY --chown=1:1 a.txt \\\n    b.txt /dest/\n"
        'ADD ["src dir", "/opt/program"]\nCOPY --from=builder /out /usr/bin/\nWORKDIR /opt/program\n')
    copies, workdir = image_folders.parse_dockerfile(dockerfile)
    assert copies == [(["a.txt", "b.txt"], "/dest/"), (["src dir"], "/opt/program")]
    assert workdir == "/opt/program"


def test_the_example_folder_resolves_by_its_tag_and_finds_its_programs():
    image = image_folders.resolve("decision-trees", [EXAMPLE])  # no tag means :latest
    assert image.tag == "decision-trees:latest"
    assert image.pip_steps == (PipStep("requirements.txt"),)
    assert image.programs == {"train": EXAMPLE / "program" / "train", "serve": EXAMPLE / "program" / "serve"}
    assert image.workdir == EXAMPLE / "program"  # WORKDIR /opt/program is where program/ goes
    assert image.command("train") == [str(EXAMPLE / "program" / "train")]
    assert image_folders.resolve("decision-trees:2", [EXAMPLE]) is None


def test_programs_copied_as_files_and_requirements_by_default(tmp_path):
    folder = make(tmp_path / "img", "FROM x\nCOPY train serve /usr/local/bin/\n", ["train", "serve"])
    (folder / "requirements.txt").write_text("six\n")
    image = image_folders.resolve(f"file://{folder}")
    assert image.programs == {"train": folder / "train", "serve": folder / "serve"}
    assert image.pip_steps == (PipStep("requirements.txt"),) and image.workdir is None and image.tag is None


def test_image_toml_declares_programs_steps_environment_and_python(tmp_path):
    folder = make(tmp_path / "img", "FROM x\n", ["scripts/fit", "scripts/answer"], toml=(
        'python = "3.11"\n[[pip]]\nrequirements = "deps.txt"\nargs = ["--no-deps"]\n'
        '[programs]\ntrain = "scripts/fit"\nserve = "scripts/answer"\n[environment]\nMODE = 2\n'))
    (folder / "deps.txt").write_text("six\n")
    image = image_folders.load(folder)
    assert image.pip_steps == (PipStep("deps.txt", ("--no-deps",)),)
    assert image.programs == {"train": folder / "scripts/fit", "serve": folder / "scripts/answer"}
    assert image.environment == {"MODE": "2"} and image.python == "3.11"


@pytest.mark.parametrize("toml, message", [
    ('[[pip]]\nrequirements = "missing.txt"\n', "names requirement files that are not in"),
    ('[[pip]]\nargs = []\n', "each [[pip]] entry needs `requirements`"),
    ('[programs]\ntrain = "nope"\n', "[programs] train = 'nope' is not a file"),
    ('[programs]\nevaluate = "x"\n', "knows train and serve, not 'evaluate'"),
    ("tag = \n", "is not valid TOML"),
])
def test_a_bad_image_toml_says_what_is_wrong(tmp_path, toml, message):
    folder = make(tmp_path / "img", "FROM x\n", toml=toml)
    with pytest.raises(LocalModeError, match=re.escape(message)):
        image_folders.load(folder)


def test_commands_explain_missing_programs_interpreters_and_modes(tmp_path):
    folder = make(tmp_path / "img", "FROM x\nCOPY bin/ /opt/program/\n", ["bin/train", "bin/serve"])
    image = image_folders.load(folder)
    (folder / "bin" / "train").write_text("#!/opt/venv/bin/python\nprint(1)\n")
    with pytest.raises(LocalModeError, match="starts with #!/opt/venv/bin/python, which does not exist.*"
                                             "#!/usr/bin/env python3"):
        image.command("train")
    (folder / "bin" / "serve").chmod(0o644)
    assert image.command("serve") == ["/bin/sh", str(folder / "bin" / "serve")]  # run by its #! line
    (folder / "bin" / "serve").write_text("echo no shebang\n")
    with pytest.raises(LocalModeError, match="not executable and has no #! line: chmod"):
        image.command("serve")
    bare = image_folders.load(make(tmp_path / "bare", "FROM x\n"))
    with pytest.raises(LocalModeError, match=r"has no `train` program.*\[programs\] train"):
        bare.command("train")


def test_names_that_are_folders_and_names_that_are_not(tmp_path):
    assert image_folders.folder_named_by("decision-trees:latest") is None
    assert image_folders.folder_named_by("my-team/byo:1") is None  # not a folder here: an image name
    with pytest.raises(LocalModeError, match="has no Dockerfile"):
        image_folders.folder_named_by(f"file://{tmp_path}")
    assert image_folders.normalize("registry:5000/team/img") == "registry:5000/team/img:latest"
    assert image_folders.normalize("img@sha256:abc") == "img@sha256:abc"


def test_the_process_backend_refusal_names_both_ways_out_and_the_known_tags():
    backend = ProcessBackend(image_folders=[EXAMPLE])
    with pytest.raises(LocalModeError) as error:
        backend.check_image("my-team/byo:2")
    message = str(error.value)
    assert message.startswith("the process backend cannot run image 'my-team/byo:2'")
    assert "docker backend (LocalSession(backend='docker')" in message
    assert "LocalSession(image_folders=['/path/to/folder'])" in message and "tag = 'my-team/byo:2'" in message
    assert "decision-trees:latest" in message
