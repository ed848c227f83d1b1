"""Conformance check: does an image honour the SageMaker container contract?

``check(image)`` runs the image through docker-py as SageMaker would, against temporary
``/opt/ml`` trees it makes, and returns one :class:`CheckResult` per check:

* ``train`` with config files (``hyperparameters.json``, ``resourceconfig.json``,
  ``inputdataconfig.json``) and a small numeric CSV channel (label first, like the
  scikit bring-your-own example): exits 0 and writes ``/opt/ml/model``; with an empty and
  with a garbage channel: exits non-zero and explains why in ``/opt/ml/output/failure``.
* ``serve`` on the trained model: answers ``/ping`` only once ``/invocations`` works;
  handles CSV, JSON and NPY where it claims to (415 is reported as "not supported", a
  warning); answers 415 for an unknown content type, 400 for a malformed or empty body or
  the wrong number of features, 406 for an unknown ``Accept``, 413 over
  ``SAGEMAKER_MAX_PAYLOAD_IN_MB``; keeps serving after all of them; serves
  ``/execution-parameters``; stops on SIGTERM.

Framework images (ours, or any with a training toolkit) run the user's script: give
``entry_point`` (and ``source_dir``) and the code is laid out at ``/opt/ml/code`` with the
``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters for ``train``, and
``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY`` for ``serve`` (the same script
holds ``model_fn``, or name another with ``serving_entry_point``). The script reads the
CSV of the ``training`` channel (label first, then four features, three classes).

A result is ``pass``, ``warn`` (allowed, but SageMaker users would expect otherwise, or
an optional feature is missing), ``fail`` (breaks the contract) or ``skip`` (could not be
run because an earlier step failed). :func:`format_table` prints them; :func:`passed` is
True when nothing failed. Containers are named ``fsdk-check-<id>-...`` and removed, and
the temporary trees deleted, whatever happens.
"""
import dataclasses
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from . import codecs
from .exceptions import ConfigurationError

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
CONTAINER_PORT = "8080/tcp"
PAYLOAD_LIMIT_MB = 1
UNKNOWN_TYPE = "application/x-fsdk-conformance-unknown"
FEATURES = 4
CLASSES = 3
ROWS = 60
CODE_DIR = "/opt/ml/code"


class ConformanceError(ConfigurationError):
    """The check cannot run at all (no engine, no such image); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: ``name`` (``"train: ..."`` / ``"serve: ..."``), ``status`` and a ``detail`` sentence."""

    name: str
    status: str
    detail: str = ""


def passed(results):
    """True when no check failed (warnings and skips allowed)."""
    return all(result.status != FAIL for result in results)


def format_table(results):
    """The results as a plain-text table, then a one-line summary."""
    width = max([len(result.name) for result in results] + [5])
    lines = [f"{'STATUS':6}  {'CHECK':{width}}  DETAIL"]
    for result in results:
        lines.append(f"{result.status.upper():6}  {result.name:{width}}  {result.detail}")
    counts = {status: sum(result.status == status for result in results) for status in (PASS, WARN, FAIL, SKIP)}
    lines.append(", ".join(f"{count} {status}" for status, count in counts.items() if count) or "no checks")
    return "\n".join(lines)


# ------------------------------------------------------------------------ data


def sample_data(rows=ROWS, seed=0):
    """``(labels, features)``: a small iris-like set, numeric labels 0-2, four separable features."""
    generator = random.Random(seed)
    labels = [index % CLASSES for index in range(rows)]
    features = [[round(label * 2.0 + generator.random(), 3) for _ in range(FEATURES)] for label in labels]
    return labels, features


def _csv(rows):
    return "".join(",".join(str(value) for value in row) + "\n" for row in rows).encode()


def _payloads(features):
    """A valid request body per content type, for the same rows."""
    import numpy

    array = numpy.asarray(features, dtype="float64")
    return {codecs.CSV: _csv(features), codecs.JSON: bytes(codecs.encode(features, codecs.JSON)),
            codecs.NPY: bytes(codecs.encode(array, codecs.NPY))}


