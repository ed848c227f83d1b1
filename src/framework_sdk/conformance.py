"""Conformance check: does an image honour the SageMaker container contract?

``check(image)`` runs the image through docker-py as SageMaker would, against temporary
``/opt/ml`` trees it makes, and returns one :class:`CheckResult` per check:

* ``train`` with config files (``hyperparameters.json``, ``resourceconfig.json``,
  ``inputdataconfig.json``) and a small numeric CSV channel (label first, like the
  scikit bring-your-own example): exits 0 and writes ``/opt/ml/model``; with an empty and
  with a garbage channel: exits non-zero and explains why in ``/opt/ml/output/failure``.
* ``train`` and ``serve`` stay the image's own: a console script of the same name that a
  user's requirements install (pip puts them in the scripts folder of the image's
  ``python``) must not run instead (:func:`_judge_path_order` states the condition).
* ``serve`` on the trained model: answers ``/ping`` only once ``/invocations`` works;
  handles CSV, JSON and NPY where it claims to (415 is reported as "not supported", a
  warning); answers 415 for an unknown content type, 400 for a malformed or empty body or
  the wrong number of features, 406 for an unknown ``Accept``, 413 over
  ``SAGEMAKER_MAX_PAYLOAD_IN_MB``; keeps serving after all of them; serves
  ``/execution-parameters``; stops on SIGTERM.

A check that infers good behaviour from a failure passes only against a baseline of the
same run, so an image that fails on everything collects no passes: a bad-input training run
passes only when the valid run exited 0 and the failure differs from the valid run's (exit
code and ``output/failure``); a 4xx passes only when a valid request sent right after it
succeeds; serving checks run only while the server is up. Otherwise the check is skipped
with the reason ("training fails on valid input too: fix that first").

Framework images (``FRAMEWORK_SDK_FRAMEWORK`` set, as in ours) run a user's script: give
``entry_point`` (and ``source_dir``) and the code is laid out at ``/opt/ml/code`` with the
``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters for ``train``, and
``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY`` for ``serve`` (the same script
holds ``model_fn``, or name another with ``serving_entry_point``). The script reads the
CSV of the ``training`` channel (label first, then four features, three classes). Without
``entry_point`` the check says so (``notice``) before running anything and uses the
framework's built-in script (its module's ``CHECK_SCRIPT``, see
:mod:`framework_sdk.container.frameworks`), or stops with the command to run when the
framework brings none.

A result is ``pass``, ``warn`` (allowed, but SageMaker users would expect otherwise, or
an optional feature is missing), ``fail`` (breaks the contract) or ``skip`` (cannot be
judged: an earlier step failed, the detail says which). :func:`format_table` prints them;
:func:`passed` is True when nothing failed. Containers are named ``fsdk-check-<id>-...`` and
removed, and the temporary trees deleted, whatever happens.
"""
import dataclasses
import json
import logging
import os
import posixpath
import random
import shlex
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from . import codecs
from .exceptions import ConfigurationError

log = logging.getLogger(__name__)

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
CONTAINER_PORT = "8080/tcp"
PAYLOAD_LIMIT_MB = 1
UNKNOWN_TYPE = "application/x-fsdk-conformance-unknown"
FEATURES = 4
CLASSES = 3
ROWS = 60
CODE_DIR = "/opt/ml/code"
FRAMEWORK_ENV = "FRAMEWORK_SDK_FRAMEWORK"  # what the toolkit in a framework image reads
FRAMEWORK_LABEL = "org.framework-sdk.framework"  # what `framework-sdk images build` labels
FIX_VALID_FIRST = "training fails on valid input too: fix that first"
PLANTED_MARKER = "fsdk-check: a planted console script ran"
PLANTED_WAIT = 15  # seconds a run with a planted console script may take to show whether it ran

