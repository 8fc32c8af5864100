"""GitHub's rules for starting workflows, applied to the events the fake records; each start runs under act.

No test starts a workflow by hand: people (tests) push, open pull requests, review, merge and dispatch through the
fake, workflows do the same with their tokens, and `GitHub.settle()` decides from each workflow's own `on:` block
what GitHub would start, with which payload, and runs it, until nothing more starts. The rules, each from GitHub's
documentation (tests/README.md lists the pages, tests/e2e/test_rules.py shows each one):

- events caused by GITHUB_TOKEN start no workflow, except workflow_dispatch and repository_dispatch;
- a push runs the workflow files of the pushed commit (a tag's for a tag push); pull_request and
  pull_request_review run those of the pull request's test merge commit; pull_request_target those of the base
  branch (its token may write and it gets secrets, even for a fork's pull request); workflow_run, schedule and
  repository_dispatch those of the default branch; workflow_dispatch those of the ref it names;
- `branches`, `tags`, `paths` (and their -ignore forms) and activity `types` filter as GitHub's filter patterns do;
  path filters are not evaluated for tag pushes; a workflow they skip reports no status or check at all;
- workflow_run chains at most three levels deep;
- a pull request from a fork gets a read-only GITHUB_TOKEN, no secrets and no configuration variables;
- a job's environment decides whether it may deploy: the environment's branch and tag policies, and its required
  reviewers (never the person who started the run when prevent_self_review is set).
Payloads are checked against octokit's webhook schemas before a run starts.
"""

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import github_schemas as schemas
from .fake_github import ACTIONS_APP_ID, ZERO, Event, FakeGitHub, Identity, triggers
from .harness import ActRun, Harness

NO_RESTART = (
    "workflow_dispatch",
    "repository_dispatch",
)  # the only events GITHUB_TOKEN may cause that start runs
DEFAULT_TYPES = {
    "pull_request": ["opened", "synchronize", "reopened"],
    "pull_request_target": ["opened", "synchronize", "reopened"],
}
PULL_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")
MAX_WORKFLOW_RUN_DEPTH = 3  # A -> B -> C -> D runs; E, a fourth workflow_run link, does not


@dataclass
class Run:
    """One workflow run: what started it, how it ended (success, failure, waiting, or not run here)."""

    run_id: int
    workflow: str  # file name, e.g. model-pr.yml
    name: str  # the workflow's name: key
    event: str
    payload: dict
    who: Identity
    head_sha: str
    head_branch: str | None
    conclusion: str = "success"
    jobs: dict[str, str] = field(default_factory=dict)
    output: str = ""
    waiting: list[str] = field(default_factory=list)  # environments waiting for a reviewer
    depth: int = 0  # workflow_run links that led to it

    @property
    def returncode(self) -> int:
        return 0 if self.conclusion == "success" else 1


