"""A tiny real wheel written on the spot, so a test's ``requirements.txt`` installs offline.

pip installs it like any wheel: modules into site-packages, console scripts into the
environment's ``bin``. (This module holds no tests.)
"""
import base64
import hashlib
import zipfile
from pathlib import Path


def write_wheel(folder, name, modules, scripts=None, version="1.0"):
    """Write ``<name>-<version>-py3-none-any.whl`` into ``folder``; returns its path.

    ``modules`` maps a top-level module name to its source; ``scripts`` maps a console-script
    name to its ``module:function`` entry.
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {f"{module}.py": source for module, source in modules.items()}
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: framework-sdk-tests\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n")
    if scripts:
        files[f"{info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{script} = {entry}\n" for script, entry in scripts.items())
    records = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join(records + [f"{info}/RECORD,,"]) + "\n"
    wheel = Path(folder) / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _digest(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