TRAIN_VALID = "train: exits 0 on valid input"
TRAIN_MODEL = "train: writes the model to /opt/ml/model"
SERVE_PING = "serve: answers /ping"
SERVE_READY = "serve: /ping only when /invocations works"
SERVE_ANY_TYPE = "serve: handles at least one of CSV, JSON, NPY"
SERVE_STILL_SERVING = "serve: keeps serving after bad requests"
SERVE_CHECKS = (
    SERVE_PING, SERVE_READY, f"serve: handles {codecs.CSV}", f"serve: handles {codecs.JSON}",
    f"serve: handles {codecs.NPY}", SERVE_ANY_TYPE, "serve: 415 for an unknown content type",
    "serve: 400 for a malformed body", "serve: 400 for an empty body", "serve: 400 for the wrong number of features",
    "serve: 406 for an unknown Accept", f"serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB={PAYLOAD_LIMIT_MB}",
    SERVE_STILL_SERVING, "serve: /execution-parameters", "serve: stops on SIGTERM")


class ConformanceError(ConfigurationError):
    """The check cannot run at all (no engine, no such image, no script); the message says what to do."""


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


# ------------------------------------------------------------------ judgements


@dataclasses.dataclass(frozen=True)
class _TrainingOutcome:
    """What one ``train`` run showed: its exit code (None: never ended) and ``/opt/ml/output/failure``."""

    exit_code: Optional[int]
    failure: Optional[str] = None
    start_error: Optional[str] = None  # the engine could not start the command at all

    @property
    def succeeded(self):
        return self.exit_code == 0

    @property
    def reason(self):
        """The first and last lines of ``output/failure`` (a summary, then the error a traceback ends with)."""
        if not self.failure:
            return None
        lines = [line.strip() for line in self.failure.splitlines() if line.strip()]
        first, last = lines[0][:120], lines[-1][:120]
        return first if len(lines) == 1 else f"{first} ... {last}"

    def describe(self, timeout):
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.exit_code is None:
            return f"still running after {timeout} s; killed"
        return f"exit code {self.exit_code}" + (f", output/failure {self.reason!r}" if self.failure else "")


def _judge_bad_training(what, valid, bad, timeout):
    """The two checks of one bad-input run (``what``: "an empty channel"), judged against the valid run.

    Exiting 0 on bad input fails whatever the valid run did. Any other verdict needs the
    valid run to have exited 0: a failure then differs from it (exit code, and an
    ``output/failure`` text the valid run did not leave); without that the failure proves
    nothing and both checks are skipped.
    """
    fails, explains = f"train: fails on {what}", f"train: writes output/failure on {what}"
    if bad.exit_code == 0:
        wrote = f", though it wrote {bad.reason!r} to output/failure" if bad.failure else " and no output/failure"
        return [CheckResult(fails, FAIL, f"exit code 0 on {what}: SageMaker would mark the job Completed with a "
                                          "useless model; exit non-zero on bad input"),
                CheckResult(explains, FAIL, f"exit code 0{wrote}: SageMaker reports no FailureReason for a "
                                            "Completed job; write the reason there, then exit non-zero")]
    if not valid.succeeded:
        reason = f"{FIX_VALID_FIRST} ({valid.describe(timeout)})"
        return [CheckResult(fails, SKIP, reason), CheckResult(explains, SKIP, reason)]
    if bad.exit_code is None:
        return [CheckResult(fails, FAIL, f"{bad.describe(timeout)} on {what}, while valid data took exit code 0: "
                                         "fail fast on bad input"),
                CheckResult(explains, SKIP, "the run never ended, so nothing was reported")]
    if bad.start_error:
        return [CheckResult(fails, FAIL, bad.describe(timeout)), CheckResult(explains, SKIP, "the run never started")]
    verdict = CheckResult(fails, PASS, f"exit code {bad.exit_code} on {what} while exiting 0 on valid data")
    if not bad.failure:
        return [verdict, CheckResult(explains, FAIL, "no /opt/ml/output/failure: SageMaker's FailureReason would be "
                                                     "empty; write the reason there before exiting")]
    if bad.failure == valid.failure:
        return [verdict, CheckResult(explains, FAIL, f"{bad.reason!r} is what the successful run left too: it does "
                                                     f"not explain {what}; write this failure's own reason")]
    return [verdict, CheckResult(explains, PASS, f"{bad.reason!r} (exit code {bad.exit_code}), a reason the "
                                                 "successful run did not give")]


