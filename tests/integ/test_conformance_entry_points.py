"""`framework-sdk check` fails an image whose `train`/`serve` a user's requirements can replace (issue 12, defect 3).

The indifferent test image has the bad shape: /opt/venv/bin (where its `python`'s pip puts
console scripts) first on PATH, `train` and `serve` in /usr/local/bin, no ENTRYPOINT. The
fixed shapes are built on it: another PATH order, or an ENTRYPOINT that runs the commands by
their absolute path; an ENTRYPOINT that looks the command up on PATH stays replaceable.
"""
import io

import pytest

from framework_sdk import conformance

pytestmark = pytest.mark.docker

CHECKS = ("train: a requirement cannot replace `train`", "serve: a requirement cannot replace `serve`")


@pytest.fixture(scope="module")
def derived(docker_client, indifferent_image):
    """Build ``FROM`` the bad-shape image with extra Dockerfile lines; the images are removed at the end."""
    tags = []

    def build(name, lines):
        tag = f"fsdk-test-conformance-{name}:{indifferent_image.rpartition(':')[2]}"
        dockerfile = f"FROM {indifferent_image}\n{lines}\n".encode()
        docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, forcerm=True)
        tags.append(tag)
        return tag

    yield build
    for tag in tags:
        docker_client.images.remove(tag)


def replace_checks(docker_client, image):
    results = {result.name: result for result in conformance.check(image, docker_client, timeout=60)}
    assert docker_client.containers.list(all=True, filters={"label": "org.framework-sdk.check"}) == []
    return [results[name] for name in CHECKS]


def test_venv_bin_before_the_commands_on_path_fails(docker_client, indifferent_image):
    for result, command in zip(replace_checks(docker_client, indifferent_image), ("train", "serve")):
        assert result.status == conformance.FAIL, result
        assert (f"a requirement's console script named {command} would run instead of /usr/local/bin/{command}: "
                "pip puts them in /opt/venv/bin, which comes first on PATH") in result.detail


def test_the_commands_before_the_venv_bin_on_path_pass(docker_client, derived):
    image = derived("path-fixed", "ENV PATH=/usr/local/bin:/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    for result in replace_checks(docker_client, image):
        assert result.status == conformance.PASS, result
        assert "PATH finds it before /opt/venv/bin, where pip puts console scripts" in result.detail


def test_an_entrypoint_running_the_commands_by_absolute_path_passes(docker_client, derived):
    image = derived("entrypoint-absolute", 'ENTRYPOINT ["/bin/sh", "-c", "exec /usr/local/bin/\\"$0\\" \\"$@\\""]')
    for result in replace_checks(docker_client, image):
        assert result.status == conformance.PASS, result
        assert "planted in /opt/venv/bin (where pip puts a requirement's) did not run" in result.detail


def test_an_entrypoint_looking_the_command_up_on_path_fails(docker_client, derived):
    image = derived("entrypoint-path", 'ENTRYPOINT ["/bin/sh", "-c", "exec \\"$0\\" \\"$@\\""]')
    for result in replace_checks(docker_client, image):
        assert result.status == conformance.FAIL, result
        assert "ran instead of the image's" in result.detail
