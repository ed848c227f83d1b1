"""``framework-sdk train``: a local training job with live logs."""
import click

from framework_sdk.cli.foreground import _friendly_errors, _local_session, _uninterrupted, _write_lines
from framework_sdk.cli.frameworks import _estimator
from framework_sdk.cli.options import _backend_option, _channels, _code_options, _common_options, _pairs, _uri


@click.command("train")
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
