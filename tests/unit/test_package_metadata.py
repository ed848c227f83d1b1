"""The package's version comes from its installed metadata; its build errors share the client's error base."""
import shutil
import subprocess
import sys

import pytest

import framework_sdk
from framework_sdk import images, venvs
from framework_sdk.exceptions import SDKError

PROBE = "import framework_sdk, sys; print(framework_sdk.__version__); print('boto3' in sys.modules)"


@pytest.fixture
def package_copy(tmp_path):
    """A copy of this package in a folder of its own, importable without this checkout's metadata."""
    site = tmp_path / "site"
    shutil.copytree(images.Toolkit.installed().package_dir, site / "framework_sdk",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return site


def version_seen(site):
    # -S: no site-packages, so the only metadata is what ``site`` holds
    out = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {PROBE}"],
                         capture_output=True, text=True, check=True, cwd=site).stdout.split()
    assert out[1] == "False"  # reading the version stays cheap
    return out[0]


def test_version_is_the_installed_distributions(package_copy):
    dist_info = package_copy / "framework_sdk-7.7.7.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: framework-sdk\nVersion: 7.7.7\n")
    assert version_seen(package_copy) == "7.7.7"


def test_version_without_metadata_says_it_is_unknown(package_copy):
    assert version_seen(package_copy) == framework_sdk.UNKNOWN_VERSION == "0+unknown"


def test_cli_version_is_the_package_version():
    from click.testing import CliRunner

    from framework_sdk.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.output.strip() == f"framework-sdk, version {framework_sdk.__version__}"


@pytest.mark.parametrize("error", [images.ImageError, venvs.BuildError])
def test_image_and_environment_errors_are_sdk_errors(error):
    assert issubclass(error, SDKError) and issubclass(error, RuntimeError)
