"""Can a user's requirement replace ``train`` or ``serve``? The probe of an image's PATH and its verdicts."""
import dataclasses
import json
import posixpath
from typing import Optional

from framework_sdk.conformance.results import FAIL, PASS, SKIP, CheckResult

PLANTED_MARKER = "fsdk-check: a planted console script ran"
PLANTED_WAIT = 15  # seconds a run with a planted console script may take to show whether it ran


@dataclasses.dataclass(frozen=True)
class _EntryProbe:
    """Where the image finds its commands: PATH, ``command -v`` of each, and pip's scripts folder."""

    path: tuple
    found: dict
    scripts: Optional[str]  # sysconfig's "scripts" folder of the image's python; None without one

    @classmethod
    def parse(cls, text):
        values = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
        path = tuple(posixpath.normpath(folder) for folder in values.get("path", "").split(":") if folder)
        scripts = values.get("scripts") or None
        return cls(path, {name: values.get(name, "") for name in ("train", "serve")},
                   posixpath.normpath(scripts) if scripts else None)


_PROBE_SCRIPT = ('echo "path=$PATH"; echo "train=$(command -v train)"; echo "serve=$(command -v serve)"; '
                 'python=$(command -v python || command -v python3) && "$python" -c '
                 '\'import sysconfig; print("scripts=" + sysconfig.get_path("scripts"))\'')


def _replace_check(command):
    return f"{command}: a requirement cannot replace `{command}`"


def _judge_path_order(command, probe):
    """Can a console script that pip installs replace ``command``, in an image with no ENTRYPOINT?

    Docker then looks ``command`` up on PATH, taking the first folder that holds it. A
    requirement's console script named like it goes to pip's scripts folder S (of the
    image's ``python``, which installs requirements); it wins when S is on PATH at or before
    the folder holding ``command`` (at: pip overwrites the file). That is a failure.
    """
    name = _replace_check(command)
    if probe.scripts is None:
        return CheckResult(name, SKIP, "no python or python3 on the image's PATH to tell where pip puts console "
                                       "scripts")
    found = probe.found.get(command)
    if not found:
        return CheckResult(name, FAIL, f"no `{command}` on PATH ({':'.join(probe.path)}): `docker run IMAGE "
                                       f"{command}` cannot start")
    folder = posixpath.dirname(posixpath.normpath(found))
    order = list(probe.path)
    holder = order.index(folder) if folder in order else len(order)
    if probe.scripts not in order or order.index(probe.scripts) > holder:
        return CheckResult(name, PASS, f"`{command}` is {found}; PATH finds it before {probe.scripts}, where pip "
                                       "puts console scripts")
    where = "holds it itself: pip would overwrite it" if probe.scripts == folder else "comes first on PATH"
    return CheckResult(name, FAIL, f"a requirement's console script named {command} would run instead of {found}: "
                                   f"pip puts them in {probe.scripts}, which {where} ({':'.join(probe.path)}), and "
                                   f"no ENTRYPOINT bypasses PATH; put {folder} before {probe.scripts} on PATH, or "
                                   "start the command from an absolute ENTRYPOINT")


def _judge_planted(command, probe, entrypoint, ran):
    """The verdict on an image with an ENTRYPOINT, from a run with a ``command`` planted in pip's scripts folder."""
    name = _replace_check(command)
    shown = json.dumps(entrypoint)
    if ran:
        return CheckResult(name, FAIL, f"a console script named {command} in {probe.scripts} (where pip puts a "
                                       f"requirement's) ran instead of the image's: ENTRYPOINT {shown} looks "
                                       f"`{command}` up on PATH ({':'.join(probe.path)}); run the command by its "
                                       f"absolute path, or put its folder before {probe.scripts} on PATH")
    return CheckResult(name, PASS, f"a console script named {command} planted in {probe.scripts} (where pip puts "
                                   f"a requirement's) did not run: ENTRYPOINT {shown} does not look it up on PATH")
