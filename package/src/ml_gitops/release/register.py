"""Register a new model version with GTO when a change to the model reaches main, and start its release.

The version is a Git tag `model@vX.Y.Z` (GTO's format), pushed to origin. A tag pushed with the workflow's
GITHUB_TOKEN starts no workflow on GitHub, so the release is started explicitly: a workflow_dispatch of
release.yml from main with the version, which GITHUB_TOKEN may cause (it needs `actions: write`). The bump is minor unless the
merged pull request carries the label `model:major` or `model:patch`; the first version is v1.0.0, v0.1.0 or
v0.0.1 accordingly. Nothing is registered when the model is the same as the last version's.
"""

import base64
import os

import yaml

from .. import UserError
from ..core import paths
from ..core.shell import git, show, tool
from ..github import client
from .tags import ARTIFACT, VERSION_TAG

LABELS = {"model:major": "major", "model:patch": "patch"}
FIRST_VERSION = {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}


def model_hash(rev: str) -> str | None:
    """The model's content hash recorded in dvc.lock at `rev`, or None when there is none."""
    shown = show(rev, "dvc.lock")
    if shown is None:
        return None
    outs = (yaml.safe_load(shown) or {}).get("stages", {}).get("train", {}).get("outs", [])
    return next((out.get("md5") for out in outs if out.get("path") == str(paths.MODEL)), None)


def versions() -> list[tuple[tuple[int, int, int], str]]:
    """Registered versions, oldest first: ((major, minor, patch), tag)."""
    found = []
    for tag in git("tag", "--list", f"{ARTIFACT}@v*").splitlines():
        if match := VERSION_TAG.match(tag):
            found.append(((int(match[1]), int(match[2]), int(match[3])), tag))
    return sorted(found)


def bump_for(commit: str) -> str:
    """minor, or what the label of the pull request merged as `commit` asks for."""
    pulls = client.api("GET", f"commits/{commit}/pulls")
    labels = {label["name"] for pull in pulls or [] for label in pull.get("labels", [])}
    chosen = {LABELS[label] for label in labels & LABELS.keys()}
    if len(chosen) > 1:
        raise UserError(f"the pull request has both {' and '.join(sorted(labels & LABELS.keys()))}: keep one")
    return chosen.pop() if chosen else "minor"


def run(push: bool, use_labels: bool, release: bool = False) -> None:
    head = git("rev-parse", "HEAD")
    current = model_hash(head)
    if current is None:
        raise UserError("dvc.lock has no trained model: run make repro and commit dvc.lock")
    registered = versions()
    if registered and model_hash(git("rev-list", "-n", "1", registered[-1][1])) == current:
        print(f"nothing to register: the model is the same as {registered[-1][1]}")
        return
    bump = bump_for(head) if use_labels else "minor"
    version = ["--version", FIRST_VERSION[bump]] if not registered else [f"--bump-{bump}"]
    message = f"Register {ARTIFACT} from {head[:12]} ({bump} bump)"
    print(tool("gto", "register", ARTIFACT, head, *version, "--message", message))
    tag = versions()[-1][1]
    if push:
        push_tag(tag)
    if release:
        start_release(tag)


def push_tag(tag: str) -> None:
    """Push a tag GTO made, with git itself (GTO's own --push reads no credentials from the repository), with the
    automation App's token when there is one (TAG_TOKEN: the tag ruleset then lets only it create version and
    stage tags), else the workflow's GITHUB_TOKEN, else your own credentials."""
    token = os.environ.get("TAG_TOKEN") or os.environ.get("GITHUB_TOKEN")
    environment = None
    if token:  # in the environment, not on the command line: nothing prints it
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        environment = {
            **os.environ,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }
    git("push", "origin", f"refs/tags/{tag}", env=environment)
    print(f"pushed {tag}")


def start_release(tag: str) -> None:
    """Run release.yml from main for the version (workflow_dispatch: the one event GITHUB_TOKEN may start)."""
    version = tag.partition("@")[2]
    client.api(
        "POST", "actions/workflows/release.yml/dispatches", {"ref": "main", "inputs": {"version": version}}
    )
    print(f"started release.yml for {version}")