@dataclasses.dataclass(frozen=True)
class _EntryProbe:
    """Where the image finds its commands: PATH, ``command -v`` of each, and pip's scripts folder."""

    path: tuple
    found: dict
    scripts: Optional[str]  # sysconfig's "scripts" folder of the image's python; None without one

    @classmethod
    def parse(cls, text):
        values = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
        path = tuple(posixpath.normpath(folder) for folder in values.get("path", "").split(":") if folder)
        scripts = values.get("scripts") or None
        return cls(path, {name: values.get(name, "") for name in ("train", "serve")},
                   posixpath.normpath(scripts) if scripts else None)


_PROBE_SCRIPT = ('echo "path=$PATH"; echo "train=$(command -v train)"; echo "serve=$(command -v serve)"; '
                 'python=$(command -v python || command -v python3) && "$python" -c '
                 '\'import sysconfig; print("scripts=" + sysconfig.get_path("scripts"))\'')


def _replace_check(command):
    return f"{command}: a requirement cannot replace `{command}`"


def _judge_path_order(command, probe):
    """Can a console script that pip installs replace ``command``, in an image with no ENTRYPOINT?

    Docker then looks ``command`` up on PATH, taking the first folder that holds it. A
    requirement's console script named like it goes to pip's scripts folder S (of the
    image's ``python``, which installs requirements); it wins when S is on PATH at or before
    the folder holding ``command`` (at: pip overwrites the file). That is a failure.
    """
    name = _replace_check(command)
    if probe.scripts is None:
        return CheckResult(name, SKIP, "no python or python3 on the image's PATH to tell where pip puts console "
                                       "scripts")
    found = probe.found.get(command)
    if not found:
        return CheckResult(name, FAIL, f"no `{command}` on PATH ({':'.join(probe.path)}): `docker run IMAGE "
                                       f"{command}` cannot start")
    folder = posixpath.dirname(posixpath.normpath(found))
    order = list(probe.path)
    holder = order.index(folder) if folder in order else len(order)
    if probe.scripts not in order or order.index(probe.scripts) > holder:
        return CheckResult(name, PASS, f"`{command}` is {found}; PATH finds it before {probe.scripts}, where pip "
                                       "puts console scripts")
    where = "holds it itself: pip would overwrite it" if probe.scripts == folder else "comes first on PATH"
    return CheckResult(name, FAIL, f"a requirement's console script named {command} would run instead of {found}: "
                                   f"pip puts them in {probe.scripts}, which {where} ({':'.join(probe.path)}), and "
                                   f"no ENTRYPOINT bypasses PATH; put {folder} before {probe.scripts} on PATH, or "
                                   "start the command from an absolute ENTRYPOINT")


def _judge_planted(command, probe, entrypoint, ran):
    """The verdict on an image with an ENTRYPOINT, from a run with a ``command`` planted in pip's scripts folder."""
    name = _replace_check(command)
    shown = json.dumps(entrypoint)
    if ran:
        return CheckResult(name, FAIL, f"a console script named {command} in {probe.scripts} (where pip puts a "
                                       f"requirement's) ran instead of the image's: ENTRYPOINT {shown} looks "
                                       f"`{command}` up on PATH ({':'.join(probe.path)}); run the command by its "
                                       f"absolute path, or put its folder before {probe.scripts} on PATH")
    return CheckResult(name, PASS, f"a console script named {command} planted in {probe.scripts} (where pip puts "
                                   f"a requirement's) did not run: ENTRYPOINT {shown} does not look it up on PATH")


# ------------------------------------------------------------------ frameworks


