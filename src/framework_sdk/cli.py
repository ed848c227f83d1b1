"""The project's command line: ``framework-sdk`` (or ``fsdk``).

A small click group, one function per command; heavy modules are imported inside the
commands so ``--help`` stays instant. ``train``, ``serve``, ``predict`` and ``transform``
run local-mode jobs and endpoints (they replace the ``train_local.sh``, ``serve_local.sh``
and ``predict.sh`` of SageMaker's bring-your-own example); ``check`` tests an image
against the container contract; ``images`` builds the framework images.
"""
import contextlib
import json
import logging
import os
import re
import signal
import threading

import click

from framework_sdk import __version__
from framework_sdk.transformer import ASSEMBLE_WITH, SPLIT_TYPES, STRATEGIES

BACKENDS = ("docker", "process")
INSTANCE_TYPES = ("local", "local_gpu")
CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]+")
CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json", ".jsonl": "application/jsonlines",
                 ".npy": "application/x-npy"}
# Frameworks whose own estimator class adds framework options (Chainer: MPI); others use Framework.
FRAMEWORK_ESTIMATORS = {"chainer": ("framework_sdk.chainer", "Chainer")}


class _Commands(click.Group):
    """The command group: an error of ours (any ``SDKError``) from any command ends it with
    ``Error: <message>`` and exit status 1, never a traceback."""

    def invoke(self, ctx):
        from framework_sdk.exceptions import SDKError

        try:
            return super().invoke(ctx)
        except SDKError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="framework-sdk")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs.")
def main(verbose):
    """Train and serve framework scripts on AWS SageMaker or locally."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")


# --------------------------------------------------------------------------- images


@main.group()
def images():
    """Build and list the framework images (the folders under containers/)."""


@images.command("build")
@click.argument("names", nargs=-1)
@click.option("--no-cache", is_flag=True, help="Rebuild every layer instead of reusing the engine's cache.")
@click.option("--base-image", metavar="IMAGE",
              help="Start from this image instead of the Debian bookworm Python base (made with debootstrap "
                   "when no registry can be reached).")
@click.option("--verbose", "-v", is_flag=True, help="Show every line of the build output.")
def images_build(names, no_cache, base_image, verbose):
    """Build the images NAMES (folders under containers/: chainer, python; default: all).

    Builds are cached: unchanged inputs take seconds. Prints each image's tag, size, build
    time and cached steps. A CA bundle named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE
    is passed to pip in the build.

    \b
      framework-sdk images build chainer
    """
    from framework_sdk.images import ImageError, build

    try:
        results = build(list(names) or None, progress=lambda line: click.echo(line, err=True),
                        base_image=base_image, nocache=no_cache, verbose=verbose)
    except ImageError as error:
        raise click.ClickException(str(error)) from error
    for result in results:
        click.echo(f"{result.tag:45} {result.size_mb:8,.0f} MB  {result.seconds:7.1f} s  "
                   f"{result.cached_steps}/{result.steps} steps cached")


@images.command("list")
def images_list():
    """List the framework images the Docker engine has (tag, framework, version, Python, processor, size)."""
    from framework_sdk.images import ImageError, list_images

    try:
        found = list_images()
    except ImageError as error:
        raise click.ClickException(str(error)) from error
    if not found:
        click.echo("no framework images; build them with `framework-sdk images build`", err=True)
    for info in found:
        click.echo(f"{info.tag:45} {info.framework:8} {info.version:8} py{info.python:6} "
                   f"{info.processor:4} {info.size_mb:8,.0f} MB")


# --------------------------------------------------------------------------- helpers


def _pairs(values, option):
    """``("a=1", "b=x")`` -> ``{"a": "1", "b": "x"}``; a value without ``=`` is a usage error."""
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        pairs[name] = text
    return pairs


def _json_values(pairs):
    """``--hp`` values as JSON where they parse (``3``, ``0.5``, ``true``, ``[1, 2]``), else the text."""
    values = {}
    for name, text in pairs.items():
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    return values


def _uri(text, option, must_exist=True):
    """``s3://``/``file://`` URIs as given; a local path becomes ``file://<absolute path>``."""
    if "://" in text:
        return text
    path = os.path.abspath(os.path.expanduser(text))
    if must_exist and not os.path.exists(path):
        raise click.BadParameter(f"{text!r}: no such file or folder", param_hint=option)
    return "file://" + path


