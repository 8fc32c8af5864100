"""`challenger-comment`: monitor --challenger's section on production traffic, posted in place in the pull request's
report comment or the production version's monitoring issue, as inert text, with the standard library only."""

import subprocess
import sys
import threading

import pytest
from github_api import BOT, REPOSITORY, FakeGitHub
from rendered import render

from ml_gitops.cli import main
from ml_gitops.monitor import challenger, posting, watch
from ml_gitops.review import comment

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAD = "c" * 40
EVIL = "@ada <img src=x onerror=alert(1)> [x](https://evil.example) www.evil.example evil/repo#1 <!-- -->"
REPORT = f"{comment.MARKER}\n## Model report: ✅ gate passed\n\nthe report\n"
ISSUE = "<!-- monitoring of model@v1.0.0 -->\nHow model@v1.0.0 does in production.\n"


def entry(version: str = "pr-7@ccccccc", segment: str = "north") -> dict:
    """A challenger entry of monitor.json, as monitor/challenger.py writes it (versions and segments from the log)."""
    metric = {"champion": 0.8, "challenger": 0.82, "low": -0.01, "high": 0.05}
    return {
        "model_sha256": "f" * 64,
        "model_versions": [version],
        "first": "2026-03-02T00:00:00+00:00",
        "last": "2026-03-03T00:00:00+00:00",
        "paired": 1200,
        "metric": "roc_auc",
        "tolerance": "0.01",
        "verdict": challenger.WITHIN,
        "overall": challenger.WITHIN,
        "by_segment": False,
        "metrics": {"roc_auc": metric},
        "segments": {
            "level": 0.95,
            "described": "judged per segment",
            "min_rows": 50,
            "failures": 0,
            "rows": [
                {
                    "column": segment,
                    "segment": segment,
                    "rows": 600,
                    "champion": 0.8,
                    "challenger": 0.81,
                    "low": -0.02,
                    "high": 0.04,
                    "judged": True,
                    "worse": False,
                    "tolerance": 0.01,
                    "note": "",
                }
            ],
        },
        "latency": None,
        "coverage": {"production": 1300, "answered": 1290, "no_answer": 10},
        "notes": [],
    }


class GitHubWithIssues(FakeGitHub):
    """The package tests' GitHub stand-in, with the repository's issues (list, edit)."""

    def __init__(self):
        super().__init__()
        self.issues: list[dict] = []

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def answer(self, method, path, query, body):
        prefix = f"/repos/{REPOSITORY}/issues"
        if path == prefix and method == "GET":
            return self._page([i for i in self.issues if i["state"] == query.get("state")], query, path)
        if path.startswith(prefix + "/") and path[len(prefix) + 1 :].isdigit() and method == "PATCH":
            (issue,) = [i for i in self.issues if i["number"] == int(path[len(prefix) + 1 :])]
            issue.update(body)
            return 200, issue, ""
        return super().answer(method, path, query, body)


@pytest.fixture
def github(monkeypatch):
    with GitHubWithIssues() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        fake.open_pull_request(7, ["params.yaml"], head_sha=HEAD)
        yield fake


def report_comment(github, body: str = REPORT, user: dict = BOT) -> dict:
    posted = {"id": 1000 + len(github.comments), "issue": 7, "body": body, "user": user}
    github.comments.append(posted)
    return posted


def section_file(tmp_path, **fields) -> str:
    path = tmp_path / "challenger.md"
    path.write_text(challenger.markdown(entry(**fields)) + "\n", encoding="utf-8")
    return str(path)


def post(*arguments: str) -> int:
    return main(["challenger-comment", *arguments])


def test_the_section_joins_the_report_comment_and_is_replaced_in_place(github, tmp_path):
    ours = report_comment(github)
    assert post("--pull-request", "7", "--commit", HEAD, "--section", section_file(tmp_path)) == 0
    first = ours["body"]
    assert first.startswith(REPORT.rstrip()), "the report is left as it was"
    assert posting.kept(first).startswith(posting.BEGIN)
    assert f"The candidate of commit `{HEAD[:12]}` judged on production traffic" in first
    assert (
        post("--pull-request", "7", "--commit", HEAD, "--section", section_file(tmp_path, segment="south"))
        == 0
    )
    second = ours["body"]
    assert second.count(posting.BEGIN) == second.count(posting.END) == 1, "replaced, not added"
    assert "south" in second
    assert "north" not in second
    shown = render(second)
    assert shown.headings == [
        "Model report: ✅ gate passed",
        "Challenger on production traffic",
        "Segments",
        "south",
    ]
    assert "moved on" not in second
    assert len(github.comments) == 1


def test_what_came_from_the_log_renders_as_inert_text(github, tmp_path):
    ours = report_comment(github)
    assert (
        post(
            "--pull-request",
            "7",
            "--commit",
            HEAD,
            "--section",
            section_file(tmp_path, version=EVIL, segment=EVIL),
        )
        == 0
    )
    shown = render(ours["body"])
    assert shown.links == []
    assert shown.images == []
    assert shown.mentions == []
    assert shown.references == []
    assert shown.raw_tags == []
    said = "".join(shown.text)
    assert "@\u200bada <img src=x onerror=alert(1)>" in said, "the version as text"
    assert shown.comments == [
        part.removeprefix("<!--").removesuffix("-->") for part in (comment.MARKER, posting.BEGIN, posting.END)
    ]


