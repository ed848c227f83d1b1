"""The project's command line: ``framework-sdk`` (or ``fsdk``).

A small click group, one function per command; heavy modules are imported inside the
commands so ``--help`` stays instant.
"""
import logging

import click

from framework_sdk import __version__


@click.group()
@click.version_option(__version__, prog_name="framework-sdk")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs.")
def main(verbose):
    """Train and serve framework scripts on AWS SageMaker or locally."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")


@main.group()
def images():
    """Build and list the framework images (containers/)."""


@images.command("build")
@click.argument("names", nargs=-1)
@click.option("--no-cache", is_flag=True, help="Rebuild every layer instead of reusing the engine's cache.")
@click.option("--base-image", help="Start from this image instead of the Debian bookworm Python base.")
@click.option("--verbose", "-v", is_flag=True, help="Show every line of the build output.")
def images_build(names, no_cache, base_image, verbose):
    """Build the images NAMES (folders under containers/; default: all) and report their sizes."""
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
    """List the framework images the Docker engine has."""
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
def check(image, channel, hyperparameters, environment, model_dir, timeout):
    """Check that IMAGE honours the SageMaker container contract.

    Runs `train` against generated /opt/ml trees (valid, empty and garbage channels) and
    `serve` on the model it wrote: /ping readiness, CSV/JSON/NPY, 415/400/406/413 answers,
    serving on after bad requests, /execution-parameters, SIGTERM. Prints a table of
    passes, warnings and failures; exits 1 when a check fails.
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
                            model_dir=model_dir, timeout=timeout,
                            progress=lambda result: click.echo(f"  {result.status:4}  {result.name}", err=True))
    except ConformanceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(format_table(results))
    if not passed(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
