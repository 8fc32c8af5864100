"""Whether an approval deploys to staging: the reviewer must have write access to the repository (asked of the
API: anyone who can read a public repository may submit an approving review), and the pull request must change a
model input (otherwise its model is main's, and there is nothing to stage); and what the staging comment says, from
the staging job's artifact, which the pull request's code wrote. Standard library only."""

import re
from pathlib import Path

from .. import UserError
from ..core import files, paths
from ..github import client
from ..review import artifact, inputs, markdown

LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
DEPLOYERS = ("admin", "write")  # the API's permission field (maintain reads as write)


def check_reviewer(login: str, pull_request: int) -> bool:
    """Refuse a reviewer without write access; return whether there is a candidate to deploy."""
    if not LOGIN.match(login):
        raise UserError(f"{login!r} is not a GitHub login: refusing to deploy")
    permission = client.api("GET", f"collaborators/{login}/permission").get("permission", "none")
    if permission not in DEPLOYERS:
        raise UserError(
            f"{login} has {permission} access to this repository: their approval deploys nothing to staging; "
            "a user with write access must approve"
        )
    changed = inputs.model_inputs(inputs.changed_in_pull_request(pull_request))
    if not changed:
        print(
            f"{login} has {permission} access, but pull request #{pull_request} changes no model input: nothing to stage"
        )
        return False
    print(f"{login} has {permission} access: the commit they approved goes to staging")
    return True


SMOKE_TITLE = "### Staging: smoke test of the candidate model"
DIGEST = re.compile(r"sha256 `([0-9a-f]{12,64})`")
CUT_NOTE = "The smoke test's words are cut here: the whole of them is in the run's `staging-model` artifact."


def smoke_comment(directory: Path) -> str:
    """The staging comment, from the `staging-model` artifact in `directory` (models/model.skops and reports/smoke.md,
    which the pull request's code wrote): only what is checked here is said, and the smoke test's own words follow
    as inert text, within the report's size limit."""
    model, smoke = directory / paths.MODEL, directory / paths.SMOKE
    for path in (model, smoke):
        if path.is_symlink() or not path.is_file():
            raise UserError(
                f"the staging-model artifact has no file {path.relative_to(directory)}: nothing to comment"
            )
    if smoke.stat().st_size > artifact.MAX_REPORT_BYTES:
        raise UserError(
            f"{paths.SMOKE} has {smoke.stat().st_size:,} bytes, over the limit of {artifact.MAX_REPORT_BYTES:,}"
        )
    words = smoke.read_text(encoding="utf-8", errors="replace")
    digest = files.sha256(model)
    named = DIGEST.findall(words)
    if not named or any(not digest.startswith(prefix) for prefix in named):
        raise UserError(
            f"{paths.SMOKE} names no model or another one than the artifact's {paths.MODEL} (sha256 {digest[:12]}): "
            "refusing to say it passed"
        )
    return (
        f"{SMOKE_TITLE}\n\nThe staging job of the approved commit succeeded, smoke test included (this comment is "
        "posted only then, by the base branch's code). The model in the run's "
        f"`staging-model` artifact is `{paths.MODEL}`, sha256 `{digest}` ({model.stat().st_size:,} bytes), the one "
        "the smoke test names.\n\n"
        "<details><summary>The smoke test's own words (written by the pull request's code: shown as text)</summary>"
        f"\n\n{markdown.block(words, artifact.MAX_REPORT_BYTES, CUT_NOTE)}\n\n</details>\n"
    )


def post_smoke_comment(pull_request: int, directory: Path) -> None:
    """Comment the staging result on the pull request (promote.yml's comment job, the base branch's code)."""
    client.comment(pull_request, smoke_comment(directory))
