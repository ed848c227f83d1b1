"""Shared test fixtures: the Docker engine gate and temporary /opt/ml trees."""
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def docker_client():
    """A docker-py client for the engine; skips outside CI when none answers, fails under CI=true."""
    try:
        import docker

        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as error:  # any failure to reach the engine
        message = f"no Docker engine answers ({error}); run scripts/setup_test_host.py as root to start one"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture(scope="session")
def base_image(docker_client):
    """The local Debian bookworm base image (made with debootstrap when no registry answers)."""
    from framework_sdk.images import ensure_base_image

    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def chainer_image(docker_client, base_image):
    """Tag of the chainer framework image, built once per test run (layer cache reused)."""
    from framework_sdk.images import build

    return build(["chainer"], client=docker_client, base_image=base_image)[0].tag


@pytest.fixture(scope="session")
def python_image(docker_client, base_image):
    """Tag of the generic python (script mode) image, built once per test run (layer cache reused)."""
    from framework_sdk.images import build

    return build(["python"], client=docker_client, base_image=base_image)[0].tag