def _framework_of(image_attrs):
    """The framework an image's toolkit runs (``FRAMEWORK_SDK_FRAMEWORK``, else our build label), or None."""
    config = image_attrs.get("Config") or {}
    environment = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    return (environment.get(FRAMEWORK_ENV) or (config.get("Labels") or {}).get(FRAMEWORK_LABEL) or "").strip() or None


def _own_script_command(image):
    return (f"framework-sdk check {shlex.quote(image)} --entry-point train.py --source-dir src   "
            "(src/train.py: your training script, whose model_fn also serves)")


def _builtin_script(image, framework):
    """``(file name, source)`` of the framework's built-in check script; stops with the command to run without one."""
    from .container import frameworks

    module = frameworks.load(framework)
    script = frameworks.check_script(module) if module is not None else None
    if script is None:
        why = (f"the {framework} framework brings no built-in script to check it with" if module is not None else
               f"this framework-sdk does not know the {framework} framework (install its package to use its "
               "built-in script)")
        raise ConformanceError(f"{image} is a {framework} framework image: its train and serve run a user's "
                               f"script, none was given (--entry-point), and {why}. Run:\n  "
                               + _own_script_command(image))
    return script


# ---------------------------------------------------------------------- engine


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
        from .packaging import resolve_entry_point

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
          timeout=300, progress=None, entry_point=None, source_dir=None, serving_entry_point=None, notice=None):
    """Run the conformance suite against ``image``; returns the list of :class:`CheckResult`.

    ``channel`` names the training channel the generated CSV goes to; ``hyperparameters``
    and ``environment`` are passed to every run. ``model_dir`` serves that folder instead of
    training first. ``timeout`` bounds each container run and each wait for ``/ping``.
    ``progress`` is called with each result as it is decided. ``entry_point`` (in
    ``source_dir``) is the user script a framework image runs for ``train`` and, unless
    ``serving_entry_point`` names another file of ``source_dir``, for ``serve``; without it a
    framework image runs its framework's built-in script, and ``notice`` (default: a logged
    warning) is called with a sentence saying so before anything runs.
    """
    if (source_dir or serving_entry_point) and not entry_point:
        raise ConformanceError("source_dir and serving_entry_point go with entry_point: the training script")
    client = _docker_client(client)
    import docker

    try:
        attrs = client.images.get(image).attrs
    except docker.errors.ImageNotFound:
        raise ConformanceError(f"the Docker engine has no image {image!r}: {_how_to_build(image)}") from None
    framework = _framework_of(attrs)
    builtin = _builtin_script(image, framework) if framework and not entry_point else None
    if builtin:
        (notice or log.warning)(
            f"{image} is a {framework} framework image: its train and serve run a user's script, and none was "
            f"given (--entry-point), so the check runs the {framework} framework's built-in script {builtin[0]}. "
            f"To check yours: {_own_script_command(image)}")
    suite = _Suite(client, image, channel, dict(hyperparameters or {}), dict(environment or {}), timeout,
                   progress, (attrs.get("Config") or {}).get("Entrypoint"))
    try:
        if entry_point:
            suite.use_code(entry_point, source_dir, serving_entry_point)
        elif builtin:
            suite.use_program(suite.workspace.add_script(*builtin))
        trained, why_not = suite.train()
        suite.serve(model_dir or trained, why_not)
    finally:
        suite.workspace.close()
    return suite.results


