"""Which challenger scores in shadow, recorded as a GitHub deployment to the environment `shadow`.

A person asks (the label `shadow` on a pull request, or a dispatch naming a version or `none`); shadow.yml checks
the asker here (`ask`) and records the choice (`record`): a deployment whose payload names the model and its
SHA-256, marked `success`, which makes GitHub mark the previous one `inactive` (`auto_inactive`). Stopping marks the
current one `inactive` (`stop`). The environment's history on GitHub is the audit trail, and the service picks the
challenger up from the newest record (shadow_pull).

A pull request's candidate is the model its own model-pr run trained (`on: pull_request`: a read-only token, no
secrets, and the pull request's own cache scope) and kept as the artifact `candidate-model`: shadow.yml runs from
`pull_request_target`, whose runs may write the cache the default branch's workflows restore, so it never runs the
pull request's code. It finds the newest successful model-pr run of exactly the labelled commit through the REST
API and reads that run's artifact as data; the digest is computed here, from the model's bytes.

Standard library only: the recording job holds a token that can write deployments.
"""

import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass

from .. import UserError
from . import client

ENVIRONMENT = "shadow"
LABEL = "shadow"
ARTIFACT = "candidate-model"  # model-pr.yml's artifact: the candidate it trained, models/model.skops alone
MODEL = "model.skops"
# A run's `path`: the description shows it with and without the ref (".github/workflows/build.yml@main").
MODEL_PR = re.compile(r"^\.github/workflows/model-pr\.yml(@.+)?$")
MAX_MODEL_BYTES = 4 << 30
# What reading a broken, encrypted or foreign zip raises.
NOT_A_ZIP = (zipfile.BadZipFile, EOFError, ValueError, zlib.error, NotImplementedError, RuntimeError)
MODEL_TAG = "model@{version}"  # GTO's version tag (release/tags.py)
WRITERS = ("admin", "write")  # the API's permission field (maintain reads as write)
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?$")
VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
SHA = re.compile(r"^[0-9a-f]{40}$")
DIGEST = re.compile(r"^[0-9a-f]{64}$")
RECORDER = "github-actions[bot]"  # the workflow's GITHUB_TOKEN: a deployment anyone made by hand is no record


@dataclass(frozen=True)
class Record:
    """The challenger a deployment records: a released version, or a pull request's candidate."""

    deployment: int
    model_sha256: str
    version: str | None = None
    pull_request: int | None = None
    head_sha: str | None = None
    run_id: int | None = None

    @property
    def label(self) -> str:
        """The version the prediction log records for it (serve --shadow-version)."""
        return self.version or f"pr-{self.pull_request}@{self.head_sha[:7]}"

    def describe(self) -> str:
        if self.version:
            return f"version {self.version}"
        return f"pull request #{self.pull_request}'s candidate ({self.head_sha[:12]})"


def ask_by_label(sender: str, action: str, pull_request: int, head_repo: str, head_sha: str) -> dict:
    """What a `shadow` label added or removed asks for, once the labeller is known to have write access and the
    pull request is known not to come from a fork: record its head's candidate (as its model-pr run trained it), or
    stop its shadow."""
    if head_repo != client.repository():
        raise UserError(
            f"pull request #{pull_request} comes from {head_repo!r}, a fork: a fork's code never scores "
            "production traffic, even in shadow"
        )
    _check_writer(sender, f"{action} the label {LABEL}")
    if action == "labeled":
        if not SHA.match(head_sha):
            raise UserError(f"{head_sha!r} is not a commit SHA: refusing to record it")
        print(f"{sender} asked for pull request #{pull_request}'s candidate ({head_sha[:12]}) in shadow")
        return {"do": "record-candidate", "pull_request": pull_request, "head_sha": head_sha}
    if action == "unlabeled":
        print(f"{sender} removed the label: pull request #{pull_request}'s shadow stops")
        return {"do": "stop", "pull_request": pull_request}
    raise UserError(f"{action!r} is not labeled or unlabeled: nothing to do")


def ask_by_dispatch(challenger: str) -> dict:
    """What a dispatch asks for: a released version (vX.Y.Z) in shadow, or `none` to stop the shadow."""
    if challenger == "none":
        return {"do": "stop"}
    if not VERSION.match(challenger):
        raise UserError(f"{challenger!r} is not a version such as v1.2.0, or none to stop the shadow")
    return {"do": "record-version", "version": challenger}


def _check_writer(login: str, asked: str) -> None:
    """Refuse a user without write access (triage users can label, and must not start anything)."""
    if not LOGIN.match(login):
        raise UserError(f"{login!r} is not a GitHub login: refusing the request")
    permission = client.api("GET", f"collaborators/{login}/permission").get("permission", "none")
    if permission not in WRITERS:
        raise UserError(
            f"{login} has {permission} access to this repository and {asked}: nothing changes; "
            "a user with write access must ask"
        )