def _channels(values):
    """``--channel NAME=URI`` values; a bare URI or path is the ``training`` channel, as ``fit(uri)`` does."""
    channels = {}
    for value in values:
        name, sep, uri = value.partition("=")
        if not sep or not CHANNEL_NAME.fullmatch(name):
            name, uri = "training", value
        channels[name] = _uri(uri, "--channel")
    return channels


def _guess_content_type(path):
    """The content type of a file by its extension; of a folder, when all its files agree; else None."""
    path = str(path or "")
    if os.path.isdir(path):
        types = {_guess_content_type(os.path.join(root, name))
                 for root, _, names in os.walk(path) for name in names if not name.startswith(".")}
        return types.pop() if len(types) == 1 else None
    return CONTENT_TYPES.get(os.path.splitext(path)[1].lower())


def _is_framework(name):
    from framework_sdk import image_uris

    return name in image_uris.FRAMEWORKS


def _framework_version(framework, version):
    """``version``, or the newest one we build images for."""
    from framework_sdk import image_uris

    if version:
        return version
    key = lambda text: [int(part) if part.isdigit() else -1 for part in re.split(r"[.\-]", text)]  # noqa: E731
    return max(image_uris.supported_versions(framework), key=key)


def _framework_image(framework, version, instance_type):
    from framework_sdk import image_uris

    return image_uris.retrieve(framework, _framework_version(framework, version), instance_type=instance_type)


def _local_session(backend, **options):
    from framework_sdk.local import LocalSession

    return LocalSession(backend=backend, **options)


