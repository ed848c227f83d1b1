"""``framework-sdk serve``: a local endpoint in the foreground until Ctrl-C."""
import threading

import click

from framework_sdk.cli.foreground import _friendly_errors, _local_session, _uninterrupted
from framework_sdk.cli.frameworks import _model
from framework_sdk.cli.options import _backend_option, _code_options, _common_options, _pairs


@click.command("serve")
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
