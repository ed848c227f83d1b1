"""Amazon ECR as ``images push`` uses it: repositories made when missing, and push credentials.

Three operations, through the session's ``ecr`` client (boto3; no AWS CLI): DescribeRepositories
(does the repository exist?), CreateRepository (it does not), GetAuthorizationToken (a registry
password, valid for 12 hours). The token is decoded into the ``username``/``password`` that
docker-py sends with each push request; nothing is written to the user's Docker configuration.

A repository we create has mutable tags (a framework image's tag, ``7.8.1-cpu-py3``, is
pushed again whenever the toolkit changes; with immutable tags that second push would be
refused) and no scan on push (as SageMaker's own bring-your-own examples create theirs, and
AWS's default; a registry-level scanning configuration still applies to it).
"""
from __future__ import annotations

import base64
import dataclasses
import logging
import re
from typing import TYPE_CHECKING

from framework_sdk import image_uris
from framework_sdk.exceptions import AWSError, ConfigurationError
from framework_sdk.images.definitions import ImageError

if TYPE_CHECKING:
    from framework_sdk.session import Session

log = logging.getLogger(__name__)

# What CreateRepository is sent besides the name: see the module docstring for why.
TAG_MUTABILITY = "MUTABLE"
SCAN_ON_PUSH = False
# The registry operations `docker push` performs, each an IAM permission on the repository.
PUSH_PERMISSIONS = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload", "ecr:PutImage")
_ECR_HOST = re.compile(r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_ACCOUNT = re.compile(r"\d{12}")


class ECRAccessDenied(ImageError):
    """An ECR operation was refused for want of an IAM permission; the message names it."""


@dataclasses.dataclass(frozen=True)
class Login:
    """Push credentials from GetAuthorizationToken, and the registry they were issued for."""

    username: str
    password: str
    proxy_endpoint: str  # https://<account>.dkr.ecr.<region>.amazonaws.com

    @property
    def auth_config(self) -> dict[str, str]:
        """The credentials as docker-py's ``auth_config``."""
        return {"username": self.username, "password": self.password}


def parse_host(host: str) -> tuple[str, str] | None:
    """``(account, region)`` of an ECR registry host, or None for any other registry."""
    match = _ECR_HOST.fullmatch(host)
    return (match["account"], match["region"]) if match else None


def check_account(account: str) -> str:
    if not _ACCOUNT.fullmatch(account):
        raise ConfigurationError(f"account {account!r} is not an AWS account id: give the 12 digits "
                                 f"(for example 123456789012)")
    return account


def repository_arn(session: Session, account: str, repository: str) -> str:
    return f"arn:{session.partition()}:ecr:{session.boto_region_name}:{account}:repository/{repository}"


def ensure_repository(session: Session, account: str, repository: str) -> bool:
    """Create ECR repository ``repository`` in ``account`` unless it exists; True when it was created."""
    client = session.ecr_client
    try:
        found = client.describe_repositories(registryId=account, repositoryNames=[repository])["repositories"]
        if found and str(found[0].get("imageTagMutability", TAG_MUTABILITY)).startswith("IMMUTABLE"):
            log.warning("ECR repository %s has immutable tags: a tag that is there already cannot be pushed "
                        "again", repository)
        return False
    except AWSError as error:
        if error.code != "RepositoryNotFoundException":
            _raise_denied(error, session, account, repository)
            raise
    try:
        client.create_repository(registryId=account, repositoryName=repository, imageTagMutability=TAG_MUTABILITY,
                                 imageScanningConfiguration={"scanOnPush": SCAN_ON_PUSH})
    except AWSError as error:
        if error.code == "RepositoryAlreadyExistsException":  # made by someone else since we looked
            return False
        _raise_denied(error, session, account, repository)
        raise
    log.info("created ECR repository %s in %s (tags mutable, scan on push off)", repository,
             image_uris.ecr_registry(session.boto_region_name, account))
    return True


def login(session: Session) -> Login:
    """Push credentials for the session's region (GetAuthorizationToken), decoded from the token."""
    try:
        data = session.ecr_client.get_authorization_token()["authorizationData"][0]
    except AWSError as error:
        _raise_denied(error, session, None, None)
        raise
    try:
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as error:
        raise ImageError(f"GetAuthorizationToken answered a token that is not base64 'user:password' "
                         f"({error}); is the ECR endpoint really ECR?") from error
    if not password:
        raise ImageError("GetAuthorizationToken answered a token without a password; is the ECR endpoint "
                         "really ECR?")
    return Login(username, password, str(data.get("proxyEndpoint", "")))


def check_login_region(login: Login, registry_host: str) -> None:
    """Refuse a token issued for another region than the registry the images go to (a region mismatch)."""
    issued_for = parse_host(login.proxy_endpoint.removeprefix("https://").rstrip("/"))
    target = parse_host(registry_host)
    if issued_for and target and issued_for[1] != target[1]:
        raise ConfigurationError(
            f"region mismatch: ECR issued push credentials for {login.proxy_endpoint} (region {issued_for[1]}) but "
            f"the images go to {registry_host} (region {target[1]}): the session's ECR client is in another "
            f"region than the session; give the session one region (Session(boto_session=boto3.Session("
            f"region_name={target[1]!r})) and no ecr_client of another region)")


def _raise_denied(error: AWSError, session: Session, account: str | None, repository: str | None) -> None:
    """Raise :class:`ECRAccessDenied` naming the missing permission when ``error`` is an AccessDenied."""
    if error.code not in ("AccessDeniedException", "AccessDenied"):
        return
    operation = error.operation_name
    resource = repository_arn(session, account, repository) if account and repository else "*"
    also = (f", or have someone who may create the repository once (`aws ecr create-repository --repository-name "
            f"{repository} --region {session.boto_region_name}`)" if operation == "CreateRepository" else "")
    raise ECRAccessDenied(
        f"denied: {operation} needs the IAM permission ecr:{operation} on {resource}, which these credentials "
        f"lack; grant it{also}. A push also needs ecr:GetAuthorizationToken, and {', '.join(PUSH_PERMISSIONS)} "
        f"on the repository. AWS said: {error.aws_message}") from error