@contextlib.contextmanager
def _friendly_errors(what):
    """Errors of ours become ``Error: <message>`` (exit 1); Ctrl-C or SIGTERM stops ``what`` (exit 130)."""
    from framework_sdk.exceptions import SDKError

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and `kill -INT` must still stop them.
    handlers = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: interrupt}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()} if _main_thread() else {}
    try:
        yield
    except SDKError as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {what} was stopped and removed", err=True)
        raise SystemExit(130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _uninterrupted():
    """Hold off Ctrl-C and SIGTERM while cleaning up, so nothing is left half removed."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _model(image_or_framework, model_data, entry_point, source_dir, framework_version, env, session,
           instance_type):
    """The model to serve: a framework's image or the given one, with inference code when given."""
    from framework_sdk.model import FrameworkModel, Model

    image = image_or_framework
    if _is_framework(image_or_framework):
        image = _framework_image(image_or_framework, framework_version, instance_type)
    model_data = _uri(model_data, "--model-data")
    if entry_point:
        return FrameworkModel(model_data, image, None, entry_point, source_dir=source_dir, env=env,
                              sagemaker_session=session)
    if source_dir:
        raise click.UsageError("--source-dir needs --entry-point: the inference script inside it")
    return Model(image, model_data, env=env, sagemaker_session=session)


def _estimator(image_or_framework, entry_point, source_dir, framework_version, hyperparameters, session,
               **arguments):
    """A framework estimator (script mode), an image with a script, or a plain image."""
    from framework_sdk.estimator import Estimator, Framework

    if _is_framework(image_or_framework):
        if not entry_point:
            raise click.UsageError(f"{image_or_framework} is a framework: give your training script with "
                                   f"--entry-point (and its folder with --source-dir)")
        version = _framework_version(image_or_framework, framework_version)
        if image_or_framework in FRAMEWORK_ESTIMATORS:
            import importlib

            module, name = FRAMEWORK_ESTIMATORS[image_or_framework]
            cls = getattr(importlib.import_module(module), name)
            return cls(entry_point, source_dir=source_dir, framework_version=version,
                       hyperparameters=_json_values(hyperparameters), sagemaker_session=session, **arguments)
        image = _framework_image(image_or_framework, version, arguments["instance_type"])
        return Framework(entry_point, source_dir, hyperparameters=_json_values(hyperparameters), image_uri=image,
                         framework_version=version, sagemaker_session=session, **arguments)
    if entry_point:  # an image with our toolkit (or SageMaker's) running a script
        return Framework(entry_point, source_dir, hyperparameters=_json_values(hyperparameters),
                         image_uri=image_or_framework, sagemaker_session=session, **arguments)
    if source_dir:
        raise click.UsageError("--source-dir needs --entry-point: the training script inside it")
    # A bring-your-own image reads hyperparameters.json itself: the values go as typed.
    return Estimator(image_or_framework, hyperparameters=hyperparameters, sagemaker_session=session, **arguments)


def _write_lines(stream):
    """A ``write``/``flush`` object for the session's log printer that goes to ``stream`` via click."""

    class Lines:
        @staticmethod
        def write(text):
            click.echo(text, nl=False, err=stream == "stderr")

        @staticmethod
        def flush():
            pass

    return Lines()


# Options shared by the local-mode commands.
def _backend_option(function):
    return click.option("--backend", type=click.Choice(BACKENDS),
                        help="Run in Docker containers or in plain processes (default: "
                             "$FRAMEWORK_SDK_LOCAL_BACKEND, the user config, then docker when an engine "
                             "answers).")(function)


def _code_options(role):
    need = {"training": "Required for a framework; optional for an image whose `train` needs none.",
            "processing": "Required for a framework; without it an image runs its own ENTRYPOINT (or --command)."
            }.get(role, "Optional: without it the image serves on its own (a framework image: code/ in the model, "
                        "or its defaults).")

    def decorate(function):
        function = click.option("--framework-version", metavar="VERSION",
                                help="Version of the framework named by IMAGE_OR_FRAMEWORK (default: the "
                                     "newest supported).")(function)
        function = click.option("--source-dir", type=click.Path(exists=True, file_okay=False),
                                help=f"Folder holding the {role} script and what it imports (and a "
                                     f"requirements.txt to install).")(function)
        function = click.option("--entry-point", metavar="SCRIPT",
                                help=f"The {role} script (relative to --source-dir when given). {need}")(function)
        return function

    return decorate


def _common_options(function):
    function = click.option("--env", "environment", multiple=True, metavar="NAME=VALUE",
                            help="An environment variable for the container (repeatable).")(function)
    function = click.option("--instance-type", type=click.Choice(INSTANCE_TYPES), default="local",
                            show_default=True, help="local_gpu asks the engine for GPUs.")(function)
    function = click.option("--instance-count", type=click.IntRange(1), default=1, show_default=True,
                            help="Number of hosts (containers or processes).")(function)
    return function


# --------------------------------------------------------------------------- train


@main.command("train")
@click.argument("image_or_framework")
@_code_options("training")
@click.option("--channel", "channels", multiple=True, metavar="NAME=URI",
              help="An input channel: a file:// or s3:// URI, or a local path (repeatable). A bare URI is "
                   "the 'training' channel.")
@click.option("--hp", "hyperparameters", multiple=True, metavar="NAME=VALUE",
              help="A hyperparameter (repeatable). Framework scripts get VALUE JSON-decoded where it parses "
                   "(3, 0.5, true, [1,2]) and as a string otherwise; an image's own program gets the text.")
@_common_options
@_backend_option
@click.option("--output-path", metavar="URI",
              help="Where model.tar.gz goes: file://, s3:// or a local folder (default: "
                   "~/.local/share/framework-sdk/local-output/).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME=REGEX",
              help="A metric read from the log lines (SageMaker's metric_definitions; the first group is the "
                   "value), summarised at the end (repeatable).")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="PNG",
              help="Write the --metric series as a PNG here (needs matplotlib).")
@click.option("--job-name", help="The training job's name (default: the image's name and a timestamp).")
@click.option("--max-run", type=click.IntRange(1), default=24 * 60 * 60, show_default=True,
              help="Seconds after which the job is stopped.")
