"""``framework-sdk check``: an image against the SageMaker container contract."""
import click


@click.command("check")
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
