"""The Docker side of the check: one container run at a time, and the temporary ``/opt/ml`` trees it mounts."""
import json
import os
import shutil
import tempfile

from framework_sdk import codecs
from framework_sdk.conformance.entry_points import PLANTED_MARKER
from framework_sdk.conformance.results import ConformanceError


def _docker_client(client):
    from framework_sdk.images import ImageError, docker_client

    try:
        return docker_client(client)
    except ImageError as error:
        raise ConformanceError(str(error)) from None


class _Run:
    """One container run: its exit code (None when killed at the timeout or never started) and last log lines."""

    def __init__(self, client, image, command, name, volumes, environment, timeout, entrypoint=None):
        import docker
        import requests

        container = client.containers.create(image, command, name=name, volumes=volumes, environment=environment,
                                             entrypoint=entrypoint, labels={"org.framework-sdk.check": name})
        self.exit_code, self.start_error = None, None
        try:
            try:
                container.start()
            except docker.errors.APIError as error:  # e.g. the command is not on PATH
                self.start_error, self.log = str(error.explanation or error), ""
                return
            try:
                self.exit_code = container.wait(timeout=timeout)["StatusCode"]
            except requests.exceptions.RequestException:
                self.exit_code = None  # still running at the timeout: removed (killed) below
            self.log = container.logs(tail=15).decode("utf-8", "replace").strip()
        finally:
            container.remove(force=True)

    def log_tail(self, lines=3):
        tail = " | ".join(self.log.splitlines()[-lines:])
        return f" (log: {tail})" if tail else ""


class _Workspace:
    """Temporary /opt/ml trees; removed at the end, even when a root container wrote into them."""

    def __init__(self, client, image):
        self.client, self.image = client, image
        self.root = tempfile.mkdtemp(prefix="fsdk-check-")

    def add_code(self, entry_point, source_dir=None):
        """Copy the user's code into the workspace; returns the entry point's path inside it."""
        from framework_sdk.packaging import resolve_entry_point

        program = resolve_entry_point(entry_point, source_dir)
        self.code = os.path.join(self.root, "code")
        if source_dir:
            shutil.copytree(source_dir, self.code, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        else:
            os.makedirs(self.code)
            shutil.copy2(entry_point, os.path.join(self.code, program))
        return program

    def add_script(self, file_name, source):
        """Write a script (a framework's built-in one) as the only user code; returns its name."""
        self.code = os.path.join(self.root, "code")
        os.makedirs(self.code)
        with open(os.path.join(self.code, file_name), "w", encoding="utf-8") as file:
            file.write(source)
        return file_name

    code = None

    def add_planted(self, command):
        """A host file to mount over ``command`` in pip's scripts folder: it prints :data:`PLANTED_MARKER`."""
        folder = os.path.join(self.root, "planted")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, command)
        with open(path, "w") as file:
            file.write(f"#!/bin/sh\necho '{PLANTED_MARKER}'\nexit 97\n")
        os.chmod(path, 0o755)
        return path

    def ml_tree(self, name, channel, hyperparameters, channel_files):
        tree = os.path.join(self.root, name)
        config = os.path.join(tree, "input", "config")
        data = os.path.join(tree, "input", "data", channel)
        for folder in (config, data, os.path.join(tree, "model"), os.path.join(tree, "output", "data")):
            os.makedirs(folder)
        _write_json(os.path.join(config, "hyperparameters.json"), {k: str(v) for k, v in hyperparameters.items()})
        _write_json(os.path.join(config, "resourceconfig.json"),
                    {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"})
        _write_json(os.path.join(config, "inputdataconfig.json"),
                    {channel: {"ContentType": codecs.CSV, "TrainingInputMode": "File",
                               "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}})
        for file_name, content in channel_files.items():
            with open(os.path.join(data, file_name), "wb") as file:
                file.write(content)
        if self.code:
            shutil.copytree(self.code, os.path.join(tree, "code"))
        return tree

    def close(self):
        if os.getuid() != 0:  # files a root container wrote: hand them back before deleting
            try:
                self.client.containers.run(self.image, ["-R", f"{os.getuid()}:{os.getgid()}", "/work"],
                                           entrypoint="chown", remove=True, user="0",
                                           volumes={self.root: {"bind": "/work", "mode": "rw"}})
            except Exception:  # the image may have no chown; rmtree says what is left
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _write_json(path, value):
    with open(path, "w") as file:
        json.dump(value, file)


def _non_empty(folder):
    return any(files for _, _, files in os.walk(folder))


def _read(path):
    try:
        with open(path, errors="replace") as file:
            return file.read().strip()
    except OSError:
        return None