def record_version(version: str) -> Record:
    """Record a released version as the challenger: its tag, and the model's digest from the release's
    SHA256SUMS."""
    if not VERSION.match(version):
        raise UserError(f"{version!r} is not a version such as v1.2.0")
    tag = MODEL_TAG.format(version=version)
    try:
        release = client.api("GET", f"releases/tags/{tag}")
    except client.NotFound:
        raise UserError(f"there is no release {tag}: only a released version can be a challenger") from None
    sums = [asset for asset in release.get("assets", []) if asset.get("name") == "SHA256SUMS"]
    if not sums:
        raise UserError(f"the release {tag} has no SHA256SUMS asset: it cannot be verified, so it is refused")
    text = client.download(f"releases/assets/{sums[0]['id']}", 1 << 20).decode("utf-8", "replace")
    digest = _digest_listed(text, f"the release {tag}'s SHA256SUMS")
    return _record(tag, {"version": version, "model_sha256": digest}, f"{version} in shadow")


def record_pull_request(pull_request: int, head_sha: str) -> Record:
    """Record a pull request's candidate: the model that the newest successful model-pr run of exactly `head_sha`
    trained for this pull request and kept as its artifact `candidate-model`, read here as data (nothing of the
    pull request runs). None such yet (model-pr still running, or failed): refused, nothing recorded."""
    if not SHA.match(head_sha):
        raise UserError(f"{head_sha!r} is not a commit SHA")
    run = model_pr_run(pull_request, head_sha)
    payload = {
        "pull_request": pull_request,
        "head_sha": head_sha,
        "run_id": run,
        "artifact": ARTIFACT,
        "model_sha256": _candidate_digest(run, pull_request),
    }
    return _record(head_sha, payload, f"pull request #{pull_request} ({head_sha[:7]}) in shadow")


def model_pr_run(pull_request: int, head_sha: str) -> int:
    """The id of the newest successful model-pr run (event pull_request) of exactly `head_sha`, for this pull
    request, of this repository: `GET /repos/{owner}/{repo}/actions/runs` ("List workflow runs for a repository")
    narrowed by `head_sha`, `event` and `status` (a status or a conclusion: `success`), each run checked again here
    (the workflow's `path`, its event, conclusion, head commit and repository, and `pull_requests`: "Pull requests
    that are open with a head_sha or head_branch that matches the workflow run")."""
    repository = client.repository()
    listed = client.paginate(f"actions/runs?head_sha={head_sha}&event=pull_request&status=success")
    found = [
        run
        for run in listed
        if MODEL_PR.match(str(run.get("path", "")))
        and run.get("event") == "pull_request"
        and run.get("status") == "completed"
        and run.get("conclusion") == "success"
        and run.get("head_sha") == head_sha
        and (run.get("repository") or {}).get("full_name") == repository
        and (run.get("head_repository") or {}).get("full_name") == repository
        and any(pull.get("number") == pull_request for pull in run.get("pull_requests") or [])
        and isinstance(run.get("id"), int)
    ]
    if not found:
        raise UserError(
            f"pull request #{pull_request}'s head {head_sha[:12]} has no successful model-pr run yet: wait for "
            f"model-pr to pass on it, then remove and add the label {LABEL} again; nothing recorded"
        )
    return max(run["id"] for run in found)


def _candidate_digest(run: int, pull_request: int) -> str:
    """The SHA-256 of the model in model-pr run `run`'s artifact `candidate-model` (candidate_model)."""
    missing = f"pull request #{pull_request} changes no model input, so it has no candidate of its own to put in shadow"
    return hashlib.sha256(candidate_model(run, missing, "; nothing recorded")).hexdigest()


def candidate_model(run: int, missing: str, outcome: str = "") -> bytes:
    """The model in model-pr run `run`'s artifact `candidate-model`: a zip that must hold exactly model.skops, no
    larger than MAX_MODEL_BYTES (checked while it is read). `missing` says why a run may keep none; `outcome` ends
    every refusal (what was, or was not, done)."""
    listed = client.paginate(f"actions/runs/{run}/artifacts?name={ARTIFACT}")
    found = [artifact for artifact in listed if artifact.get("name") == ARTIFACT]
    if not found:
        raise UserError(f"model-pr run {run} kept no {ARTIFACT}: {missing}{outcome}")
    artifact = max(found, key=lambda a: a["id"])
    if artifact.get("expired"):
        raise UserError(
            f"the artifact {ARTIFACT} of model-pr run {run} has expired: run model-pr again on the pull request, "
            f"then remove and add the label {LABEL} again{outcome}"
        )
    archive = client.download(f"actions/artifacts/{artifact['id']}/zip", MAX_MODEL_BYTES)
    where = f"model-pr run {run}'s artifact {ARTIFACT}"
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            names = opened.namelist()
            if names != [MODEL]:
                raise UserError(f"{where} holds {names}, not {MODEL} alone: refusing it{outcome}")
            if opened.getinfo(MODEL).file_size > MAX_MODEL_BYTES:
                raise UserError(f"{MODEL} in {where} is too large: refusing it{outcome}")
            with opened.open(MODEL) as model:
                read = model.read(MAX_MODEL_BYTES + 1)
    except NOT_A_ZIP:
        raise UserError(f"{where} is not a zip holding {MODEL}: refusing it{outcome}") from None
    if len(read) > MAX_MODEL_BYTES:
        raise UserError(f"{MODEL} in {where} is too large: refusing it{outcome}")
    return read


