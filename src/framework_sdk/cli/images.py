"""``framework-sdk images``: build, list and push the framework images."""
import click


@click.group()
def images():
    """Build, list and push the framework images (the definitions shipped in framework_sdk.images)."""


@images.command("build")
@click.argument("names", nargs=-1)
@click.option("--no-cache", is_flag=True, help="Rebuild every layer instead of reusing the engine's cache.")
@click.option("--base-image", metavar="IMAGE",
              help="Start from this image instead of the Debian bookworm Python base (made with debootstrap "
                   "when no registry can be reached).")
@click.option("--verbose", "-v", is_flag=True, help="Show every line of the build output.")
def images_build(names, no_cache, base_image, verbose):
    """Build the images NAMES (chainer, python; default: all).

    Builds are cached: unchanged inputs take seconds. Prints each image's tag, size, build
    time and cached steps. A CA bundle named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE
    is passed to pip in the build.

    \b
      framework-sdk images build chainer
    """
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
    """List the framework images the Docker engine has (tag, framework, version, Python, processor, size)."""
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


@images.command("push")
@click.argument("names", nargs=-1, required=True)
@click.option("--region", help="The AWS region whose ECR registry to push to (default: the configured one).")
@click.option("--account", help="The AWS account whose ECR registry to push to (default: the credentials' own).")
@click.option("--repository-prefix", metavar="PREFIX", help="Push to PREFIX/<repository> instead of <repository>.")
@click.option("--registry", metavar="HOST[:PORT]",
              help="Push to this registry instead of ECR (no AWS call; credentials from `docker login HOST`).")
def images_push(names, region, account, repository_prefix, registry):
    """Push the images NAMES (chainer, python, or any local image by its tag) to ECR, or to --registry.

    To ECR: creates each repository that is missing, gets push credentials from ECR (no
    `docker login`, nothing written to your Docker configuration) and pushes under the URI
    an estimator asks SageMaker to run. Prints each pushed URI and digest; layers the
    registry has already are not uploaded again.

    \b
      framework-sdk images push chainer
      framework-sdk images push chainer --registry 127.0.0.1:5000
    """
    from framework_sdk.images import push

    for result in push(list(names), region=region, account=account, repository_prefix=repository_prefix,
                       registry=registry):
        click.echo(str(result))