def train(image_or_framework, entry_point, source_dir, framework_version, channels, hyperparameters,
          instance_count, instance_type, environment, backend, output_path, metrics, plot, job_name, max_run):
    """Run a local training job of IMAGE_OR_FRAMEWORK, with live logs; print where model.tar.gz went.

    IMAGE_OR_FRAMEWORK is a framework (chainer, python: script mode, --entry-point required)
    or an image (bring your own: its `train` program runs; with --entry-point, the script
    runs through the toolkit in the image). The logs go to stderr, the model's URI to stdout:

    \b
      framework-sdk train decision-trees:latest --channel training=data/iris --hp max_leaf_nodes=5
      framework-sdk train chainer --entry-point train.py --source-dir src \\
          --channel train=file:///data/mnist --hp epochs=3 --instance-count 2
    """
    hps = _pairs(hyperparameters, "--hp")
    env = _pairs(environment, "--env")
    metric_definitions = [{"Name": name, "Regex": regex} for name, regex in _pairs(metrics, "--metric").items()]
    inputs = _channels(channels)
    if output_path:
        output_path = _uri(output_path, "--output-path", must_exist=False)
    with _friendly_errors("the training job"):
        session = _local_session(backend)
        try:
            estimator = _estimator(image_or_framework, entry_point, source_dir, framework_version, hps, session,
                                   instance_count=instance_count, instance_type=instance_type,
                                   output_path=output_path, environment=env, max_run=max_run,
                                   metric_definitions=metric_definitions or None)
            estimator.fit(inputs or None, wait=False, job_name=job_name)
            name = estimator.latest_training_job.name
            click.echo(f"training job {name}: {instance_count} host(s) of {estimator.training_image_uri()} on "
                       f"the {session.backend_name} backend", err=True)
            session.logs_for_job(name, wait=True, out=_write_lines("stderr"))
            model_data = estimator.model_data
            if metric_definitions:
                _report_metrics(estimator.training_job_analytics, plot, name)
        finally:
            with _uninterrupted():
                session.close()
    click.echo(model_data)


def _report_metrics(analytics, plot, job_name):
    for metric in analytics.names:
        points = analytics.series(metric)
        summary = f"last {points[-1].value:g} ({len(points)} values)" if points else "no values logged"
        click.echo(f"metric {metric}: {summary}", err=True)
    if plot:
        try:
            analytics.plot(plot, title=job_name)
        except ImportError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"metrics plot: {plot}", err=True)


# --------------------------------------------------------------------------- process


def _processing_paths(values, option, kind, names):
    """``--input``/``--output`` values ``NAME=URI`` or ``/opt/ml/processing/...=URI`` as ``(name, container path,
    URI)``; a bare NAME or path (an output) has no URI: its files go to the job's default place."""
    found = []
    for value in values:
        where, sep, uri = value.partition("=")
        if not where or (not sep and option == "--input"):
            raise click.BadParameter(f"{value!r} is not NAME=URI (or /opt/ml/processing/...=URI)", param_hint=option)
        if where.startswith("/"):
            name = where.rstrip("/").rsplit("/", 1)[-1]
            path = where
        else:
            name, path = where, f"/opt/ml/processing/{kind}/{where}"
        found.append((name, path, _uri(uri, option, must_exist=option == "--input") if sep else None))
    unknown = sorted(set(names) - {name for name, _, _ in found})
    if unknown:
        raise click.BadParameter(f"{unknown} name no {kind} given with {option}", param_hint=option)
    return found


def _processor(image_or_framework, entry_point, source_dir, framework_version, command, **arguments):
    """A framework's processor, an image with a script (and its folder), or an image's own entrypoint."""
    import shlex

    from framework_sdk.estimator import Framework
    from framework_sdk.processing import FrameworkProcessor, Processor, ScriptProcessor

    words = shlex.split(command) if command else None
    if _is_framework(image_or_framework):
        if not entry_point:
            raise click.UsageError(f"{image_or_framework} is a framework: give your processing script with "
                                   f"--entry-point (and its folder with --source-dir)")
        version = _framework_version(image_or_framework, framework_version)
        if image_or_framework in FRAMEWORK_ESTIMATORS:
            import importlib

            module, name = FRAMEWORK_ESTIMATORS[image_or_framework]
            estimator_cls = getattr(importlib.import_module(module), name)
            return FrameworkProcessor(estimator_cls, version, command=words, **arguments)
        image = _framework_image(image_or_framework, version, arguments["instance_type"])
        return FrameworkProcessor(Framework, version, image_uri=image, command=words, **arguments)
    if source_dir:
        if not entry_point:
            raise click.UsageError("--source-dir needs --entry-point: the processing script inside it")
        return FrameworkProcessor(Framework, image_uri=image_or_framework, command=words or ["python3"], **arguments)
    if entry_point:
        return ScriptProcessor(image_uri=image_or_framework, command=words or ["python3"], **arguments)
    return Processor(image_uri=image_or_framework, entrypoint=words, **arguments)


@main.command("process")
@click.argument("image_or_framework")
@_code_options("processing")
@click.option("--command", metavar="COMMAND",
              help="What runs the script (default: python3 in an image, python in a framework); without "
                   "--entry-point, the command the image runs instead of its ENTRYPOINT.")
