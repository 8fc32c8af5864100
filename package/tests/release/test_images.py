"""The service image's commands (container projects) with a stand-in `docker` (no engine here) that records its
calls and knows which images the registry holds."""

import os
import shlex
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

IMAGE = "ghcr.io/acme/image"


@pytest.fixture
def docker(tmp_path):
    bin_dir, calls, published = tmp_path / "bin", tmp_path / "calls", tmp_path / "published"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {shlex.quote(str(calls))}\n'
        f'if [ "$1" = manifest ]; then grep -qxF "$3" {shlex.quote(str(published))}; exit; fi\n'
        "cat >/dev/null\n"  # docker login reads the token from stdin
    )
    (bin_dir / "docker").chmod(0o755)
    published.write_text(f"{IMAGE}:v1.0.0\n{IMAGE}:pr-7\n")
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_TOKEN": "t",
        "GITHUB_ACTOR": "a",
        "IMAGE": IMAGE,
        "IMAGE_TAG": "",
        "TAG": "",
    }

    def run(*args: str, **variables: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        calls.write_text("")
        command = [sys.executable, "-m", "ml_gitops", *args]
        result = subprocess.run(command, env={**environment, **variables}, capture_output=True, text=True)
        return result, calls.read_text().splitlines()

    return run


def test_a_published_version_image_is_never_overwritten(docker):
    refused, calls = docker("image-push", TAG="model@v1.0.0")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error: {IMAGE}:v1.0.0 is published already: a version's image is never overwritten"
    )
    assert not any(call.startswith("push") for call in calls), "nothing is pushed over a published version"


def test_a_new_version_and_a_staging_tag_are_pushed(docker, tmp_path):
    pushed, calls = docker("image-push", TAG="model@v1.1.0")
    assert pushed.returncode == 0, pushed.stderr
    assert calls[-1] == f"push {IMAGE}:v1.1.0"
    assert "login ghcr.io --username a --password-stdin" in calls, "the token goes on stdin, never in argv"
    archive = tmp_path / "image.tar"
    staging, calls = docker("image-push", "--archive", str(archive), IMAGE_TAG="pr-7")
    assert staging.returncode == 0, staging.stderr
    assert calls[0] == f"load --input {archive}"
    assert calls[-1] == f"push {IMAGE}:pr-7", "staging images are replaced"


def test_the_image_is_the_repository_s_in_lower_case_and_its_tag_is_checked(docker):
    named, _ = docker("image-ref", IMAGE="", GITHUB_REPOSITORY="Acme/Churn-Model", TAG="model@v2.0.0")
    assert named.stdout.strip() == "ghcr.io/acme/churn-model:v2.0.0"
    refused, calls = docker("image-push", IMAGE_TAG="v1.0.0;$(id)")
    assert refused.returncode == 1
    assert "is not dev, pr-<number> or vX.Y.Z: refusing it" in refused.stderr
    assert calls == [], "docker never runs with an unchecked tag"


def test_promotion_points_prod_at_the_version(docker):
    promoted, calls = docker("image-promote", TAG="model@v1.1.0")
    assert promoted.returncode == 0, promoted.stderr
    assert calls[-1] == f"buildx imagetools create --tag {IMAGE}:prod {IMAGE}:v1.1.0"