def glob_to_regex(pattern: str) -> re.Pattern:
    """GitHub's filter patterns: * (not /), ** (anything), ?, + (one or more of the previous), [..]."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char in "?+":
            out += char
        elif char == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(f"^{out}$")


def filtered(values: list[str], include: list[str] | None, ignore: list[str] | None) -> bool:
    """Whether any value passes `include` (patterns, with ! negations, the last match wins) or `ignore`."""
    if include is not None:
        return any(_last_match(value, include) for value in values)
    if ignore is not None:
        return any(not _last_match(value, ignore) for value in values)
    return True


def _last_match(value: str, patterns: list[str]) -> bool:
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if glob_to_regex(pattern.lstrip("!")).match(value):
            matched = not negated
    return matched


class GitHub:
    """The rules of GitHub around one fake: which workflows events start, and the runs, in order."""

    def __init__(self, fake: FakeGitHub, harness: Harness):
        self.fake, self.harness = fake, harness
        if harness is not None:
            fake.artifact_store = (
                harness.artifacts
            )  # a run's artifacts, as the REST API lists and serves them
        self.runs: list[Run] = []
        fake.workflow_runs = self.runs  # GET actions/runs lists the runs these rules started
        self.secrets: dict[str, str] = {}
        self.environment_secrets: dict[str, dict[str, str]] = {}
        self.variables: dict[str, str] = {}
        self.deployment_approvers: dict[
            str, str
        ] = {}  # environment -> the reviewer who approves its deployments
        self.not_run: dict[str, str] = {}  # workflow file -> why it is recorded as started but not run here
        self.cron_ticks: list[str] = []

    # -- what starts ---------------------------------------------------------------------------------------------

    def workflows_at(self, sha: str) -> dict[str, dict]:
        listing = self.fake._git("ls-tree", "--name-only", f"{sha}:.github/workflows")
        found = {}
        for name in listing.splitlines():
            if name.endswith((".yml", ".yaml")):
                found[name] = yaml.safe_load(self.fake._git("show", f"{sha}:.github/workflows/{name}"))
        return found

    def started_by(self, event: Event, depth: int = 0) -> list[tuple[str, dict, str, str | None]]:
        """(workflow file, workflow, commit of the file, ref's branch) for every workflow `event` starts."""
        if event.who.kind == "github_token" and event.name not in (*NO_RESTART, "workflow_run"):
            return []  # a run's completion is GitHub's event, not the token's: workflow_run still starts
        if event.name == "workflow_run" and depth > MAX_WORKFLOW_RUN_DEPTH:
            return []
        sha, branch = self.workflow_commit(event)
        if sha is None:
            return []
        started = []
        for name, workflow in self.workflows_at(sha).items():
            if self.matches(name, triggers(workflow), event):
                started.append((name, workflow, sha, branch))
        return started

    def workflow_commit(self, event: Event) -> tuple[str | None, str | None]:
        """Whose workflow files: the commit, and the branch the run's ref names (None for tags and merges)."""
        data = event.data
        if event.name == "push":
            if data["after"] == ZERO:
                return None, None  # a deleted ref starts nothing
            ref = data["ref"]
            return data["after"], ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        if event.name in ("pull_request", "pull_request_review"):
            pull = self.fake.pulls[data["number"]]
            if event.name == "pull_request" and event.action == "closed":
                return pull.get("merge_commit_sha") or pull["base_sha"], None
            return pull.get("merge_ref_sha"), None
        if event.name == "pull_request_target":
            base = self.fake.pulls[data["number"]]["base_ref"]
            return self.fake.ref(f"refs/heads/{base}"), base
        if event.name == "workflow_dispatch":
            ref = data["ref"]
            branch = ref.removeprefix("refs/heads/")
            sha = self.fake.ref(f"refs/heads/{branch}") or self.fake.ref(
                f"refs/tags/{ref.removeprefix('refs/tags/')}"
            )
            return sha, branch if self.fake.ref(f"refs/heads/{branch}") else None
        return self.fake.ref("refs/heads/main"), "main"

    def matches(self, name: str, on: dict, event: Event) -> bool:
        if event.name not in on:
            return False
        spec = on[event.name]
        data = event.data
        if event.name == "workflow_dispatch":
            return data["workflow"] in (name, f".github/workflows/{name}")
        if event.name == "schedule":
            return any(entry.get("cron") == data["cron"] for entry in spec)
        types = spec.get("types", DEFAULT_TYPES.get(event.name))
        if types is not None and event.action not in types:
            return False
        if event.name == "push":
            return self._push_matches(spec, data)
        if event.name in PULL_EVENTS:
            pull = self.fake.pulls[data["number"]]
            if not filtered([pull["base_ref"]], spec.get("branches"), spec.get("branches-ignore")):
                return False
            if event.name != "pull_request_review" and ("paths" in spec or "paths-ignore" in spec):
                files = self.fake.changed_files(data["number"])
                return bool(files) and filtered(files, spec.get("paths"), spec.get("paths-ignore"))
            return True
        if event.name == "workflow_run":
            run = data["run"]
            if run.name not in spec.get("workflows", []):
                return False
            return filtered([run.head_branch or ""], spec.get("branches"), spec.get("branches-ignore"))
        return True

    def _push_matches(self, spec: dict, data: dict) -> bool:
        ref = data["ref"]
        has_branches = "branches" in spec or "branches-ignore" in spec
        has_tags = "tags" in spec or "tags-ignore" in spec
        if ref.startswith("refs/tags/"):
            if has_branches and not has_tags:
                return False
            return filtered([ref.removeprefix("refs/tags/")], spec.get("tags"), spec.get("tags-ignore"))
        if has_tags and not has_branches:
            return False
        if not filtered([ref.removeprefix("refs/heads/")], spec.get("branches"), spec.get("branches-ignore")):
            return False
        if "paths" in spec or "paths-ignore" in spec:
            before = data["before"]
            if before == ZERO:
                before = self.fake._git("merge-base", "refs/heads/main", data["after"])
            files = self.fake._git("diff", "--name-only", before, data["after"]).splitlines()
            return bool(files) and filtered(files, spec.get("paths"), spec.get("paths-ignore"))
        return True

    # -- running ---------------------------------------------------------------------------------------------------

    def settle(self, limit: int = 30) -> list[Run]:
        """Deliver every pending event, run what it starts, and what those runs cause, until nothing starts."""
        started: list[Run] = []
        queue: list[tuple[Event, int]] = [(event, 0) for event in self.fake.take_events()]
        while queue:
            event, depth = queue.pop(0)
            for name, workflow, sha, branch in self.started_by(event, depth):
                assert len(started) < limit, (
                    f"more than {limit} runs: a loop? {[r.workflow for r in started]}"
                )
                run = self.start(name, workflow, sha, branch, event, depth)
                started.append(run)
                queue += [(caused, 0) for caused in self.fake.take_events()]
                if run.conclusion in ("success", "failure"):
                    queue.append((Event("workflow_run", "completed", run.who, {"run": run}), depth + 1))
        return started

    def tick_schedule(self, cron: str | None = None) -> list[Run]:
        """The scheduler fires: every workflow of the default branch with this cron (or any cron) starts."""
        sha = self.fake.ref("refs/heads/main")
        crons = {
            entry["cron"]
            for workflow in self.workflows_at(sha).values()
            for entry in triggers(workflow).get("schedule", [])
        }
        for value in sorted(crons):
            if cron is None or value == cron:
                self.fake.events.append(Event("schedule", None, self.schedule_actor(), {"cron": value}))
        return self.settle()

    def schedule_actor(self) -> Identity:
        """Scheduled runs are attributed to the user who last changed the schedule: the repository's admin here."""
        return next(user for user in self.fake.users.values() if user.role == "admin")

    def start(self, name: str, workflow: dict, sha: str, branch: str | None, event: Event, depth: int) -> Run:
        run_id = next(self.harness.run_ids)
        payload = self.payload(event, sha, branch, name, workflow)
        problems = [] if event.name == "schedule" else schemas.check_payload(event.name, payload)
        assert not problems, f"the {event.name} payload does not match GitHub's schema: {problems[:3]}"
        head_sha, head_branch = self._head(event, sha, branch)
        run = Run(
            run_id,
            name,
            workflow.get("name", name),
            event.name,
            payload,
            event.who,
            head_sha,
            head_branch,
            depth=depth,
        )
        self.runs.append(run)
        if name in self.not_run:
            run.conclusion, run.output = "not run here", self.not_run[name]
            return run
        fork = (  # pull_request_target runs the base branch's workflow with its full token, forks included
            event.name in ("pull_request", "pull_request_review")
            and self.fake.pulls[event.data["number"]]["head_repo"] != self.fake.repository
        )
        refusal = nested_permissions_refusal(workflow, self.fake.called_workflow)
        if refusal:  # GitHub refuses the run before any job starts
            run.conclusion, run.output = "failure", refusal
            return run
        token = self.fake.run_token(run_id, workflow_permissions(workflow), fork=fork)
        clone = self.harness.clone(sha, branch)
        ref = self._ref(event, branch)
        secrets, run.waiting, called = self.protect_environments(
            clone / ".github" / "workflows" / name, workflow, ref, event.who, fork
        )
        result: ActRun = self.harness.act(
            event.name,
            payload,
            name,
            clone,
            token,
            event.who.login,
            secrets,
            {} if fork else dict(self.variables),  # a fork's run gets no configuration variables either
            run_id,
            called,
        )
        # A called workflow's jobs are the run's jobs, as GitHub lists them; act also reports the calling job.
        callers = {job["uses"]: job_id for job_id, job in workflow["jobs"].items() if "uses" in job}
        nested = {job_id for uses in callers for job_id in self.fake.called_workflow(uses)["jobs"]}
        only_callers = set(callers.values()) - nested
        run.jobs = {job_id: outcome for job_id, outcome in result.jobs.items() if job_id not in only_callers}
        run.output = result.output
        (self.harness.root / f"run-{run_id}-{name}.log").write_text(
            result.output
        )  # for a person reading a failure
        if run.waiting:
            run.conclusion = "waiting"
        else:
            run.conclusion = (
                "success" if result.returncode == 0 and "failure" not in result.jobs.values() else "failure"
            )
        names = self.job_names(workflow)
        for job_id, conclusion in run.jobs.items():
            job_name = names.get(job_id, job_id)
            self.fake.check_runs.append(
                {
                    "sha": head_sha,
                    "name": job_name,
                    "conclusion": conclusion,
                    "app_id": ACTIONS_APP_ID,
                    "run_id": run_id,
                }
            )
        return run

    def _head(self, event: Event, sha: str, branch: str | None) -> tuple[str, str | None]:
        if event.name in PULL_EVENTS:
            pull = self.fake.pulls[event.data["number"]]
            return pull["head_sha"], pull["head_ref"]
        if event.name == "push":
            return event.data["after"], event.data["ref"].split("/", 2)[2]
        return sha, branch

    def _ref(self, event: Event, branch: str | None) -> str:
        if event.name in ("pull_request", "pull_request_review"):
            return f"refs/pull/{event.data['number']}/merge"
        if event.name == "push":
            return event.data["ref"]
        if event.name == "workflow_dispatch" and not branch:
            return (
                event.data["ref"]
                if event.data["ref"].startswith("refs/")
                else f"refs/tags/{event.data['ref']}"
            )
        return f"refs/heads/{branch or 'main'}"

    # -- environments ------------------------------------------------------------------------------------------------

    def job_names(self, workflow: dict) -> dict[str, str]:
        """The check-run name of each job id: a called workflow's job is `<caller job> / <its job>`, as on GitHub."""
        names = {}
        for job_id, job in workflow["jobs"].items():
            names[job_id] = job.get("name", job_id)
            if "uses" in job:
                for nested_id, nested in self.fake.called_workflow(job["uses"])["jobs"].items():
                    names.setdefault(nested_id, f"{names[job_id]} / {nested.get('name', nested_id)}")
        return names

    def protect_environments(self, path: Path, workflow: dict, ref: str, who: Identity, fork: bool):
        """Apply each job's environment, also in the shared workflows the jobs call: a ref it may not deploy from
        fails the job; a deployment waiting for a reviewer does not run. Returns the secrets the run gets, the
        environments left waiting, and the run copies of called workflows that protection changed (uses -> copy)."""
        workflow = copy.deepcopy(workflow)
        secrets = {} if fork else dict(self.secrets)
        waiting: list[str] = []
        rewritten = self._protect_jobs(workflow["jobs"], ref, who, fork, secrets, waiting)
        called = {}
        for job in workflow["jobs"].values():
            if "uses" not in job:
                continue
            shared = copy.deepcopy(self.fake.called_workflow(job["uses"]))
            if self._protect_jobs(shared["jobs"], ref, who, fork, secrets, waiting):
                called[job["uses"]] = shared
            if any(nested.get("environment") for nested in shared["jobs"].values()):
                # On GitHub an environment's secrets reach the called job that names the environment; act hands a
                # called workflow only the secrets its caller passes, so the run copy passes what this run gets.
                job["secrets"] = "inherit"
                rewritten = True
        if rewritten:  # the run copy of the workflow, as GitHub would execute it under these protection rules
            document = {("on" if key is True else key): value for key, value in workflow.items()}
            path.write_text(yaml.safe_dump(document, sort_keys=False))
        return secrets, waiting, called

    def _protect_jobs(
        self, jobs: dict, ref: str, who: Identity, fork: bool, secrets: dict, waiting: list
    ) -> bool:
        """Protection for one workflow's jobs (see protect_environments); whether any job had to change."""
        rewritten = False
        for job_id, job in jobs.items():
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if not environment:
                continue
            settings = self.fake.environments.get(environment, {}).get("settings", {})
            refusal = self.deployment_refusal(environment, ref)
            if refusal:
                job["steps"] = [{"run": f"echo '::error::{refusal}'; exit 1"}]
                rewritten = True
                continue
            if settings.get("reviewers"):
                approver = self.deployment_approvers.get(environment)
                allowed = approver is not None and not (
                    settings.get("prevent_self_review") and approver == who.login
                )
                if not allowed:
                    waiting.append(environment)
                    for dependent in [job_id, *self._dependents(jobs, job_id)]:
                        jobs[dependent]["if"] = "false"
                    rewritten = True
                    continue
            if not fork:
                secrets.update(self.environment_secrets.get(environment, {}))
        return rewritten

    @staticmethod
    def _dependents(jobs: dict, job_id: str) -> list[str]:
        found, frontier = [], [job_id]
        while frontier:
            current = frontier.pop()
            for other, job in jobs.items():
                needs = job.get("needs", [])
                needs = [needs] if isinstance(needs, str) else needs
                if current in needs and other not in found:
                    found.append(other)
                    frontier.append(other)
        return found

    def deployment_refusal(self, environment: str, ref: str) -> str | None:
        """GitHub's refusal when `ref` may not deploy to `environment`, or None."""
        settings = self.fake.environments.get(environment, {}).get("settings", {})
        policy = settings.get("deployment_branch_policy")
        if not policy:
            return None
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        name = ref.removeprefix("refs/tags/").removeprefix("refs/heads/")
        if policy.get("custom_branch_policies"):
            policies = self.fake.environments[environment]["branch_policies"]
            if any(p["type"] == kind and glob_to_regex(p["name"]).match(name) for p in policies):
                return None
        elif policy.get("protected_branches") and kind == "branch" and name == "main":
            return None
        what = "Tag" if kind == "tag" else "Branch"
        return (
            f'{what} "{name}" is not allowed to deploy to {environment} due to environment protection rules.'
        )

    # -- payloads, as GitHub sends them ----------------------------------------------------------------------------

    def payload(self, event: Event, sha: str, branch: str | None, name: str, workflow: dict) -> dict:
        fake = self.fake
        repository = webhook_repository(fake)
        sender = fake._user_of(event.who)
        if event.name == "schedule":
            return {"schedule": event.data["cron"], "repository": repository}
        definition = {
            "push": "push$event",
            "workflow_dispatch": "workflow_dispatch$event",
            "repository_dispatch": "repository_dispatch$event",
            "pull_request_target": f"pull_request${event.action}",  # the pull_request payload (GitHub's docs)
        }.get(event.name, f"{event.name}${event.action}")
        payload = schemas.webhook_example(definition)
        payload.update(repository=repository, sender=webhook_user(sender))
        data = event.data
        if event.name == "push":
            payload.update(
                ref=data["ref"],
                before=data["before"],
                after=data["after"],
                created=data["before"] == ZERO,
                deleted=data["after"] == ZERO,
                forced=False,
                base_ref=None,
                compare=f"https://github.com/{fake.repository}/compare/{data['before'][:12]}...{data['after'][:12]}",
            )
            payload["head_commit"].update(id=data["after"], tree_id=data["after"])
            payload["pusher"] = {"name": event.who.login, "email": f"{event.who.login}@example.com"}
        elif event.name in PULL_EVENTS:
            pull = fake.pulls[data["number"]]
            known = payload[
                "pull_request"
            ]  # the fields this event's schema has (a review's pull request has fewer)
            payload["pull_request"] = overlay(
                known, {k: v for k, v in webhook_pull(fake, pull).items() if k in known}
            )
            if event.name in ("pull_request", "pull_request_target"):
                payload["number"] = pull["number"]
                if "label" in data:
                    payload["label"] = overlay(payload["label"], {"name": data["label"], "color": "ededed"})
                if event.action == "synchronize":
                    payload.update(before=data["before"], after=pull["head_sha"])
            else:
                review = data["review"]
                payload["review"] = overlay(
                    payload["review"],
                    {
                        "id": review["id"],
                        "state": review["state"].lower(),
                        "commit_id": review["commit_id"],
                        "body": review["body"] or None,
                        "author_association": review["author_association"],
                        "user": webhook_user(fake._user(review["user"], review["user_id"])),
                        "html_url": f"https://github.com/{fake.repository}/pull/{pull['number']}#pullrequestreview-{review['id']}",
                    },
                )
        elif event.name == "workflow_run":
            run: Run = data["run"]
            pulls = []
            if run.event in ("pull_request", "pull_request_review"):
                pull = fake.pulls[run.payload["pull_request"]["number"]]
                if pull["head_repo"] == fake.repository:  # empty for forks, as on GitHub
                    pulls = [
                        {
                            "id": pull["id"],
                            "number": pull["number"],
                            "url": f"{fake.api_url}/repos/{fake.repository}/pulls/{pull['number']}",
                            "head": {
                                "ref": pull["head_ref"],
                                "sha": pull["head_sha"],
                                "repo": {
                                    "id": 4711,
                                    "name": fake.name,
                                    "url": f"{fake.api_url}/repos/{fake.repository}",
                                },
                            },
                            "base": {
                                "ref": pull["base_ref"],
                                "sha": pull["base_sha"],
                                "repo": {
                                    "id": 4711,
                                    "name": fake.name,
                                    "url": f"{fake.api_url}/repos/{fake.repository}",
                                },
                            },
                        }
                    ]
                head_repository = pull["head_repo"]
            else:
                head_repository = fake.repository
            payload["workflow_run"] = overlay(
                payload["workflow_run"],
                {
                    "id": run.run_id,
                    "name": run.name,
                    "event": run.event,
                    "status": "completed",
                    "conclusion": run.conclusion,
                    "head_sha": run.head_sha,
                    "head_branch": run.head_branch,
                    "path": f".github/workflows/{run.workflow}",
                    "html_url": f"https://github.com/{fake.repository}/actions/runs/{run.run_id}",
                    "pull_requests": pulls,
                    "head_repository": {
                        **payload["workflow_run"]["head_repository"],
                        "full_name": head_repository,
                    },
                    "repository": {**payload["workflow_run"]["repository"], "full_name": fake.repository},
                    "actor": webhook_user(fake._user_of(run.who)),
                    "triggering_actor": webhook_user(fake._user_of(run.who)),
                },
            )
            payload["workflow"] = overlay(
                payload["workflow"], {"name": run.name, "path": f".github/workflows/{run.workflow}"}
            )
        elif event.name == "workflow_dispatch":
            ref = data["ref"]
            payload.update(
                inputs={
                    key: str(value).lower() if isinstance(value, bool) else value
                    for key, value in data["inputs"].items()
                },
                ref=ref
                if ref.startswith("refs/")
                else (f"refs/heads/{ref}" if branch else f"refs/tags/{ref}"),
                workflow=f".github/workflows/{name}",
            )
        elif event.name == "repository_dispatch":
            payload.update(action=event.action, client_payload=data["client_payload"], branch="main")
        return payload


def workflow_permissions(workflow: dict) -> dict[str, str]:
    """The GITHUB_TOKEN permissions of a run: every job's, as the fake has one token per run."""
    granted: dict[str, str] = {}
    blocks = [workflow.get("permissions") or {}] + [
        job.get("permissions") or {} for job in workflow["jobs"].values()
    ]
    for block in blocks:
        if isinstance(block, str):  # read-all / write-all
            continue
        for scope, level in block.items():
            scope = scope.replace("-", "_")
            if level == "write" or granted.get(scope) != "write":
                granted[scope] = level
    return {scope: level for scope, level in granted.items() if level in ("read", "write")}


LEVELS = {"none": 0, "read": 1, "write": 2}
# The scopes of a `permissions:` block (Workflow syntax: permissions).
SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "security-events",
    "statuses",
)