@click.option("--input", "inputs", multiple=True, metavar="NAME=URI",
              help="An input: a file:// or s3:// URI, or a local path, at /opt/ml/processing/input/NAME (or "
                   "give the container path: /opt/ml/processing/data=URI) (repeatable).")
@click.option("--output", "outputs", multiple=True, metavar="NAME=URI",
              help="An output: the files under /opt/ml/processing/output/NAME (or a container path) go to URI, "
                   "a file:// or s3:// URI or a local folder; a bare NAME goes to the default place "
                   "(~/.local/share/framework-sdk/local-output/<job>/output/NAME) (repeatable).")
@click.option("--shard", "sharded", multiple=True, metavar="NAME",
              help="Give each instance its share of input NAME's files (ShardedByS3Key) (repeatable).")
@click.option("--continuous", multiple=True, metavar="NAME",
              help="Upload output NAME's files while the job runs (S3UploadMode Continuous) (repeatable).")
@_common_options
@_backend_option
@click.option("--job-name", help="The processing job's name (default: the image's name and a timestamp).")
@click.option("--max-run", type=click.IntRange(1), default=24 * 60 * 60, show_default=True,
              help="Seconds after which the job is stopped.")
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def process(image_or_framework, entry_point, source_dir, framework_version, command, inputs, outputs, sharded,
            continuous, instance_count, instance_type, environment, backend, job_name, max_run, arguments):
    """Run a local processing job of IMAGE_OR_FRAMEWORK with live logs; print where each output went.

    IMAGE_OR_FRAMEWORK is a framework (chainer, python: --entry-point required, run with
    --source-dir and its requirements.txt as a FrameworkProcessor does) or an image (with
    --entry-point: the script run by --command, as a ScriptProcessor does; without: the image's
    ENTRYPOINT). ARGUMENTS (after --) go to the script. The logs go to stderr, each output's
    URI to stdout:

    \b
      framework-sdk process python --entry-point preprocess.py --instance-count 2 \\
          --input raw=data/raw --shard raw --output train=out/train --output test=out/test \\
          -- --input /opt/ml/processing/input/raw
    """
    from framework_sdk.processing import ProcessingInput, ProcessingOutput

    env = _pairs(environment, "--env")
    processing_inputs = [ProcessingInput(uri, path, name, s3_data_distribution_type="ShardedByS3Key"
                                         if name in sharded else "FullyReplicated")
                         for name, path, uri in _processing_paths(inputs, "--input", "input", sharded)]
    processing_outputs = [ProcessingOutput(path, uri, name, s3_upload_mode="Continuous" if name in continuous
                                           else "EndOfJob")
                          for name, path, uri in _processing_paths(outputs, "--output", "output", continuous)]
    with _friendly_errors("the processing job"):
        session = _local_session(backend)
        try:
            processor = _processor(image_or_framework, entry_point, source_dir, framework_version, command,
                                   instance_count=instance_count, instance_type=instance_type, env=env or None,
                                   max_runtime_in_seconds=max_run, sagemaker_session=session)
            run = dict(inputs=processing_inputs, outputs=processing_outputs, arguments=list(arguments) or None,
                       wait=False, job_name=job_name)
            if entry_point:
                run["code"] = entry_point
            if source_dir:
                run["source_dir"] = source_dir
            processor.run(**run)
            job = processor.latest_job
            click.echo(f"processing job {job.name}: {instance_count} host(s) of {processor.image_uri} on the "
                       f"{session.backend_name} backend", err=True)
            session.logs_for_processing_job(job.name, wait=True, out=_write_lines("stderr"))
        finally:
            with _uninterrupted():
                session.close()
    for output in job.outputs:
        click.echo(f"{output.output_name}\t{output.destination}")


# --------------------------------------------------------------------------- serve


@main.command("serve")
@click.argument("image_or_framework")
@click.option("--model-data", required=True, metavar="URI",
              help="The model.tar.gz (file://, s3:// or a local path) that `train` printed.")
@_code_options("inference")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the first instance on 127.0.0.1 (the next instances take the following ports); "
                   "0 picks free ports.")
@_common_options
@_backend_option
@click.option("--name", "endpoint_name", metavar="NAME",
              help="The endpoint's name, for `predict --endpoint NAME` (default: the image's name).")
@click.option("--startup-timeout", type=click.IntRange(1), default=120, show_default=True,
              help="Seconds the model server may take to answer /ping.")
