"""``sagemaker_training`` / ``sagemaker_containers`` for scripts written against SageMaker's toolkits.

The two import names live in ``compat_packages/`` (package data, no ``__init__.py`` above them), so the
client's environment can never import them. Images and the process backend's toolkit layer put that
folder on ``sys.path`` with a ``.pth`` file (:func:`install_path_file`, ``python -m
framework_sdk.container.compat``). A ``.pth`` path comes after site-packages, so when a job's
requirements install the real ``sagemaker-training`` or ``sagemaker-containers``, the real one wins.
"""
import sys
import sysconfig
from pathlib import Path

PATH_FILE = "sagemaker-compat.pth"  # after framework-sdk-environment.pth: .pth files are read in name order
PACKAGES_DIR = Path(__file__).resolve().parent / "compat_packages"


def install_path_file(site_packages=None):
    """Write ``PATH_FILE`` into ``site_packages`` (default: this interpreter's) naming :data:`PACKAGES_DIR`."""
    target = Path(site_packages or sysconfig.get_paths()["purelib"]) / PATH_FILE
    target.write_text(f"{PACKAGES_DIR}\n")
    return target


if __name__ == "__main__":
    print(f"wrote {install_path_file(sys.argv[1] if len(sys.argv) > 1 else None)}")