def _digest_listed(text: str, where: str) -> str:
    listed = {name: digest for digest, name in (line.split(maxsplit=1) for line in text.splitlines() if line)}
    digest = listed.get(MODEL, "")
    if not DIGEST.match(digest):
        raise UserError(f"{where} lists no SHA-256 for {MODEL}: refusing to record it")
    return digest


def _record(ref: str, payload: dict, description: str) -> Record:
    deployment = client.api(
        "POST",
        "deployments",
        {
            "ref": ref,
            "environment": ENVIRONMENT,
            "auto_merge": False,
            "required_contexts": [],
            "payload": payload,
            "description": description,
            "transient_environment": False,
            "production_environment": False,
        },
    )
    if "id" not in deployment:
        raise UserError(f"GitHub created no deployment of {ref}: {deployment.get('message', deployment)}")
    _set_state(deployment["id"], "success", description)
    record = parse(deployment)
    client.write_summary(f"Shadow: {record.describe()} recorded (deployment {record.deployment}).")
    print(f"recorded {record.describe()} as the challenger in shadow (deployment {record.deployment})")
    return record


def _set_state(deployment: int, state: str, description: str) -> None:
    run = os.environ.get("GITHUB_RUN_ID")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    body = {"state": state, "description": description[:140], "auto_inactive": True}
    if run:
        body["log_url"] = f"{server}/{client.repository()}/actions/runs/{run}"
    client.api("POST", f"deployments/{deployment}/statuses", body)


def current() -> Record | None:
    """The challenger recorded now: the newest deployment to `shadow` that shadow.yml made and that reached an
    end, if it is `success`; a newer one stopped (`inactive`) means none, one still pending or failed, or one made
    by anyone else, is passed over."""
    deployments = client.paginate(f"deployments?environment={ENVIRONMENT}")
    for deployment in sorted(deployments, key=lambda d: d["id"], reverse=True):
        if (deployment.get("creator") or {}).get("login") != RECORDER:
            continue  # not made by shadow.yml, which checks who asked: passed over
        statuses = client.paginate(f"deployments/{deployment['id']}/statuses")
        newest = max(statuses, key=lambda s: s["id"], default={}).get("state")
        if newest == "success":
            return parse(deployment)
        if newest == "inactive":
            return None
    return None


def stop(pull_request: int | None = None) -> Record | None:
    """Mark the current challenger `inactive` (only if it is this pull request's, when one is named). What it
    scored stays in the prediction log; the service stops it at its next pick-up."""
    record = current()
    if record is None:
        print("no challenger recorded: nothing to stop")
        return None
    if pull_request is not None and record.pull_request != pull_request:
        print(f"the challenger is {record.describe()}, not pull request #{pull_request}'s: it goes on")
        return None
    _set_state(record.deployment, "inactive", f"stopped: {record.describe()}")
    client.write_summary(f"Shadow: {record.describe()} stopped (deployment {record.deployment}).")
    print(f"stopped {record.describe()} (deployment {record.deployment} is inactive)")
    return record


def parse(deployment: dict) -> Record:
    """A deployment's record, checked field by field: anything else is refused, never guessed."""
    payload = deployment.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload or "{}")
        except ValueError:
            payload = None
    if not isinstance(payload, dict):
        raise UserError(
            f"deployment {deployment.get('id')} to {ENVIRONMENT} has no payload: not a challenger"
        )
    digest = str(payload.get("model_sha256", ""))
    where = f"deployment {deployment['id']} to {ENVIRONMENT}"
    if not DIGEST.match(digest):
        raise UserError(f"{where} names no model_sha256: not a challenger record")
    if "version" in payload:
        version = str(payload["version"])
        if not VERSION.match(version) or deployment.get("ref") != MODEL_TAG.format(version=version):
            raise UserError(f"{where} names version {version!r} at ref {deployment.get('ref')!r}: refused")
        return Record(deployment["id"], digest, version=version)
    number, head, run = payload.get("pull_request"), str(payload.get("head_sha", "")), payload.get("run_id")
    if not (
        isinstance(number, int)
        and isinstance(run, int)
        and SHA.match(head)
        and deployment.get("ref") == head
        and payload.get("artifact") == ARTIFACT
    ):
        raise UserError(f"{where} is neither a version's nor a pull request's record: refused")
    return Record(deployment["id"], digest, pull_request=number, head_sha=head, run_id=run)