def serve(image_or_framework, model_data, entry_point, source_dir, framework_version, port, instance_count,
          instance_type, environment, backend, endpoint_name, startup_timeout):
    """Serve a model locally in the foreground until Ctrl-C (or SIGTERM), then remove everything.

    Prints the endpoint's URL and name; the server's log lines follow on stderr. From
    another shell: `framework-sdk predict --endpoint NAME FILE` (or the URL).

    \b
      framework-sdk serve decision-trees:latest --model-data file:///tmp/models/job/output/model.tar.gz
      framework-sdk serve chainer --model-data model.tar.gz --entry-point inference.py --port 0
    """
    from framework_sdk import naming
    from framework_sdk.local import registry, runs

    env = _pairs(environment, "--env")
    with _friendly_errors("the endpoint"):
        taken = [number for number in range(port, port + instance_count) if not runs.port_is_free(number)] \
            if port else []
        if taken:
            raise click.ClickException(f"port {taken[0]} is already in use on this machine: stop what uses it, "
                                       f"pick another with --port, or use --port 0 for free ports")
        session = _local_session(backend, serving_port=port or None, startup_timeout=startup_timeout)
        try:
            model = _model(image_or_framework, model_data, entry_point, source_dir, framework_version, env,
                           session, instance_type)
            if endpoint_name:
                naming.validate(endpoint_name, "--name")
            else:
                endpoint_name = naming.base_name_from_image(model.serving_image_uri(instance_type))
                if registry.lookup(endpoint_name) is not None:  # that name is served elsewhere already
                    endpoint_name = naming.name_from_base(endpoint_name)
            click.echo(f"starting endpoint {endpoint_name} ({instance_count} instance(s) on the "
                       f"{session.backend_name} backend); waiting for /ping ...", err=True)
            model.deploy(instance_count, instance_type, endpoint_name=endpoint_name)
            endpoint = session.local_endpoint(endpoint_name)
            _follow(endpoint.logs)
            click.echo(f"endpoint {endpoint_name} is serving at {', '.join(endpoint.urls)}")
            click.echo(f"  predict: framework-sdk predict --endpoint {endpoint_name} --content-type text/csv FILE"
                       f"   (Ctrl-C stops it)")
            try:
                exited = _wait_for_exit(endpoint.hosts)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the normal way to stop a foreground server
                exited = None
                click.echo(f"\nstopping endpoint {endpoint_name} ...", err=True)
        finally:
            with _uninterrupted():
                session.close()
    if exited is None:
        click.echo(f"endpoint {endpoint_name} stopped", err=True)
        return
    raise click.ClickException(f"the model server {exited.name} {exited.describe_exit()}; endpoint "
                               f"{endpoint_name} was removed. Last log lines:\n" + "\n".join(exited.tail))


def _follow(log_book):
    """Echo the endpoint's log lines (from the first) to stderr until it stops."""

    def echo():
        for line in log_book.follow():
            click.echo(line, err=True)

    threading.Thread(target=echo, name="serve-logs", daemon=True).start()


def _wait_for_exit(hosts):
    """Block until a host exits (returned) or Ctrl-C / SIGTERM raises KeyboardInterrupt."""
    exited = threading.Event()
    first = []

    def watch(host):
        host.exited.wait()
        first.append(host)
        exited.set()

    for host in hosts:
        threading.Thread(target=watch, args=(host,), name=f"watch-{host.name}", daemon=True).start()
    exited.wait()
    return first[0]


# --------------------------------------------------------------------------- predict


@main.command("predict")
@click.option("--endpoint", required=True, metavar="URL_OR_NAME",
              help="http://host:port of a server (POST to /invocations), or the name of a local endpoint "
                   "running on this machine (`framework-sdk endpoints` lists them).")
@click.option("--content-type", metavar="TYPE",
              help="Content-Type of the request (default: from FILE's extension - .csv, .json, .jsonl, .npy - "
                   "else text/csv).")
@click.option("--accept", metavar="TYPE", help="The response type to ask for (Accept).")
@click.option("--custom-attributes", metavar="TEXT", help="X-Amzn-SageMaker-Custom-Attributes to send.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=60, show_default=True,
              help="Seconds to wait for the answer.")
