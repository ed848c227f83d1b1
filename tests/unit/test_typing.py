"""The public API as a user's type checker sees it: the installed package is typed (``py.typed``), every
lazily resolved public name is visible, and the annotations catch a wrong argument."""
import subprocess
import sys
import textwrap

import pytest

import framework_sdk
import framework_sdk.chainer

pytest.importorskip("mypy", reason="mypy runs on Python 3.10 or later")

USER_SCRIPT = """
from typing import Any

from typing_extensions import assert_type

from framework_sdk import {names}
from framework_sdk.chainer import {chainer_names}


def use(session: LocalSession) -> None:
    estimator = Chainer("train.py", instance_count=1, instance_type="local", framework_version="7.8.1",
                        sagemaker_session=session)
    estimator.fit({{"training": "file:///data"}})
    assert_type(estimator.model_data, str)
    assert_type(Chainer.attach("job", sagemaker_session=session), Chainer)
    predictor = estimator.deploy(1, "local", serializer=JSONSerializer())
    assert_type(predictor, Predictor)
    assert_type(predictor.predict([1, 2]), Any)
    assert_type(estimator.transformer(1, "local"), Transformer)
    assert_type(session.upload_data("data", callback=print), str)
    Estimator("image:1", instance_count="two", instance_type="local")  # WRONG: a str for an int
"""


def test_a_user_script_type_checks_against_the_installed_package(tmp_path):
    names = [*framework_sdk.__all__, *framework_sdk.chainer.__all__]
    script = USER_SCRIPT.format(names=", ".join(framework_sdk.__all__),
                                chainer_names=", ".join(framework_sdk.chainer.__all__))
    # a public name the type checker cannot see would be Any (the packages' lazy __getattr__), not a class
    script = textwrap.dedent(script) + "".join(f"assert_type({name}, type[{name}])\n" for name in names)
    (tmp_path / "user.py").write_text(script)
    wrong_line = 1 + script.splitlines().index(next(line for line in script.splitlines() if "# WRONG" in line))
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\nwarn_unused_ignores = True\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
                             "--cache-dir", str(tmp_path / "cache"), "user.py"],
                            cwd=tmp_path, capture_output=True, text=True)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(f"user.py:{wrong_line}: error:") and '"instance_count"' in errors[0], result.stdout