class _Suite:
    def __init__(self, client, image, channel, hyperparameters, environment, timeout, progress, entrypoint):
        self.client, self.image, self.channel = client, image, channel
        self.hyperparameters, self.environment, self.timeout = hyperparameters, environment, timeout
        self.progress = progress or (lambda result: None)
        self.entrypoint = entrypoint or None
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
        self.use_program(program, serving)

    def use_program(self, program, serving=None):
        self.hyperparameters.update(sagemaker_program=program, sagemaker_submit_directory=CODE_DIR)
        self.serving_environment = {"SAGEMAKER_PROGRAM": serving or program, "SAGEMAKER_SUBMIT_DIRECTORY": CODE_DIR}

    serving_environment: dict[str, str] = {}

    def record(self, name, status, detail=""):
        result = CheckResult(name, status, detail)
        self.results.append(result)
        self.progress(result)
        return result

    def add(self, result):
        return self.record(result.name, result.status, result.detail)

    def skip_undecided(self, names, reason):
        decided = {result.name for result in self.results}
        for name in names:
            if name not in decided:
                self.record(name, SKIP, reason)

    # ------------------------------------------------------------ entry points

    def probe_entry_points(self):
        """The two "a requirement cannot replace" results (run beside the training runs)."""
        run = _Run(self.client, self.image, ["-c", _PROBE_SCRIPT], f"{self.prefix}-probe", {}, self.environment,
                   min(self.timeout, PLANTED_WAIT), entrypoint=["/bin/sh"])
        probe = _EntryProbe.parse(run.log)
        if run.exit_code is None or not probe.path:
            why = run.start_error or f"exit code {run.exit_code}{run.log_tail()}"
            return [CheckResult(_replace_check(command), SKIP, f"cannot look into the image with /bin/sh ({why})")
                    for command in ("train", "serve")]
        if not self.entrypoint:
            return [_judge_path_order(command, probe) for command in ("train", "serve")]
        if probe.scripts is None:
            return [_judge_path_order(command, probe) for command in ("train", "serve")]  # says why it skips
        return [_judge_planted(command, probe, self.entrypoint, self.planted_ran(command, probe.scripts))
                for command in ("train", "serve")]

    def planted_ran(self, command, scripts):
        """Run ``command`` as the check does, with a console script of that name planted in ``scripts``."""
        planted = self.workspace.add_planted(command)
        run = _Run(self.client, self.image, [command], f"{self.prefix}-planted-{command}",
                   {planted: {"bind": posixpath.join(scripts, command), "mode": "ro"}}, self.environment,
                   min(self.timeout, PLANTED_WAIT))
        return PLANTED_MARKER in run.log

    # ------------------------------------------------------------------ train

    def _train(self, kind, channel_files):
        tree = self.workspace.ml_tree(kind, self.channel, self.hyperparameters, channel_files)
        environment = {"TRAINING_JOB_NAME": f"{self.prefix}-{kind}", **self.environment}
        run = _Run(self.client, self.image, ["train"], f"{self.prefix}-train-{kind}",
                   {tree: {"bind": "/opt/ml", "mode": "rw"}}, environment, self.timeout)
        outcome = _TrainingOutcome(run.exit_code, _read(os.path.join(tree, "output", "failure")), run.start_error)
        return tree, run, outcome

    def train(self):
        """The three training runs side by side; returns ``(model folder, None)`` or ``(None, why there is none)``."""
        good = _csv([[label, *row] for label, row in zip(self.labels, self.features)])
        garbage = bytes(random.Random(1).getrandbits(8) for _ in range(512)) + b"\n,,;;\n"
        runs = {"valid": {"data.csv": good}, "empty": {}, "garbage": {"data.csv": garbage}}
        with ThreadPoolExecutor(len(runs) + 1) as pool:
            entry_points = pool.submit(self.probe_entry_points)
            futures = {kind: pool.submit(self._train, kind, files) for kind, files in runs.items()}
            outcome = {kind: future.result() for kind, future in futures.items()}
            replaceable = entry_points.result()

        tree, run, valid = outcome["valid"]
        model_dir = os.path.join(tree, "model")
        if valid.succeeded:
            self.record(TRAIN_VALID, PASS, f"exit code 0 on config files and a {ROWS}-row CSV in the "
                        f"{self.channel!r} channel")
        else:
            self.record(TRAIN_VALID, FAIL, valid.describe(self.timeout) + run.log_tail())
        wrote_model = _non_empty(model_dir)
        if not valid.succeeded:
            self.record(TRAIN_MODEL, SKIP, "training fails on valid input: fix that first (SageMaker keeps no model "
                        "of a failed job)")
        elif wrote_model:
            written = ", ".join(sorted(os.listdir(model_dir)))[:120]
            self.record(TRAIN_MODEL, PASS, f"the successful run wrote {written}")
        else:
            self.record(TRAIN_MODEL, FAIL, "/opt/ml/model is empty after the successful run: save the model there")
        if valid.succeeded and valid.failure:
            self.record("train: no output/failure after success", WARN, f"a successful job left: {valid.failure[:120]}")

        for kind, what in (("empty", "an empty channel"), ("garbage", "a garbage channel")):
            for result in _judge_bad_training(what, valid, outcome[kind][2], self.timeout):
                self.add(result)
        for result in replaceable:
            self.add(result)
        if not valid.succeeded:
            return None, (f"training failed on valid input ({valid.describe(self.timeout)}): fix that first, or give "
                          "model_dir (--model-dir) to check serving alone")
        if not wrote_model:
            return None, "training wrote no model: fix that first, or give model_dir (--model-dir) to check serving"
        return model_dir, None

    # ------------------------------------------------------------------ serve

    def serve(self, model_dir, why_not=None):
        if not model_dir:
            self.skip_undecided(SERVE_CHECKS, why_not)
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