@click.argument("file", type=click.File("rb"))
def predict(endpoint, content_type, accept, custom_attributes, timeout, file):
    """Send FILE (or - for stdin) to an endpoint once; write the response body to stdout.

    A 4xx/5xx answer prints its status and message and exits 1.

    \b
      framework-sdk predict --endpoint decision-trees --content-type text/csv payload.csv
      cat payload.csv | framework-sdk predict --endpoint http://127.0.0.1:8080 -
    """
    import requests

    url = _invocations_url(endpoint)
    headers = {"Content-Type": content_type or _guess_content_type(getattr(file, "name", "")) or "text/csv"}
    if accept:
        headers["Accept"] = accept
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    try:
        response = requests.post(url, data=file.read(), headers=headers, timeout=timeout)
    except requests.exceptions.RequestException as error:
        raise click.ClickException(f"no answer from {url} ({type(error).__name__}: {error}); is the endpoint "
                                   f"running (framework-sdk serve)?") from None
    if response.status_code >= 400:
        raise click.ClickException(f"{url} answered {response.status_code} {response.reason}: "
                                   f"{response.text.strip()}")
    click.echo(response.content, nl=False)  # bytes go to stdout as they came


def _invocations_url(endpoint):
    if endpoint.startswith(("http://", "https://")):
        url = endpoint.rstrip("/")
        return url if url.endswith("/invocations") else url + "/invocations"
    from framework_sdk.local import registry

    entry = registry.lookup(endpoint)
    if entry is None:
        running = ", ".join(entry["name"] for entry in registry.running()) or "none"
        raise click.ClickException(f"no local endpoint named {endpoint!r} runs on this machine (running: "
                                   f"{running}); start it with `framework-sdk serve`, or pass a URL "
                                   f"(http://host:port)")
    return entry["urls"][0] + "/invocations"


@main.command("endpoints")
def endpoints():
    """List the local endpoints running on this machine (any process, CLI or SDK)."""
    from framework_sdk.local import registry

    found = registry.running()
    if not found:
        click.echo("no local endpoints run; start one with `framework-sdk serve`", err=True)
    for entry in found:
        click.echo(f"{entry['name']:40} {' '.join(entry['urls']):28} pid {entry['pid']}  {entry.get('image', '')}")


# --------------------------------------------------------------------------- transform


@main.command("transform")
@click.argument("image_or_framework")
@click.option("--model-data", required=True, metavar="URI", help="The model.tar.gz (file://, s3:// or a path).")
@click.option("--input", "input_uri", required=True, metavar="URI",
              help="A file or folder to transform (file://, s3:// or a local path).")
@click.option("--output", "output_uri", metavar="URI",
              help="Where <input file>.out goes (default: ~/.local/share/framework-sdk/local-output/<job>).")
@click.option("--content-type", metavar="TYPE",
              help="Content type of the records (default: from the input's extension, if it has one).")
@click.option("--split-type", type=click.Choice(SPLIT_TYPES), help="How to split the input into records.")
@click.option("--strategy", type=click.Choice(STRATEGIES),
              help="One record per request, or as many as fit in --max-payload (default: the server's "
                   "/execution-parameters, else MultiRecord).")
@click.option("--assemble-with", type=click.Choice(ASSEMBLE_WITH),
              help="How answers are joined in the output (default: Line with --split-type Line).")
@click.option("--accept", metavar="TYPE", help="The output type to ask for.")
@_code_options("inference")
@_common_options
@_backend_option
@click.option("--max-payload", type=click.IntRange(0, 100), metavar="MB", help="Largest request, in MB.")
@click.option("--max-concurrent-transforms", type=click.IntRange(1), metavar="N",
              help="Requests in flight at once.")