def test_a_pull_request_that_moved_on_is_said_to_have(github, tmp_path):
    ours = report_comment(github)
    older = "d" * 40
    assert post("--pull-request", "7", "--commit", older, "--section", section_file(tmp_path)) == 0
    assert f"its head is now `{HEAD[:12]}`" in ours["body"]
    assert f"commit `{older[:12]}`" in ours["body"]


def test_without_a_report_comment_nothing_is_posted(github, tmp_path, capsys):
    someone = report_comment(github, user={"login": "mallory", "type": "User"})
    before = someone["body"]
    assert post("--pull-request", "7", "--commit", HEAD, "--section", section_file(tmp_path)) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: pull request #7 has no report comment yet")
    assert error.count("\n") == 1
    assert someone["body"] == before, "a comment anyone else wrote is never edited"
    assert len(github.comments) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--pull-request", "7"], "--pull-request needs --commit"),
        (["--pull-request", "7", "--commit", "main"], "is not a commit SHA"),
        (["--version", "v1.0.0", "--commit", HEAD], "--commit goes with --pull-request only"),
        (["--version", "1.0"], "is not a version such as v1.2.0"),
        (["--pull-request", "0", "--commit", HEAD], "is not a pull request number"),
    ],
)
def test_bad_arguments_are_refused_with_one_line(github, tmp_path, capsys, arguments, message):
    ours = report_comment(github)
    assert post(*arguments, "--section", section_file(tmp_path)) == 1
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
    assert ours["body"] == REPORT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found: run `monitor --challenger"),
        ("# Something else\n", "does not start with '## Challenger on production traffic'"),
        (f"{posting.HEADING}\n\n{posting.END}\n<img src=x>", "holds an HTML comment"),
        (b"\xff\xfe", "cannot be read as UTF-8 text"),
    ],
)
def test_a_file_that_is_not_the_monitor_s_section_is_refused(github, tmp_path, capsys, content, message):
    ours = report_comment(github)
    path = tmp_path / "section.md"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert post("--pull-request", "7", "--commit", HEAD, "--section", str(path)) == 1
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
    assert ours["body"] == REPORT


def test_a_long_section_is_cut_at_a_line_and_the_body_fits_one_comment(github, tmp_path):
    ours = report_comment(github, REPORT + "x" * 50_000)
    long = challenger.markdown(entry()) + "\n" + "\n".join(f"- note {n} " + "y" * 60 for n in range(2_000))
    (tmp_path / "long.md").write_text(long)
    assert post("--pull-request", "7", "--commit", HEAD, "--section", str(tmp_path / "long.md")) == 0
    body = ours["body"]
    assert len(body) <= comment.markdown.MAX_COMMENT_CHARS
    assert posting.CUT_NOTE in body
    assert body.rstrip().endswith(posting.END)
    assert "x" * 50_000 in body, "the report is left whole"


def test_the_section_goes_to_the_monitoring_issue_and_its_scheduled_edit_keeps_it(
    github, tmp_path, monkeypatch
):
    ours = {"number": 3, "state": "open", "user": BOT, "body": ISSUE}
    forged = {"number": 2, "state": "open", "user": {"login": "mallory", "type": "User"}, "body": ISSUE}
    github.issues += [forged, ours]
    assert post("--version", "v1.0.0", "--section", section_file(tmp_path)) == 0
    assert post("--version", "v1.0.0", "--section", section_file(tmp_path, segment="south")) == 0
    assert ours["body"].startswith(ISSUE.rstrip())
    assert ours["body"].count(posting.BEGIN) == 1
    assert "south" in ours["body"]
    assert forged["body"] == ISSUE
    summary = {"verdict": "none", "reason": "no labels yet"}
    watch.update_issue("v1.0.0", summary, "https://github.com/acme/churn/actions/runs/9")
    assert "no labels yet" in ours["body"]
    assert "south" in posting.kept(ours["body"]), "the scheduled edit keeps the section"


def test_a_scheduled_run_that_compared_a_challenger_writes_its_section_to_the_block(github):
    github.issues.append(ours := {"number": 3, "state": "open", "user": BOT, "body": ISSUE})
    summary = {"verdict": "none", "reason": "no labels yet", "challenger": entry(segment="east")}
    watch.update_issue("v1.0.0", summary, "https://github.com/acme/churn/actions/runs/9")
    assert ours["body"].count(posting.HEADING) == 1
    assert "east" in posting.kept(ours["body"])


def test_without_a_monitoring_issue_nothing_is_posted(github, tmp_path, capsys):
    assert post("--version", "v1.0.0", "--section", section_file(tmp_path)) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no open monitoring issue of model@v1.0.0")
    assert error.count("\n") == 1


def test_the_command_runs_on_the_standard_library_alone(github, tmp_path):
    report_comment(github)
    heavy = ("pandas", "numpy", "yaml", "sklearn", "scipy", "pyarrow", "matplotlib", "skops")
    code = (
        "import sys\nfrom ml_gitops.cli import main\n"
        f"code = main(['challenger-comment', '--pull-request', '7', '--commit', '{HEAD}', '--section', "
        f"{section_file(tmp_path)!r}])\n"
        f"print(code, sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.strip().splitlines()[-1] == "0 []", ran.stderr