MALFORMED = {codecs.CSV: b"1.0,2.0,not-a-number,\x00\xff\n", codecs.JSON: b"{\"instances\": [1, 2,",
             codecs.NPY: b"\x93NUMPY\x01\x00garbage"}


# ---------------------------------------------------------------------- engine


def _docker_client(client):
    from framework_sdk.images import ImageError, docker_client

    try:
        return docker_client(client)
    except ImageError as error:
        raise ConformanceError(str(error)) from None


class _Run:
    """One container run: its exit code (None when killed at the timeout) and last log lines."""

    def __init__(self, client, image, command, name, volumes, environment, timeout):
        import requests

        container = client.containers.run(image, [command], name=name, detach=True, volumes=volumes,
                                          environment=environment, labels={"org.framework-sdk.check": name})
        try:
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
        from .packaging import resolve_entry_point

        program = resolve_entry_point(entry_point, source_dir)
        self.code = os.path.join(self.root, "code")
        if source_dir:
            shutil.copytree(source_dir, self.code, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        else:
            os.makedirs(self.code)
            shutil.copy2(entry_point, os.path.join(self.code, program))
        return program

    code = None

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


# ---------------------------------------------------------------------- checks


def _how_to_build(image):
    """What to run so the engine has ``image``: our build tool for a framework image, docker build otherwise."""
    if os.path.isdir(os.path.expanduser(image)):
        return (f"that is a folder; check runs images, so build it first (docker build -t my-image {image}) "
                f"and run: framework-sdk check my-image")
    repository = image.rsplit("/", 1)[-1].split(":")[0]
    if repository.startswith("framework-sdk-"):
        return f"build it first with: framework-sdk images build {repository[len('framework-sdk-'):]}"
    return f"build it first (docker build -t {image} <folder with its Dockerfile>)"


def check(image, client=None, *, channel="training", hyperparameters=None, environment=None, model_dir=None,
          timeout=300, progress=None, entry_point=None, source_dir=None, serving_entry_point=None):
    """Run the conformance suite against ``image``; returns the list of :class:`CheckResult`.

    ``channel`` names the training channel the generated CSV goes to; ``hyperparameters``
    and ``environment`` are passed to every run. ``model_dir`` serves that folder instead of
    training first. ``timeout`` bounds each container run and each wait for ``/ping``.
    ``progress`` is called with each result as it is decided. ``entry_point`` (in
    ``source_dir``) is the user script a framework image runs for ``train`` and, unless
    ``serving_entry_point`` names another file of ``source_dir``, for ``serve``.
    """
    if (source_dir or serving_entry_point) and not entry_point:
        raise ConformanceError("source_dir and serving_entry_point go with entry_point: the training script")
    client = _docker_client(client)
    import docker

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise ConformanceError(f"the Docker engine has no image {image!r}: {_how_to_build(image)}") from None
    suite = _Suite(client, image, channel, dict(hyperparameters or {}), dict(environment or {}), timeout,
                   progress)
    try:
        if entry_point:
            suite.use_code(entry_point, source_dir, serving_entry_point)
        trained = suite.train()
        suite.serve(model_dir or trained)
    finally:
        suite.workspace.close()
    return suite.results


class _Suite:
    def __init__(self, client, image, channel, hyperparameters, environment, timeout, progress):
        self.client, self.image, self.channel = client, image, channel
        self.hyperparameters, self.environment, self.timeout = hyperparameters, environment, timeout
        self.progress = progress or (lambda result: None)
        self.prefix = f"fsdk-check-{uuid.uuid4().hex[:8]}"
        self.workspace = _Workspace(client, image)
        self.results = []
        self.labels, self.features = sample_data()

    def use_code(self, entry_point, source_dir, serving_entry_point):
        """Run the user's script: hyperparameters for ``train``, environment for ``serve``."""
        from .packaging import resolve_entry_point

        try:
            program = self.workspace.add_code(entry_point, source_dir)
            serving = resolve_entry_point(serving_entry_point, source_dir) if serving_entry_point else program
        except (ConfigurationError, OSError) as error:
            raise ConformanceError(f"cannot use the user code: {error}") from None
        self.hyperparameters.update(sagemaker_program=program, sagemaker_submit_directory=CODE_DIR)
        self.serving_environment = {"SAGEMAKER_PROGRAM": serving, "SAGEMAKER_SUBMIT_DIRECTORY": CODE_DIR}

    serving_environment: dict[str, str] = {}

    def record(self, name, status, detail=""):
        result = CheckResult(name, status, detail)
        self.results.append(result)
        self.progress(result)
        return result

    # ------------------------------------------------------------------ train

    def _train(self, kind, channel_files):
        tree = self.workspace.ml_tree(kind, self.channel, self.hyperparameters, channel_files)
        environment = {"TRAINING_JOB_NAME": f"{self.prefix}-{kind}", **self.environment}
        run = _Run(self.client, self.image, "train", f"{self.prefix}-train-{kind}",
                   {tree: {"bind": "/opt/ml", "mode": "rw"}}, environment, self.timeout)
        return tree, run

    def train(self):
        """The three training runs, side by side; returns the model folder of the good one (or None)."""
        good = _csv([[label, *row] for label, row in zip(self.labels, self.features)])
        garbage = bytes(random.Random(1).getrandbits(8) for _ in range(512)) + b"\n,,;;\n"
        runs = {"valid": {"data.csv": good}, "empty": {}, "garbage": {"data.csv": garbage}}
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {kind: pool.submit(self._train, kind, files) for kind, files in runs.items()}
            outcome = {kind: future.result() for kind, future in futures.items()}

        tree, run = outcome["valid"]
        model_dir = os.path.join(tree, "model")
        failure = _read(os.path.join(tree, "output", "failure"))
        if run.exit_code == 0:
            self.record("train: exits 0 on valid input", PASS, f"config files and a {ROWS}-row CSV in "
                        f"the {self.channel!r} channel")
        elif run.exit_code is None:
            self.record("train: exits 0 on valid input", FAIL, f"still running after {self.timeout} s; killed"
                        + run.log_tail())
        else:
            self.record("train: exits 0 on valid input", FAIL, f"exit code {run.exit_code}"
                        + (f"; output/failure: {failure[:200]}" if failure else "") + run.log_tail())
        wrote_model = _non_empty(model_dir)
        self.record("train: writes the model to /opt/ml/model", PASS if wrote_model else FAIL,
                    ", ".join(sorted(os.listdir(model_dir)))[:120] if wrote_model else "/opt/ml/model is empty")
        if run.exit_code == 0 and failure:
            self.record("train: no output/failure after success", WARN, f"a successful job left: {failure[:120]}")

        for kind, what in (("empty", "an empty channel"), ("garbage", "a garbage channel")):
            tree, run = outcome[kind]
            failure = _read(os.path.join(tree, "output", "failure"))
            if run.exit_code is None:
                self.record(f"train: fails on {what}", FAIL, f"still running after {self.timeout} s; killed")
            elif run.exit_code == 0:
                self.record(f"train: fails on {what}", FAIL, "exit code 0: SageMaker would mark the job "
                            "Completed with a useless model; exit non-zero on bad input")
            else:
                self.record(f"train: fails on {what}", PASS, f"exit code {run.exit_code}")
            if run.exit_code != 0:
                self.record(f"train: writes output/failure on {what}", PASS if failure else FAIL,
                            f"{failure.splitlines()[0][:120]!r}" if failure else
                            "no /opt/ml/output/failure: SageMaker's FailureReason would be empty; write the "
                            "reason there before exiting")
        return model_dir if wrote_model else None

    # ------------------------------------------------------------------ serve

    def serve(self, model_dir):
        names = [f"serve: {name}" for name in (
            "answers /ping", "/ping only when /invocations works", "handles text/csv", "handles application/json",
            "handles application/x-npy", "handles at least one of CSV, JSON, NPY")]
        if not model_dir:
            for name in names:
                self.record(name, SKIP, "no trained model (training failed); pass model_dir= to check serving")
            return
        import requests

        environment = {"SAGEMAKER_MAX_PAYLOAD_IN_MB": str(PAYLOAD_LIMIT_MB), **self.serving_environment,
                       **self.environment}
        volumes = {os.path.abspath(model_dir): {"bind": "/opt/ml/model", "mode": "rw"}}
        if self.workspace.code:
            volumes[self.workspace.code] = {"bind": CODE_DIR, "mode": "ro"}
        container = self.client.containers.run(
            self.image, ["serve"], name=f"{self.prefix}-serve", detach=True, environment=environment,
            volumes=volumes,
            ports={CONTAINER_PORT: ("127.0.0.1", None)}, labels={"org.framework-sdk.check": self.prefix})
        try:
            with requests.Session() as http:
                _Serving(self, container, http).run()
        finally:
            container.remove(force=True)


class _Serving:
    """The checks against one running ``serve`` container."""

    def __init__(self, suite, container, http):
        self.suite, self.container, self.http = suite, container, http
        self.record = suite.record
        self.payloads = _payloads(suite.features)
        self.rows = len(suite.features)
        self.url = None

    def run(self):
        started = time.monotonic()
        ready = self.wait_for_ping()
        if not ready:
            return
        self.record("serve: answers /ping", PASS, f"200 after {time.monotonic() - started:.1f} s")
        supported = self.check_readiness_and_types()
        if not supported:
            return
        kind = supported[0]
        self.check_bad_requests(kind)
        self.check_still_serving(kind)
        self.check_execution_parameters()
        self.check_sigterm()

    # ---------------------------------------------------------------- helpers

    def exited(self):
        self.container.reload()
        return self.container.status in ("exited", "dead")

    def log_tail(self, lines=3):
        tail = self.container.logs(tail=lines).decode("utf-8", "replace").strip().replace("\n", " | ")
        return f" (log: {tail})" if tail else ""

    def post(self, body, content_type, accept=None):
        """``(status, content_type, body)`` of one ``/invocations``; status None when the connection failed."""
        import requests

        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        try:
            response = self.http.post(f"{self.url}/invocations", data=body, headers=headers, timeout=30)
        except requests.exceptions.RequestException as error:
            return None, "", str(error).encode()
        return response.status_code, response.headers.get("Content-Type", ""), response.content

    def wait_for_ping(self):
        import requests

        deadline = time.monotonic() + self.suite.timeout
        delay = 0.02
        while True:
            if self.url is None:
                self.container.reload()
                ports = (self.container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT)
                if ports:
                    self.url = f"http://127.0.0.1:{ports[0]['HostPort']}"
            if self.url is not None:
                try:
                    if self.http.get(f"{self.url}/ping", timeout=5).status_code == 200:
                        return True
                except requests.exceptions.RequestException:
                    pass
            if self.exited():
                code = self.container.attrs["State"]["ExitCode"]
                self.record("serve: answers /ping", FAIL, f"serve exited with code {code} before /ping "
                            f"answered 200" + self.log_tail())
                return False
            if time.monotonic() > deadline:
                self.record("serve: answers /ping", FAIL, f"no 200 from /ping within {self.suite.timeout} s"
                            + self.log_tail())
                return False
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.25)

    def retry_until_ok(self, body, content_type, bound=30.0):
        """Seconds until the request first succeeds, or None within ``bound``."""
        start = time.monotonic()
        delay = 0.05
        while time.monotonic() - start < bound and not self.exited():
            status, _, _ = self.post(body, content_type)
            if status is not None and 200 <= status < 300:
                return time.monotonic() - start
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return None

    # ------------------------------------------------------------------ checks

    def check_readiness_and_types(self):
        """Right after the first /ping 200: every valid payload at once; returns the supported types."""
        answers = {kind: self.post(body, kind) for kind, body in self.payloads.items()}
        broken = {kind: answer for kind, answer in answers.items() if answer[0] is None or answer[0] >= 500}
        name = "serve: /ping only when /invocations works"
        if broken:
            kind, (status, _, body) = next(iter(broken.items()))
            later = self.retry_until_ok(self.payloads[kind], kind)
            if later is not None:
                self.record(name, FAIL, f"/ping answered 200 but /invocations ({kind}) answered "
                            f"{status or 'no connection'} ({_snippet(body)}) and only worked {later:.1f} s "
                            "later: answer /ping 200 only once the model is loaded")
                answers = {kind: self.post(body, kind) for kind, body in self.payloads.items()}
            else:
                self.record(name, PASS, "/invocations answered as soon as /ping did")
        else:
            self.record(name, PASS, "/invocations answered as soon as /ping did")

        supported = []
        for kind, (status, response_type, body) in answers.items():
            check = f"serve: handles {kind}"
            if status is None or status >= 500:
                self.record(check, FAIL, f"a valid {self.rows}-row payload got {status or 'no answer'}: "
                            f"{_snippet(body)}" + self.log_tail())
            elif status == 415:
                self.record(check, WARN, "not supported (415)")
            elif status >= 400:
                self.record(check, FAIL, f"a valid {self.rows}-row payload was rejected with {status}: "
                            f"{_snippet(body)}")
            else:
                supported.append(kind)
                self.record(check, *self.judge_answer(kind, response_type, body))
        self.record("serve: handles at least one of CSV, JSON, NPY", PASS if supported else FAIL,
                    ", ".join(supported) if supported else "no payload type was accepted")
        return supported

    def judge_answer(self, kind, response_type, body):
        if not body:
            return WARN, "200 with an empty body"
        answered = codecs.media_type(response_type) or "no Content-Type"
        if codecs.media_type(response_type) == codecs.CSV:
            lines = len(body.decode("utf-8", "replace").strip().splitlines())
            if lines != self.rows:
                return WARN, f"{self.rows} rows in, {lines} CSV lines out: expected one prediction per row"
            return PASS, f"200 {answered}, one prediction per row"
        return PASS, f"200 {answered}, {len(body)} bytes"

    def expect(self, name, answer, wanted, what):
        """Record ``name``: ``wanted`` passes, other 4xx warn, 2xx and 5xx (or a dropped connection) fail."""
        status, _, body = answer
        if status in wanted:
            return self.record(name, PASS, f"{status}: {_snippet(body)}")
        if status is None or status >= 500:
            return self.record(name, FAIL, f"{status or 'no answer'} for {what}: a client error must get a 4xx "
                               f"with a message, not a server error ({_snippet(body)})" + self.log_tail())
        if status >= 400:
            return self.record(name, WARN, f"{status} for {what}; SageMaker clients expect "
                               f"{'/'.join(map(str, wanted))}: {_snippet(body)}")
        return self.record(name, FAIL, f"{status} for {what}: it was accepted; answer "
                           f"{'/'.join(map(str, wanted))} with a message")

    def check_bad_requests(self, kind):
        self.expect("serve: 415 for an unknown content type", self.post(self.payloads[codecs.CSV], UNKNOWN_TYPE),
                    (415,),
                    f"{UNKNOWN_TYPE} (a CSV body)")
        self.expect("serve: 400 for a malformed body", self.post(MALFORMED[kind], kind), (400, 422),
                    f"a malformed {kind} body")
        self.expect("serve: 400 for an empty body", self.post(b"", kind), (400, 422), f"an empty {kind} body")
        wide = [row + [1.0] for row in self.suite.features]
        self.soft("serve: 400 for the wrong number of features",
                  self.post(_payloads(wide)[kind], kind), (400, 422), f"rows of {FEATURES + 1} features")
        self.soft("serve: 406 for an unknown Accept", self.post(self.payloads[kind], kind, accept=UNKNOWN_TYPE),
                  (406,), f"Accept: {UNKNOWN_TYPE}")
        big = self.oversized(kind)
        self.soft(f"serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB={PAYLOAD_LIMIT_MB}", self.post(big, kind),
                  (413,), f"a {len(big) / 2**20:.1f} MB body")

    def soft(self, name, answer, wanted, what):
        """Like :meth:`expect`, but a 2xx only warns: a model may accept it, though it is unexpected."""
        status, _, body = answer
        if status is not None and 200 <= status < 300:
            return self.record(name, WARN, f"{status} for {what}: accepted")
        return self.expect(name, answer, wanted, what)

    def oversized(self, kind):
        """The valid rows repeated until the body is half as large again as the limit."""
        repeats = int(PAYLOAD_LIMIT_MB * 2**20 * 1.5 // len(self.payloads[codecs.CSV])) + 1
        return _payloads(self.suite.features * repeats)[kind]

    def check_still_serving(self, kind):
        import requests

        name = "serve: keeps serving after bad requests"
        if self.exited():
            code = self.container.attrs["State"]["ExitCode"]
            self.record(name, FAIL, f"the server exited (code {code})" + self.log_tail())
            return
        try:
            ping = self.http.get(f"{self.url}/ping", timeout=10).status_code
        except requests.exceptions.RequestException as error:
            ping = f"no answer ({error.__class__.__name__})"
        status, _, body = self.post(self.payloads[kind], kind)
        if ping == 200 and status is not None and 200 <= status < 300:
            self.record(name, PASS, "/ping 200 and a valid request 200 afterwards")
        else:
            self.record(name, FAIL, f"afterwards /ping answered {ping}, a valid request {status or 'no answer'}"
                        + self.log_tail())

    def check_execution_parameters(self):
        import requests

        name = "serve: /execution-parameters"
        try:
            response = self.http.get(f"{self.url}/execution-parameters", timeout=10)
        except requests.exceptions.RequestException as error:
            self.record(name, FAIL, f"no answer: {error}")
            return
        if response.status_code == 404:
            self.record(name, WARN, "404: not served; batch transform falls back to its own settings")
            return
        try:
            values = response.json()
            keys = {"MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB"} & set(values)
        except ValueError:
            keys = set()
        if response.status_code == 200 and keys:
            self.record(name, PASS, ", ".join(f"{key}={values[key]}" for key in sorted(keys)))
        else:
            self.record(name, WARN if response.status_code < 500 else FAIL,
                        f"{response.status_code}: expected JSON with MaxConcurrentTransforms, BatchStrategy, "
                        f"MaxPayloadInMB ({_snippet(response.content)})")

    def check_sigterm(self):
        import requests

        name = "serve: stops on SIGTERM"
        grace = 10
        self.http.close()  # no idle keep-alive connection for the server to wait on
        started = time.monotonic()
        try:
            self.container.stop(timeout=grace)  # SIGTERM, then SIGKILL after the grace period
        except requests.exceptions.RequestException as error:
            self.record(name, FAIL, f"the engine did not confirm the stop: {error}")
            return
        self.container.reload()
        code = self.container.attrs["State"]["ExitCode"]
        took = time.monotonic() - started
        if took >= grace or code == 137:
            self.record(name, WARN, f"ignored SIGTERM and was killed after {grace} s: SageMaker stops "
                        "endpoints with SIGTERM; exit on it (exec the server so it is PID 1)")
        else:
            self.record(name, PASS, f"exited with code {code} after {took:.1f} s")


def _snippet(body, limit=80):
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
