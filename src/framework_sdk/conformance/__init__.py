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
import logging
import os
import posixpath
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

from framework_sdk.conformance.data import CLASSES, FEATURES, MALFORMED, ROWS, _csv, sample_data
from framework_sdk.conformance.engine import _docker_client, _non_empty, _read, _Run, _Workspace
from framework_sdk.conformance.entry_points import (_PROBE_SCRIPT, PLANTED_MARKER, PLANTED_WAIT, _EntryProbe,
                                                    _judge_path_order, _judge_planted, _replace_check)
from framework_sdk.conformance.frameworks import (FRAMEWORK_ENV, FRAMEWORK_LABEL, _builtin_script, _framework_of,
                                                  _own_script_command)
from framework_sdk.conformance.results import (FAIL, PASS, SKIP, WARN, CheckResult, ConformanceError, format_table,
                                               passed)
from framework_sdk.conformance.serving import (CONTAINER_PORT, PAYLOAD_LIMIT_MB, SERVE_ANY_TYPE, SERVE_CHECKS,
                                               SERVE_PING, SERVE_READY, SERVE_STILL_SERVING, UNKNOWN_TYPE, _Serving)
from framework_sdk.conformance.training import (FIX_VALID_FIRST, TRAIN_MODEL, TRAIN_VALID, _judge_bad_training,
                                                _TrainingOutcome)
from framework_sdk.exceptions import ConfigurationError

__all__ = ["CLASSES", "CODE_DIR", "CONTAINER_PORT", "FAIL", "FEATURES", "FIX_VALID_FIRST", "FRAMEWORK_ENV",
           "FRAMEWORK_LABEL", "MALFORMED", "PASS", "PAYLOAD_LIMIT_MB", "PLANTED_MARKER", "PLANTED_WAIT", "ROWS",
           "SERVE_ANY_TYPE", "SERVE_CHECKS", "SERVE_PING", "SERVE_READY", "SERVE_STILL_SERVING", "SKIP",
           "TRAIN_MODEL", "TRAIN_VALID", "UNKNOWN_TYPE", "WARN", "CheckResult", "ConformanceError", "check",
           "format_table", "passed", "sample_data"]

log = logging.getLogger(__name__)

CODE_DIR = "/opt/ml/code"


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
        from framework_sdk.packaging import resolve_entry_point

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
