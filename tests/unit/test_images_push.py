"""`images push` without an engine: ECR's requests checked by botocore's Stubber (against ECR's service
model), the reading of the engine's push events, the results' wording and the errors' advice.

The pushes themselves, to a real registry, are in tests/integ/test_images_push_registry.py.
"""
import base64
import importlib
import io
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from framework_sdk import image_uris
from framework_sdk.cli import main
from framework_sdk.exceptions import AWSError, ConfigurationError
from framework_sdk.images import PushResult, Registry, ecr_registry, image_specs, push
from framework_sdk.images.ecr import ECRAccessDenied, PUSH_PERMISSIONS
from framework_sdk.images.push import LocalImage, PushProgress, _advice, _build_hint, check_same_ecr_registry

ACCOUNT = "123456789012"
REGION = "us-west-2"  # the aws_stubs session's
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REPOSITORY = "framework-sdk-chainer"


def _caller(aws_stubs):
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev",
                                                       "UserId": "AIDEXAMPLE"}, {})


def _token(aws_stubs, password="secret", region=REGION):
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    aws_stubs.ecr.add_response("get_authorization_token", {"authorizationData": [{
        "authorizationToken": token, "expiresAt": datetime(2030, 1, 1, tzinfo=timezone.utc),
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{region}.amazonaws.com"}]}, {})


def _describe_missing(aws_stubs, repository=REPOSITORY):
    aws_stubs.ecr.add_client_error(
        "describe_repositories", "RepositoryNotFoundException",
        f"The repository with name '{repository}' does not exist in the registry with id '{ACCOUNT}'", 400,
        expected_params={"registryId": ACCOUNT, "repositoryNames": [repository]})


def _repository(name=REPOSITORY, mutability="MUTABLE"):
    return {"repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}", "registryId": ACCOUNT,
            "repositoryName": name, "repositoryUri": f"{HOST}/{name}", "imageTagMutability": mutability,
            "imageScanningConfiguration": {"scanOnPush": False}}


def test_a_missing_repository_is_created_mutable_without_scan_on_push_and_the_token_decoded(aws_stubs):
    _caller(aws_stubs)
    _describe_missing(aws_stubs)
    aws_stubs.ecr.add_response("create_repository", {"repository": _repository()}, {
        "registryId": ACCOUNT, "repositoryName": REPOSITORY, "imageTagMutability": "MUTABLE",
        "imageScanningConfiguration": {"scanOnPush": False}})
    _token(aws_stubs, password="eyJwYXlsb2FkIjoi:with-colon")
    registry = ecr_registry(aws_stubs.session, [REPOSITORY])
    aws_stubs.ecr.assert_no_pending_responses()
    assert registry == Registry(HOST, {"username": "AWS", "password": "eyJwYXlsb2FkIjoi:with-colon"})
    assert registry.image_uri(REPOSITORY, "7.8.1-cpu-py3") == image_uris.retrieve(
        "chainer", "7.8.1", instance_type="ml.c5.xlarge", region=REGION, account=ACCOUNT)


def test_an_existing_repository_is_left_as_it_is(aws_stubs):
    aws_stubs.ecr.add_response("describe_repositories", {"repositories": [_repository()]},
                               {"registryId": "210987654321", "repositoryNames": [REPOSITORY]})
    _token(aws_stubs)  # no CreateRepository in between: the Stubber fails on any call not queued
    registry = ecr_registry(aws_stubs.session, [REPOSITORY, REPOSITORY], account="210987654321")
    assert registry.host == f"210987654321.dkr.ecr.{REGION}.amazonaws.com"
    aws_stubs.ecr.assert_no_pending_responses()


def test_a_repository_made_meanwhile_by_someone_else_is_fine(aws_stubs):
    _describe_missing(aws_stubs)
    aws_stubs.ecr.add_client_error("create_repository", "RepositoryAlreadyExistsException", "exists", 400)
    _token(aws_stubs)
    assert ecr_registry(aws_stubs.session, [REPOSITORY], account=ACCOUNT).host == HOST


@pytest.mark.parametrize("operation", ["describe_repositories", "create_repository", "get_authorization_token"])
def test_denied_names_the_permission_that_is_missing(aws_stubs, operation):
    denied = f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: ecr:X"
    if operation != "describe_repositories":
        _describe_missing(aws_stubs)
    if operation == "get_authorization_token":
        aws_stubs.ecr.add_response("create_repository", {"repository": _repository()}, None)
    aws_stubs.ecr.add_client_error(operation, "AccessDeniedException", denied, 400)
    with pytest.raises(ECRAccessDenied) as failure:
        ecr_registry(aws_stubs.session, [REPOSITORY], account=ACCOUNT)
    name = "".join(part.title() for part in operation.split("_"))
    resource = "*" if name == "GetAuthorizationToken" else f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}"
    assert str(failure.value).startswith(f"denied: {name} needs the IAM permission ecr:{name} on {resource}, which "
                                         f"these credentials lack; grant it")
    assert denied in str(failure.value)
    assert isinstance(failure.value.__cause__, AWSError)
    if name == "CreateRepository":
        assert f"`aws ecr create-repository --repository-name {REPOSITORY} --region {REGION}`" in str(failure.value)


def test_other_aws_errors_stay_aws_errors(aws_stubs):
    aws_stubs.ecr.add_client_error("describe_repositories", "ServerException", "try later", 500)
    with pytest.raises(AWSError, match="DescribeRepositories failed with ServerException: try later"):
        ecr_registry(aws_stubs.session, [REPOSITORY], account=ACCOUNT)


def test_a_token_for_another_region_is_a_region_mismatch(aws_stubs):
    _token(aws_stubs, region="eu-west-1")
    with pytest.raises(ConfigurationError, match=rf"region mismatch: ECR issued push credentials for "
                                                 rf"https://{ACCOUNT}\.dkr\.ecr\.eu-west-1\.amazonaws\.com \(region "
                                                 rf"eu-west-1\) but the images go to {HOST} \(region {REGION}\)"):
        ecr_registry(aws_stubs.session, account=ACCOUNT)


def test_a_region_other_than_the_sessions_is_refused_before_any_request(aws_stubs):
    with pytest.raises(ConfigurationError, match=f"region mismatch: region='eu-west-1' but the session is in "
                                                 f"'{REGION}'"):
        ecr_registry(aws_stubs.session, [REPOSITORY], region="eu-west-1")


@pytest.mark.parametrize(("host", "what"), [(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com", "region"),
                                             (f"210987654321.dkr.ecr.{REGION}.amazonaws.com", "account")])
def test_an_image_named_for_another_ecr_registry_is_refused(host, what):
    image = LocalImage(f"{host}/my-algo:1", "sha256:0", host, "my-algo", "1")
    with pytest.raises(ConfigurationError, match=f"^{what} mismatch: {image.reference} names the ECR registry"):
        check_same_ecr_registry(image, HOST)
    check_same_ecr_registry(LocalImage(f"{HOST}/my-algo:1", "sha256:0", HOST, "my-algo", "1"), HOST)
    check_same_ecr_registry(LocalImage("my-algo:1", "sha256:0", None, "my-algo", "1"), HOST)


def test_registry_or_ecr_options_not_both():
    with pytest.raises(ConfigurationError, match="registry= pushes to that registry with no AWS call"):
        push("chainer", registry="127.0.0.1:5000", region="us-east-1")
    with pytest.raises(ConfigurationError, match="not a URL: drop https://"):
        push("chainer", registry="https://registry.example.com")
    with pytest.raises(ConfigurationError, match="name the images to push"):
        push([])


def test_the_cli_says_what_is_wrong_with_the_options():
    result = CliRunner().invoke(main, ["images", "push", "chainer", "--registry", "127.0.0.1:5000", "--account",
                                       ACCOUNT])
    assert result.exit_code == 1
    assert "Error: registry= pushes to that registry with no AWS call" in result.output
    assert CliRunner().invoke(main, ["images", "push"]).exit_code == 2  # a name is required


def test_a_missing_framework_image_says_which_build_makes_it():
    chainer = next(spec for spec in image_specs() if spec.name == "chainer")
    assert _build_hint("chainer", chainer) == "build it first with `framework-sdk images build chainer`"
    assert _build_hint("my-algo:1", None).startswith("build it (`docker build -t my-algo:1 .`) or pull it first")


# What the engine streams for a one-layer push, then for the same push again (recorded from dockerd 20.10).
FIRST_PUSH = [
    {"status": "The push refers to repository [127.0.0.1:5123/pushexp]"},
    {"status": "Preparing", "progressDetail": {}, "id": "ccd60b30d6b9"},
    {"status": "Preparing", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 23}, "id": "ccd60b30d6b9"},
    {"status": "Pushing", "progressDetail": {"current": 2048, "total": 23}, "id": "ccd60b30d6b9"},
    {"status": "Pushed", "progressDetail": {}, "id": "ccd60b30d6b9"},
    {"status": "1: digest: sha256:" + "1e" * 32 + " size: 524"},
    {"progressDetail": {}, "aux": {"Tag": "1", "Digest": "sha256:" + "1e" * 32, "Size": 524}},
]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_push_events_give_each_layer_its_line_the_bytes_and_the_digest(monkeypatch):
    # the module, not the function of the same name that framework_sdk.images exports
    monkeypatch.setattr(importlib.import_module("framework_sdk.images.push"), "_LIVE_INTERVAL", 0)
    lines, terminal = [], _Terminal()
    tracker = PushProgress(lines.append, terminal)
    for event in FIRST_PUSH:
        tracker.update(event)
    tracker.close()
    assert lines == ["  5f70bf18a086: in the registry already", "  ccd60b30d6b9: uploaded (2.0 kB uncompressed)"]
    assert (len(tracker.layers), tracker.pushed, tracker.uncompressed_bytes) == (2, {"ccd60b30d6b9"}, 2048)
    assert tracker.digest == "sha256:" + "1e" * 32
    assert "\r\033[K  uploading 1 layer, 2.0 kB (uncompressed) so far" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\033[K")  # the counter is gone when the push ends


def test_the_digest_is_read_from_the_status_line_when_the_engine_sends_no_aux():
    tracker = PushProgress()
    tracker.update({"status": "7.8.1-cpu-py3: digest: sha256:" + "ab" * 32 + " size: 2841"})
    assert tracker.digest == "sha256:" + "ab" * 32


def test_results_say_what_was_uploaded():
    first = PushResult("a:1", "r/a:1", "sha256:1", layers=12, layers_pushed=3, uncompressed_bytes=310_400_000, seconds=56.2)
    again = PushResult("a:1", "r/a:1", "sha256:1", layers=12, layers_pushed=0, uncompressed_bytes=0, seconds=0.5)
    assert str(first) == "r/a:1  sha256:1  (3 of 12 layers uploaded (310.4 MB uncompressed), 9 in the registry already; 56.2 s)"
    assert str(again) == "r/a:1  sha256:1  (nothing uploaded: the registry had all 12 layers already; 0.5 s)"
    assert again.uploaded_nothing and not first.uploaded_nothing


def test_refused_pushes_say_why():
    ecr = Registry(HOST)
    denied = (f"denied: User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: ecr:InitiateLayerUpload "
              f"on resource: arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}")
    assert _advice(denied, f"{HOST}/{REPOSITORY}:1", ecr) == (
        f" -> the credentials lack a push permission on the repository: a push needs {', '.join(PUSH_PERMISSIONS)} "
        f"(the registry's message names the one refused)")
    immutable = (f"tag invalid: The image tag '1' already exists in the '{REPOSITORY}' repository and cannot be "
                 f"overwritten because the repository is immutable.")
    assert "`aws ecr put-image-tag-mutability --repository-name framework-sdk-chainer --image-tag-mutability " \
           "MUTABLE`" in _advice(immutable, f"{HOST}/{REPOSITORY}:1", ecr)
    expired = "denied: Your authorization token has expired. Reauthenticate and try again."
    assert _advice(expired, f"{HOST}/x:1", ecr) == " -> the ECR credentials expired (they last 12 hours): push again"
    other = Registry("registry.example.com:5000")
    assert "`docker login registry.example.com:5000` once" in _advice("no basic auth credentials", "x", other)
    assert "speaks plain HTTP" in _advice('http: server gave HTTP response to HTTPS client', "x", other)