@click.option("--job-name", help="The transform job's name (default: the model's name and a timestamp).")
def transform(image_or_framework, model_data, input_uri, output_uri, content_type, split_type, strategy,
              assemble_with, accept, entry_point, source_dir, framework_version, instance_count, instance_type,
              environment, backend, max_payload, max_concurrent_transforms, job_name):
    """Run a local batch transform of --input with a model; print where the output went.

    \b
      framework-sdk transform decision-trees:latest --model-data file:///tmp/models/job/output/model.tar.gz \\
          --input data/batch --output file:///tmp/predictions --content-type text/csv --split-type Line
    """
    env = _pairs(environment, "--env")
    input_uri = _uri(input_uri, "--input")
    if output_uri:
        output_uri = _uri(output_uri, "--output", must_exist=False)
    if content_type is None and input_uri.startswith("file://"):
        content_type = _guess_content_type(input_uri[len("file://"):])
    if assemble_with is None and split_type == "Line":
        assemble_with = "Line"
    with _friendly_errors("the transform job"):
        session = _local_session(backend)
        try:
            model = _model(image_or_framework, model_data, entry_point, source_dir, framework_version, env,
                           session, instance_type)
            transformer = model.transformer(instance_count, instance_type, strategy=strategy,
                                            assemble_with=assemble_with, output_path=output_uri, accept=accept,
                                            max_concurrent_transforms=max_concurrent_transforms,
                                            max_payload=max_payload)
            from framework_sdk import naming

            job_name = job_name or naming.name_from_base(naming.base_name_from_image(model.image_uri))
            transformer.transform(input_uri, content_type=content_type, split_type=split_type, job_name=job_name,
                                  wait=False)
            name = transformer.latest_transform_job.name
            click.echo(f"transform job {name}: {instance_count} instance(s) of {model.serving_image_uri()} on the "
                       f"{session.backend_name} backend", err=True)
            session.logs_for_transform_job(name, wait=True, out=_write_lines("stderr"))
        finally:
            with _uninterrupted():
                session.close()
    click.echo(transformer.output_path)


# --------------------------------------------------------------------------- check


@main.command("check")
@click.argument("image")
@click.option("--channel", default="training", show_default=True,
              help="Training channel the generated CSV goes to (/opt/ml/input/data/CHANNEL).")
@click.option("--hp", "hyperparameters", multiple=True, metavar="NAME=VALUE",
              help="A hyperparameter written to hyperparameters.json (repeatable).")
@click.option("--env", "environment", multiple=True, metavar="NAME=VALUE",
              help="An environment variable for every container (repeatable).")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Serve this model folder instead of the one the training check writes.")
@click.option("--timeout", default=300, show_default=True, type=click.IntRange(1),
              help="Seconds each container run, and the wait for /ping, may take.")
@click.option("--entry-point", metavar="SCRIPT",
              help="For a framework image: your training script (relative to --source-dir), run by the image's "
                   "toolkit; it also serves (model_fn) unless --serving-entry-point names another.")
@click.option("--source-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of the --entry-point script, mounted as /opt/ml/code.")
@click.option("--serving-entry-point", metavar="SCRIPT",
              help="The inference script (model_fn, ...) in --source-dir, when not the --entry-point.")
def check(image, channel, hyperparameters, environment, model_dir, timeout, entry_point, source_dir,
          serving_entry_point):
    """Check that IMAGE honours the SageMaker container contract.

    Runs `train` against generated /opt/ml trees (valid, empty and garbage channels) and
    `serve` on the model it wrote: /ping readiness, CSV/JSON/NPY, 415/400/406/413 answers,
    serving on after bad requests, /execution-parameters, SIGTERM; and makes sure a user's
    requirements cannot replace `train` or `serve`. A bad-input check passes only when the
    image handled the valid input (otherwise it is skipped, with the reason). Prints a table
    of passes, warnings, failures and skips; exits 1 when a check fails.

    A framework image (framework-sdk-python, framework-sdk-chainer) runs your script: pass
    --entry-point (and --source-dir). Without it the check says so and runs the framework's
    built-in script. The generated data is CSV, label first, then four numeric features
    (three classes); the script reads the 'training' channel.

    \b
      framework-sdk check decision-trees:latest
      framework-sdk check framework-sdk-chainer:7.8.1-cpu-py3
      framework-sdk check framework-sdk-python:3.11-cpu-py3 --entry-point centroids.py --source-dir src
    """
    from framework_sdk.conformance import ConformanceError, format_table, passed
    from framework_sdk.conformance import check as run_check

    pairs = {}
    for option, values in (("--hp", hyperparameters), ("--env", environment)):
        pairs[option] = {}
        for value in values:
            name, sep, text = value.partition("=")
            if not sep or not name:
                raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
            pairs[option][name] = text
    click.echo(f"checking {image} against the SageMaker container contract ...", err=True)
    try:
        results = run_check(image, channel=channel, hyperparameters=pairs["--hp"], environment=pairs["--env"],
                            model_dir=model_dir, timeout=timeout, entry_point=entry_point, source_dir=source_dir,
                            serving_entry_point=serving_entry_point,
                            progress=lambda result: click.echo(f"  {result.status:4}  {result.name}", err=True),
                            notice=lambda text: click.echo(text, err=True))
    except ConformanceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(format_table(results))
    if not passed(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