def nested_permissions_refusal(workflow: dict, called) -> str | None:
    """GitHub's refusal of a run whose called workflow has a job asking for more GITHUB_TOKEN permissions than the
    caller's job grants (a called workflow may only keep or lower them); None when every nested job fits."""
    for job in workflow["jobs"].values():
        if "uses" not in job:
            continue
        allowed = permission_levels(job.get("permissions", workflow.get("permissions", {})))
        shared = called(job["uses"])
        for nested_id, nested in shared["jobs"].items():
            asked = permission_levels(nested.get("permissions", shared.get("permissions", {})))
            for scope, level in asked.items():
                if LEVELS[level] > LEVELS[allowed.get(scope, "none")]:
                    return (
                        f"Error calling workflow '{job['uses']}'. The nested job '{nested_id}' is requesting "
                        f"'{scope}: {level}', but is only allowed '{scope}: {allowed.get(scope, 'none')}'."
                    )
    return None


def permission_levels(block) -> dict[str, str]:
    """A `permissions:` block as scope -> level; read-all and write-all as the level of every scope asked."""
    if isinstance(block, str):
        level = block.removesuffix("-all")
        return {scope: level for scope in SCOPES}
    return {scope: level for scope, level in (block or {}).items()}


def overlay(base, values):
    if isinstance(base, dict) and isinstance(values, dict):
        merged = dict(base)
        for key, value in values.items():
            merged[key] = overlay(base.get(key), value) if key in base else value
        return merged
    return values


