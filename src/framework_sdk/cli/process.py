"""``framework-sdk process``: a local processing job with live logs."""
import click

from framework_sdk.cli.foreground import _friendly_errors, _local_session, _uninterrupted, _write_lines
from framework_sdk.cli.frameworks import _framework_image, _framework_version, _is_framework, _registered_class
from framework_sdk.cli.options import _backend_option, _code_options, _common_options, _pairs, _uri


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
        estimator_cls = _registered_class(image_or_framework, "ESTIMATOR")
        if estimator_cls is not None:  # the framework's own estimator class names its image
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


@click.command("process")
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
