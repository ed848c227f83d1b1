"""`import framework_sdk` stays cheap: no heavy third-party module is imported."""
import json
import subprocess
import sys

HEAVY = ("boto3", "botocore", "docker", "numpy", "requests", "orjson", "uvicorn")


def imported_after(statement):
    probe = f"{statement}; import sys, json; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_import_framework_sdk_imports_no_heavy_module():
    assert imported_after("import framework_sdk") == []


def test_codecs_import_lazily():
    assert imported_after("import framework_sdk.codecs") == []


def test_public_names_resolve_lazily():
    import framework_sdk

    assert "CodecError" in dir(framework_sdk)
    assert issubclass(framework_sdk.CodecError, ValueError)