def webhook_user(user: dict) -> dict:
    """A user as webhook payloads carry one: who it is, in the shape of octokit's schema."""
    identity = {key: user[key] for key in ("login", "id", "type", "html_url", "url")}
    return schemas.webhook_example("push$event")["sender"] | identity


def webhook_repository(fake: FakeGitHub) -> dict:
    repository = schemas.webhook_example("push$event")["repository"]
    owner = webhook_user(
        fake._user(fake.owner, fake.users[fake.owner].user_id if fake.owner in fake.users else 9999)
    )
    repository.update(
        id=4711,
        name=fake.name,
        full_name=fake.repository,
        owner=owner,
        private=fake.visibility != "public",
        visibility=fake.visibility,
        default_branch="main",
        html_url=f"https://github.com/{fake.repository}",
        clone_url=fake.clone_url,
        url=f"{fake.api_url}/repos/{fake.repository}",
    )
    return repository


def webhook_pull(fake: FakeGitHub, pull: dict) -> dict:
    rest = fake._pull_json(pull)
    repository = webhook_repository(fake)
    head_repository = (
        repository
        if pull["head_repo"] == fake.repository
        else {
            **repository,
            "full_name": pull["head_repo"],
            "fork": True,
            "name": pull["head_repo"].split("/")[1],
        }
    )
    return {
        "id": pull["id"],
        "number": pull["number"],
        "state": pull["state"],
        "title": pull["title"],
        "body": pull["body"] or None,
        "user": webhook_user(rest["user"]),
        "html_url": rest["html_url"],
        "url": rest["url"],
        "merged": pull["merged"],
        "merge_commit_sha": pull["merge_commit_sha"],
        "author_association": rest["author_association"],
        "labels": [],
        "head": {
            "label": rest["head"]["label"],
            "ref": pull["head_ref"],
            "sha": pull["head_sha"],
            "repo": head_repository,
            "user": webhook_user(rest["head"]["user"]),
        },
        "base": {
            "label": rest["base"]["label"],
            "ref": pull["base_ref"],
            "sha": pull["base_sha"],
            "repo": repository,
            "user": webhook_user(rest["base"]["user"]),
        },
    }
