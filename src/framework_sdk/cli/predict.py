"""``framework-sdk predict``: one request to an endpoint, by URL or by local endpoint name."""
import click

from framework_sdk.cli.options import _guess_content_type


@click.command("predict")
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
