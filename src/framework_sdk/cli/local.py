"""``framework-sdk local cleanup``: remove what killed local-mode Pythons left behind."""
import click


@click.group("local")
def local():
    """Local mode housekeeping."""


@local.command("cleanup")
def cleanup():
    """Remove what killed local-mode Pythons left behind (containers, networks, processes, temporary trees).

    Only what belongs to processes that are gone: a live session's jobs and endpoints are never touched.
    """
    from framework_sdk.local import cleanup as orphans

    removed = orphans.remove_orphans(_docker_client_if_any())
    for line in removed:
        click.echo(f"removed {line}")
    if not removed:
        click.echo("nothing left behind by killed local-mode sessions", err=True)


def _docker_client_if_any():
    """A Docker client when an engine answers, else None (the process backend's leftovers need none)."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:
        return None
