"""``framework-sdk api``: the SageMaker API (and S3, Logs, STS) over HTTP in front of local mode."""
from pathlib import Path

import click

from framework_sdk.cli.options import _backend_option


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The interface to listen on; beyond loopback, requests must be signed (--access-key).")
@click.option("--port", type=click.IntRange(0, 65535), default=8111, show_default=True,
              help="The port to listen on (0: a free one; the URL printed says which).")
@click.option("--state-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Where jobs, models, endpoints, logs and S3 objects are kept "
                   "(default: $XDG_STATE_HOME/framework-sdk/api).")
@click.option("--allow-path", "allow_paths", multiple=True, type=click.Path(exists=True, file_okay=False),
              metavar="DIR", help="A folder requests may name in file:// locations (repeatable).")
@click.option("--access-key", metavar="KEY", help="Require requests signed (SigV4) with this access key ...")
@click.option("--secret-key", metavar="SECRET", help="... and this secret key (required beyond loopback).")
@click.option("--credentials-file", type=click.Path(exists=True, dir_okay=False), metavar="JSON",
              help="The key pair as a JSON file with AccessKeyId and SecretAccessKey (instead of the two options).")
@_backend_option
def api(host, port, state_dir, allow_paths, access_key, secret_key, credentials_file, backend):
    """Serve the SageMaker API (and S3, Logs, STS) in front of local mode.

    Prints the endpoint URL once it answers; then point any AWS client at it, with any access
    key, secret and region:

      AWS_ENDPOINT_URL=<url> aws sagemaker list-training-jobs
    """
    from framework_sdk.api.server import read_credentials, serve
    from framework_sdk.api.store import default_state_dir

    if bool(access_key) != bool(secret_key):
        raise click.UsageError("give both --access-key and --secret-key, or neither")
    if credentials_file and access_key:
        raise click.UsageError("give --credentials-file or --access-key/--secret-key, not both")
    credentials = read_credentials(Path(credentials_file)) if credentials_file else (
        (access_key, secret_key) if access_key else None)

    def announce(url):
        click.echo(url)
        click.echo(f"export AWS_ENDPOINT_URL={url}  # any access key, secret and region", err=True)

    serve(host, port, Path(state_dir) if state_dir else default_state_dir(), backend,
          tuple(Path(path) for path in allow_paths), announce, credentials)