def _ok(status):
    return status is not None and 200 <= status < 300


class _Serving:
    """The checks against one running ``serve`` container."""

    def __init__(self, suite, container, http):
        self.suite, self.container, self.http = suite, container, http
        self.record = suite.record
        self.payloads = _payloads(suite.features)
        self.rows = len(suite.features)
        self.url = None
        self.kind = None  # a content type the server accepts: every control request uses it
        self.broken = None  # why later request checks cannot be judged (valid requests stopped working)

    def run(self):
        started = time.monotonic()
        if not self.wait_for_ping():
            return self.skip_rest(f"serve did not start (see {SERVE_PING!r}): fix that first")
        self.record(SERVE_PING, PASS, f"200 after {time.monotonic() - started:.1f} s")
        supported = self.check_readiness_and_types()
        if not supported:
            return self.skip_rest(f"no valid payload was answered (see {SERVE_ANY_TYPE!r}): fix that first")
        self.kind = supported[0]
        self.check_bad_requests()
        self.check_still_serving()
        if self.exited():
            return self.skip_rest(f"the server exited (code {self.exit_code()}) during the checks above: fix that "
                                  "first")
        self.check_execution_parameters()
        self.check_sigterm()

    def skip_rest(self, reason):
        self.suite.skip_undecided(SERVE_CHECKS, reason)

    # ---------------------------------------------------------------- helpers

    def exited(self):
        self.container.reload()
        return self.container.status in ("exited", "dead")

    def exit_code(self):
        return self.container.attrs["State"]["ExitCode"]

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

    def post_each(self):
        """One valid request per content type; stops early when the server dies (the rest are missing)."""
        answers = {}
        for kind, body in self.payloads.items():
            answers[kind] = self.post(body, kind)
            if answers[kind][0] is None and self.exited():
                break
        return answers

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
                self.record(SERVE_PING, FAIL, f"serve exited with code {self.exit_code()} before /ping answered 200"
                            + self.log_tail())
                return False
            if time.monotonic() > deadline:
                self.record(SERVE_PING, FAIL, f"no 200 from /ping within {self.suite.timeout} s" + self.log_tail())
                return False
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.25)

    def retry_until_ok(self, body, content_type, bound=30.0):
        """Seconds until the request first succeeds, or None within ``bound``."""
        start = time.monotonic()
        delay = 0.05
        while time.monotonic() - start < bound and not self.exited():
            status, _, _ = self.post(body, content_type)
            if _ok(status):
                return time.monotonic() - start
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return None

    # ------------------------------------------------------------------ checks

    def check_readiness_and_types(self):
        """Right after the first /ping 200: every valid payload at once; returns the supported types."""
        answers = self.post_each()
        accepted = [kind for kind, answer in answers.items() if _ok(answer[0])]
        if accepted:
            self.record(SERVE_READY, PASS, f"a valid {accepted[0]} request got {answers[accepted[0]][0]} at the "
                        "first try after /ping's first 200")
        else:
            answers = self.judge_late_readiness(answers)

        supported = []
        for kind in self.payloads:
            check = f"serve: handles {kind}"
            if kind not in answers:
                self.record(check, SKIP, "the server exited on an earlier request (see above): fix that first")
                continue
            status, response_type, body = answers[kind]
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
        if supported:
            self.record(SERVE_ANY_TYPE, PASS, "answered " + ", ".join(supported))
        elif len(answers) < len(self.payloads):
            self.record(SERVE_ANY_TYPE, SKIP, "the server exited before every type was tried: fix that first")
        else:
            self.record(SERVE_ANY_TYPE, FAIL, "no payload type was accepted")
        return supported

    def judge_late_readiness(self, answers):
        """No valid request worked at once: readiness fails when one works later, else it cannot be judged."""
        errors = {kind: answer for kind, answer in answers.items() if answer[0] is None or answer[0] >= 500}
        if not errors:
            self.record(SERVE_READY, SKIP, "every valid payload got a 4xx, so readiness cannot be judged: fix "
                        "that first")
            return answers
        kind, (status, _, body) = next(iter(errors.items()))
        later = self.retry_until_ok(self.payloads[kind], kind)
        if later is None:
            self.record(SERVE_READY, SKIP, f"no valid request succeeded, then or within 30 s ({kind}: "
                        f"{status or 'no answer'}), so readiness cannot be judged: fix that first")
            return answers
        self.record(SERVE_READY, FAIL, f"/ping answered 200 but /invocations ({kind}) answered "
                    f"{status or 'no connection'} ({_snippet(body)}) and only worked {later:.1f} s "
                    "later: answer /ping 200 only once the model is loaded")
        return self.post_each()

    def judge_answer(self, kind, response_type, body):
        if not body:
            return WARN, "200 with an empty body"
        answered = codecs.media_type(response_type) or "no Content-Type"
        if codecs.media_type(response_type) == codecs.CSV:
            lines = len(body.decode("utf-8", "replace").strip().splitlines())
            if lines != self.rows:
                return WARN, f"{self.rows} rows in, {lines} CSV lines out: expected one prediction per row"
            return PASS, f"200 {answered} for a valid {self.rows}-row payload, one prediction per row"
        return PASS, f"200 {answered} for a valid {self.rows}-row payload, {len(body)} bytes"

    def bad_request(self, name, body, content_type, wanted, what, accept=None, soft=False):
        """Send a bad request, then a valid one; record ``name`` (see :meth:`judge_bad_request`)."""
        if self.broken:
            return self.record(name, SKIP, self.broken)
        answer = self.post(body, content_type, accept)
        control = self.post(self.payloads[self.kind], self.kind)[0]
        if not _ok(control):
            self.broken = (f"a valid request after {what} got {control or 'no answer'}: the server stopped working "
                           f"(see {SERVE_STILL_SERVING!r}): fix that first")
        return self.judge_bad_request(name, answer, control, wanted, what, soft)

    def judge_bad_request(self, name, answer, control, wanted, what, soft):
        """``wanted`` passes when a valid request right after succeeds; another 4xx warns; 2xx fails (warns when
        ``soft``: a model may accept it); 5xx or a dropped connection fails; a 4xx with a failing valid request
        after it proves nothing and is skipped."""
        status, _, body = answer
        expected = "/".join(map(str, wanted))
        if _ok(status):
            if soft:
                return self.record(name, WARN, f"{status} for {what}: accepted")
            return self.record(name, FAIL, f"{status} for {what}: it was accepted; answer {expected} with a message")
        if status is None or status >= 500:
            return self.record(name, FAIL, f"{status or 'no answer'} for {what}: a client error must get a 4xx "
                               f"with a message, not a server error ({_snippet(body)})" + self.log_tail())
        if not _ok(control):
            return self.record(name, SKIP, f"{status} for {what}, but a valid request right after got "
                               f"{control or 'no answer'} too: the {status} is not about the input; fix that first")
        if status in wanted:
            return self.record(name, PASS, f"{status} for {what} ({_snippet(body)}), while a valid request right "
                               f"after got {control}")
        return self.record(name, WARN, f"{status} for {what}; SageMaker clients expect {expected}: {_snippet(body)}")

    def check_bad_requests(self):
        kind = self.kind
        self.bad_request("serve: 415 for an unknown content type", self.payloads[codecs.CSV], UNKNOWN_TYPE, (415,),
                         f"{UNKNOWN_TYPE} (a CSV body)")
        self.bad_request("serve: 400 for a malformed body", MALFORMED[kind], kind, (400, 422),
                         f"a malformed {kind} body")
        self.bad_request("serve: 400 for an empty body", b"", kind, (400, 422), f"an empty {kind} body")
        wide = [row + [1.0] for row in self.suite.features]
        self.bad_request("serve: 400 for the wrong number of features", _payloads(wide)[kind], kind, (400, 422),
                         f"rows of {FEATURES + 1} features", soft=True)
        self.bad_request("serve: 406 for an unknown Accept", self.payloads[kind], kind, (406,),
                         f"Accept: {UNKNOWN_TYPE}", accept=UNKNOWN_TYPE, soft=True)
        big = self.oversized(kind)
        self.bad_request(f"serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB={PAYLOAD_LIMIT_MB}", big, kind, (413,),
                         f"a {len(big) / 2**20:.1f} MB body", soft=True)

    def oversized(self, kind):
        """The valid rows repeated until the body is half as large again as the limit."""
        repeats = int(PAYLOAD_LIMIT_MB * 2**20 * 1.5 // len(self.payloads[codecs.CSV])) + 1
        return _payloads(self.suite.features * repeats)[kind]

    def check_still_serving(self):
        import requests

        if self.exited():
            self.record(SERVE_STILL_SERVING, FAIL, f"the server exited (code {self.exit_code()})" + self.log_tail())
            return
        try:
            ping = self.http.get(f"{self.url}/ping", timeout=10).status_code
        except requests.exceptions.RequestException as error:
            ping = f"no answer ({error.__class__.__name__})"
        status, _, body = self.post(self.payloads[self.kind], self.kind)
        if ping == 200 and _ok(status):
            self.record(SERVE_STILL_SERVING, PASS, f"/ping 200 and a valid request {status} after the bad requests")
        else:
            self.record(SERVE_STILL_SERVING, FAIL, f"afterwards /ping answered {ping}, a valid request "
                        f"{status or 'no answer'}" + self.log_tail())

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
            self.record(name, PASS, "200 with " + ", ".join(f"{key}={values[key]}" for key in sorted(keys)))
        else:
            self.record(name, WARN if response.status_code < 500 else FAIL,
                        f"{response.status_code}: expected JSON with MaxConcurrentTransforms, BatchStrategy, "
                        f"MaxPayloadInMB ({_snippet(response.content)})")

    def check_sigterm(self):
        import requests

        name = "serve: stops on SIGTERM"
        grace = 10
        self.http.close()  # no idle keep-alive connection for the server to wait on
        if self.exited():  # a crash is no answer to SIGTERM
            self.record(name, SKIP, f"the server had exited already (code {self.exit_code()}): fix that first")
            return
        started = time.monotonic()
        try:
            self.container.stop(timeout=grace)  # SIGTERM, then SIGKILL after the grace period
        except requests.exceptions.RequestException as error:
            self.record(name, FAIL, f"the engine did not confirm the stop: {error}")
            return
        self.container.reload()
        code = self.exit_code()
        took = time.monotonic() - started
        if took >= grace or code == 137:
            self.record(name, WARN, f"ignored SIGTERM and was killed after {grace} s: SageMaker stops "
                        "endpoints with SIGTERM; exit on it (exec the server so it is PID 1)")
        else:
            self.record(name, PASS, f"a running server exited with code {code} {took:.1f} s after SIGTERM")


def _snippet(body, limit=80):
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
