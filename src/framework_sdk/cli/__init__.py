"""The project's command line: ``framework-sdk`` (or ``fsdk``).

A small click group, one module per command (group); heavy modules are imported inside the
commands so ``--help`` stays instant. ``train``, ``serve``, ``predict`` and ``transform``
run local-mode jobs and endpoints (they replace the ``train_local.sh``, ``serve_local.sh``
and ``predict.sh`` of SageMaker's bring-your-own example); ``check`` tests an image
against the container contract; ``images`` builds the framework images; ``api`` serves the
SageMaker API in front of local mode. The local-mode
commands share :mod:`.options` (option parsing and decorators), :mod:`.frameworks` (the
estimator or model an IMAGE_OR_FRAMEWORK names) and :mod:`.foreground` (a job run in the
terminal: friendly errors, Ctrl-C, logs).
"""
import logging

import click

from framework_sdk import __version__
from framework_sdk.cli import api, check, endpoints, images, local, predict, process, serve, train, transform


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


for command in (images.images, train.train, process.process, serve.serve, predict.predict, endpoints.endpoints,
                transform.transform, check.check, local.local, api.api):
    main.add_command(command)
