"""``framework-sdk endpoints``: the local endpoints running on this machine."""
import click


@click.command("endpoints")
def endpoints():
    """List the local endpoints running on this machine (any process, CLI or SDK)."""
    from framework_sdk.local import registry

    found = registry.running()
    if not found:
        click.echo("no local endpoints run; start one with `framework-sdk serve`", err=True)
    for entry in found:
        click.echo(f"{entry['name']:40} {' '.join(entry['urls']):28} pid {entry['pid']}  {entry.get('image', '')}")
