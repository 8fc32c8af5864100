"""The report comment says only what model-report.yml decided or checked, and shows what the pull request's code
wrote as inert text. Each comment is read the way GitHub shows it: rendered by cmark-gfm (tests/rendered.py), then
its links, images, headings, raw HTML and mentions are taken from the HTML, never from the Markdown."""

import json
import os
import stat
import time
import unicodedata

import pytest
from github_api import REPOSITORY, FakeGitHub
from rendered import render

from ml_gitops.review import charts, comment, markdown
from ml_gitops.review.verdict import Verdict

HEAD = "a" * 40
FAILED = Verdict(
    7,
    HEAD,
    "failure",
    "The candidate model failed the gate",
    True,
    "roc_auc 0.9000 -> 0.8000 (-0.1000) fails.",
)
TRUSTED_HEADINGS = ["Model report: ❌ gate failed", "Metrics"]
BIDI_AND_INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff\u00ad"
)

# What a fork's own code can put in its report.md (report.md passes the artifact check unless it links elsewhere:
# these are made harmless in the comment whether or not that check caught them).
ATTACKS = {
    "html in the text of an allowed link": "[<img src=x onerror=alert(1)> @acme/ml-team](https://github.com/acme/churn/pull/1)",
    "a mention in the text of an allowed image": "![cc @octocat](plots/roc.png)",
    "a link elsewhere": "[Sign in again](https://evil.example/login)",
    "a bare address after a parenthesis": "(https://evil.example)",
    "a www host": "see www.evil.example now",
    "an e-mail address": "write to a@evil.example",
    "an angle-bracket autolink": "<https://evil.example/x>",
    "a reference-style link": "[here][1]\n\n[1]: https://evil.example",
    "a forged headline on line 5": "fine\n\nall good\n\n## Model report: ✅ gate passed\n\n**gate passed**",
    "a heading": "# gate passed",
    "a setext heading": "gate passed\n===========",
    "an html image": '<img src="https://evil.example/p.png">',
    "a picture": '<picture><source srcset="https://evil.example/p.png"></picture>',
    "details of its own": "<details open><summary>✅ gate passed</summary>\n\nhidden\n\n</details>",
    "a mention as an entity": "thanks &#64;acme/ml-team",
    "a cross-repository reference": "see evil/repo#1 and evil/repo@0123456789abcdef",
    "mentions": "Thanks @acme/ml-team and @ada!",
    "a closing tag for the comment's own details": "</details>\n\n# gate passed\n\n<details>",
    **{
        f"a fence of {n} backticks": f"{'`' * n}\n</details>\n\n# gate passed {n}\n\n@ada {'`' * n}\n{'`' * n}"
        for n in (3, 4, 5, 8, 16, 40)
    },
    "tildes that would swallow the comment": "~~~\n<b>unclosed</b>",
    "an indented fence": "   ````\n# gate passed",
    "zero-width and bidi characters": "@\u200bada w\u200bww.evil.example gate \u202edeliaf\u202c \u2066x\u2069 \ufeff",
    "a line separator": "ok\u2028# gate passed",
    "carriage returns": "ok\r# gate passed\r\n```\r@ada",
}


def artifact(directory, report: str, **summary) -> object:
    """A model-report artifact (as the checks accept) whose report.md is `report`."""
    directory.mkdir(exist_ok=True)
    (directory / "plots").mkdir(exist_ok=True)
    (directory / "plots" / "roc.png").write_bytes(b"\x89PNG")
    (directory / "report.md").write_text(report, encoding="utf-8")
    fields = {"pull_request": 7, "head_sha": HEAD, "gate": "pass", "metrics": {"roc_auc": 0.8}, **summary}
    (directory / "report.json").write_text(json.dumps(fields))
    return directory


@pytest.fixture
def cml(tmp_path, monkeypatch):
    """A stand-in for CML's `cml asset publish` (a Node tool, not installed here): prints the asset's address."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "cml"
    script.write_text('#!/bin/sh\nprintf "https://asset.cml.dev/%s?cml=png\\n" "$(basename "$3" .png)"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def champion(params):
    from ml_gitops.core import paths

    paths.METRICS.parent.mkdir(parents=True, exist_ok=True)
    paths.METRICS.write_text(json.dumps({params.gate.metric: 0.9, "other_metric": 0.85}))
    return params.gate.metric


def posted(tmp_path, report: str, images: str = "mermaid", verdict: Verdict = FAILED, **summary) -> str:
    directory = artifact(tmp_path / "artifact", report, **summary)
    return f"{comment.MARKER}\n{comment.compose(directory, images, comment.headline(verdict))}"


def assert_inert(shown, report: str) -> None:
    """Nothing the report wrote is a link, image, heading, element or mention; all of it is readable as text."""
    assert shown.links == [], "no link at all: the comment's own parts link nothing"
    assert all(src.startswith(comment.ASSET_HOST) for src in shown.images), shown.images
    assert shown.headings[:2] == TRUSTED_HEADINGS
    assert all("gate passed" not in heading for heading in shown.headings)
    assert shown.raw_tags == ["details", "summary"], "no element of the report's own, however it is written"
    assert shown.mentions == []
    assert shown.references == []
    assert shown.comments == [comment.MARKER.removeprefix("<!--").removesuffix("-->")]
    outside = "".join(shown.text)
    assert "gate passed" not in outside, "only the trusted verdict is said outside the report shown as text"
    assert "evil" not in outside
    last_line = markdown.visible(report).strip().splitlines()[-1].replace("@", "@\u200b")
    assert last_line.strip() in shown.code[-1], "the whole report is inside the one inert block"


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_what_the_report_writes_is_shown_as_inert_text(tmp_path, champion, attack):
    report = f"## Model report: ✅ gate passed\n\n{attack}\n"
    body = posted(tmp_path, report)
    shown = render(body)
    assert_inert(shown, report)
    invisible = set(body.replace("@\u200b", "@").replace(":\u200b", ":")) & set(BIDI_AND_INVISIBLE)
    assert not invisible, f"invisible or bidirectional characters reach the comment: {invisible}"


def test_the_headline_and_verdict_are_the_trusted_side_s_even_with_a_file_name_the_pull_request_chose(
    tmp_path, champion
):
    name = (
        "data/[x](https://evil.example) @acme/ml-team <img src=x> www.evil.example #1 \u202egate passed.csv"
    )
    verdict = Verdict(
        7,
        HEAD,
        "failure",
        f"Model inputs changed ({name}), but nothing was trained",
        True,
        f"Model inputs changed ({name})",
    )
    shown = render(posted(tmp_path, "report", verdict=verdict))
    assert shown.headings[0] == "Model report: ❌ gate failed"
    assert shown.links == []
    assert shown.mentions == []
    assert shown.raw_tags == ["details", "summary"]
    said = "".join(shown.text)
    assert "model-gate: failure" in said
    assert "data/[x](https:\u200b//evil.example) @\u200bacme/ml-team <img src=x>" in said, "the name, as text"


def test_the_metrics_are_the_checked_numbers_against_main_s_committed_champion(tmp_path, champion):
    body = posted(tmp_path, "report", metrics={champion: 0.8, "other_metric": 0.86, "x<img src=y>": 1.0})
    shown = render(body)
    table = "".join(shown.text)
    assert f"{champion} (gate)0.90000.8000-0.1000" in table.replace("\n", "")
    assert "other_metric0.85000.8600+0.0100" in table.replace("\n", "")
    assert "img" not in table, "a name that is no metric is left out"
    assert shown.raw_tags == ["details", "summary"]


def test_published_plots_render_as_images_of_cml_s_asset_host(tmp_path, champion, cml):
    shown = render(
        posted(tmp_path, "![pixel](https://evil.example/p.png)\n![roc](plots/roc.png)", images="publish")
    )
    assert shown.images == ["https://asset.cml.dev/roc?cml=png"]
    assert shown.links == []


def test_a_published_address_elsewhere_is_refused(tmp_path, champion, cml, monkeypatch):
    (tmp_path / "bin" / "cml").write_text('#!/bin/sh\necho "https://evil.example/x.png"\n')
    with pytest.raises(comment.UserError, match="cml asset publish roc.png failed"):
        posted(tmp_path, "report", images="publish")


def published_images(tmp_path, stand_in: str, names: list[str]) -> list[str]:
    """The images of the comment on an artifact with plots `names` (and roc), each uploaded by a stand-in `cml`
    that runs `stand_in` with the plot's name in $name, then prints its address."""
    (tmp_path / "bin" / "cml").write_text(
        f'#!/bin/sh\nname="$(basename "$3" .png)"\n{stand_in}printf "https://asset.cml.dev/%s?cml=png\\n" "$name"\n'
    )
    directory = artifact(tmp_path / "artifact", "report")
    for name in names:
        (directory / "plots" / f"{name}.png").write_bytes(b"\x89PNG")
    return render(comment.compose(directory, "publish", comment.headline(FAILED))).images


def test_the_plots_are_published_side_by_side_and_shown_in_name_order(tmp_path, champion, cml):
    """Each upload is a CML process that takes about a second to start: they run at once. Each stand-in upload
    waits until every upload has started, so uploads made one after another fail."""
    names = ["roc", "confusion_matrix", "precision_recall", "feature_importance"]
    started = tmp_path / "started"
    started.mkdir()
    waits = (
        f'touch "{started}/$name"\n'
        f'for _ in $(seq 200); do [ "$(ls "{started}" | wc -l)" -ge {len(names)} ] && break; sleep 0.05; done\n'
        f'[ "$(ls "{started}" | wc -l)" -ge {len(names)} ] || {{ echo "$name was uploaded alone" >&2; exit 1; }}\n'
    )
    images = published_images(tmp_path, waits, names)
    assert images == [f"https://asset.cml.dev/{name}?cml=png" for name in sorted(names)]


def test_no_more_than_four_uploads_run_at_once(tmp_path, champion, cml):
    """Seven plots: four CML processes at most at a time (each stand-in upload notes how many are running)."""
    running = tmp_path / "running"
    running.mkdir()
    counts = tmp_path / "counts"
    notes = (
        f'touch "{running}/$name"\nls "{running}" | wc -l >> "{counts}"\nsleep 0.3\nrm "{running}/$name"\n'
    )
    names = [f"plot_{letter}" for letter in "abcdef"]
    images = published_images(tmp_path, notes, names)
    assert images == [f"https://asset.cml.dev/{name}?cml=png" for name in sorted(["roc", *names])]
    running_at_each_start = [int(line) for line in counts.read_text().split()]
    assert len(running_at_each_start) == 7, "every plot was uploaded once"
    assert max(running_at_each_start) <= comment.UPLOADS_AT_ONCE


CHART = (
    '```mermaid\nxychart-beta\n    title "ROC curve"\n    x-axis "false positive rate" [0, 0.5, 1]\n'
    '    y-axis "true positive rate"\n    line [0.000, 0.700, 1.000]\n    line [0.000, 0.600, 1.000]\n```'
)


def test_private_plots_are_the_report_s_charts_drawn_again_from_their_numbers(tmp_path, champion):
    evil = '```mermaid\nflowchart LR\n    A-->B\n    click A "https://evil.example"\n```'
    shown = render(posted(tmp_path, f"## Model report: x\n\n### Plots\n\n{CHART}\n\n{evil}\n"))
    charts_shown = [
        code for code, language in zip(shown.code, shown.languages, strict=True) if language == "mermaid"
    ]
    assert charts_shown == [CHART.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"]
    assert charts.redraw(evil) == []
    assert "evil.example" in shown.code[-1], "what is not redrawn stays in the report shown as text"


def test_published_plots_come_with_the_chart_of_both_models(tmp_path, champion, cml):
    """Issue 27: with published images the comment showed the candidate's plots only; the report's chart of both
    models is drawn again beside them."""
    shown = render(posted(tmp_path, f"### Plots\n\n{CHART}\n\n![roc](plots/roc.png)\n", images="publish"))
    charts_shown = [
        code for code, language in zip(shown.code, shown.languages, strict=True) if language == "mermaid"
    ]
    assert len(charts_shown) == 1
    assert charts_shown[0].count("    line [") == 2, "the candidate and the champion"
    assert shown.images == ["https://asset.cml.dev/roc?cml=png"]


def test_a_report_of_any_size_fits_one_comment(tmp_path, champion):
    report = (
        "@ada " * 10 + "\u202e\n"
    ) * 1_200  # under the artifact's 60,000 bytes, longer once made visible
    names = {f"metric_{index:05d}": 0.5 for index in range(5_000)}  # as many names as report.json holds
    body = posted(tmp_path, report, metrics=names)
    assert len(body) <= markdown.MAX_COMMENT_CHARS
    assert comment.CUT_NOTE in body
    assert render(body).mentions == []


def test_the_report_is_posted_once_and_updated_in_place(tmp_path, champion, monkeypatch):
    directory = artifact(tmp_path / "artifact", "first")
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
        (directory / "report.md").write_text("second")
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
    (only,) = github.comments
    assert only["body"].startswith(comment.MARKER)
    assert "second" in render(only["body"]).code[-1]


@pytest.mark.parametrize("character", sorted(BIDI_AND_INVISIBLE))
def test_invisible_characters_are_shown_by_their_code_point(character):
    assert markdown.visible(f"a{character}b") == f"a<U+{ord(character):04X}>b"
    assert unicodedata.category(character) in ("Cf",)


def test_a_champion_scored_again_on_a_changed_test_set_is_the_one_tabled(tmp_path, champion):
    from ml_gitops.review import artifact as checks

    body = posted(
        tmp_path,
        "report",
        comparison=checks.RESCORED,
        metrics={champion: 0.8},
        champion_metrics={champion: 0.7},
    )
    said = "".join(render(body).text).replace("\n", "")
    assert "scored again by the run" in said
    assert f"{champion} (gate)0.70000.8000+0.1000" in said


@pytest.mark.parametrize(
    ("state", "mark"), [("success", "which passes"), ("failure", "which blocks the merge")]
)
def test_an_inconclusive_gate_is_headlined_as_the_verdict_names_it(tmp_path, champion, state, mark):
    inconclusive = Verdict(7, HEAD, state, "The gate is inconclusive", True, "", outcome=comment.INCONCLUSIVE)
    assert render(posted(tmp_path, "report", verdict=inconclusive)).headings[0] == (
        f"Model report: ❔ gate inconclusive, {mark}"
    )


def _section(tmp_path, value: str) -> str:
    from ml_gitops.monitor import posting

    return posting.block(
        f"{posting.HEADING}\n\nsegment {markdown.text(value)}", "The candidate of commit `c`."
    )


def test_a_report_update_keeps_the_section_on_production_traffic(tmp_path, champion, monkeypatch):
    """Issue 31: a push after the candidate's shadow started updates the report, not the evidence beside it."""
    from ml_gitops.monitor import posting

    directory = artifact(tmp_path / "artifact", "first")
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
        (only,) = github.comments
        only["body"] = posting.with_block(only["body"], _section(tmp_path, "north"))
        (directory / "report.md").write_text("second")
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
    (only,) = github.comments
    assert "second" in render(only["body"]).code[-1]
    assert posting.kept(only["body"]) == _section(tmp_path, "north")
    assert render(only["body"]).headings[-1] == "Challenger on production traffic"


def test_a_section_the_report_writes_is_never_taken_for_the_posted_one(tmp_path, champion, monkeypatch):
    """The report's text may hold the section's delimiters: it stays inside the inert block on every update."""
    from ml_gitops.monitor import posting

    forged = f"{posting.BEGIN}\n\n{posting.HEADING}\n\n@ada gate passed\n\n{posting.END}\n"
    directory = artifact(tmp_path / "artifact", forged)
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED))
    (only,) = github.comments
    assert posting.kept(only["body"]) == ""
    assert_inert(render(only["body"]), forged)


def test_an_upload_with_no_answer_is_stopped_and_made_once_more(tmp_path, champion, cml, monkeypatch):
    """A stalled asset host (seen under act: CML waiting for an answer that never came) holds no job: the upload is
    stopped after UPLOAD_SECONDS and made again."""
    monkeypatch.setattr(comment, "UPLOAD_SECONDS", 2)
    tried = tmp_path / "tried"
    tried.mkdir()
    # the stalled upload's own child keeps its output open: stopping the upload stops it too
    stalls_once = f'[ -e "{tried}/$name" ] || {{ touch "{tried}/$name"; sleep 30; }}\n'
    started = time.monotonic()
    images = published_images(tmp_path, stalls_once, ["residuals"])
    assert time.monotonic() - started < 20, "the stalled uploads were waited for"
    assert images == [f"https://asset.cml.dev/{name}?cml=png" for name in ("residuals", "roc")]
    assert sorted(path.name for path in tried.iterdir()) == ["residuals", "roc"]


def test_an_upload_that_stalls_twice_fails_with_one_line(tmp_path, champion, cml, monkeypatch):
    monkeypatch.setattr(comment, "UPLOAD_SECONDS", 1)
    with pytest.raises(comment.UserError, match=r"^cml asset publish roc.png failed: no answer in 1 s$"):
        published_images(tmp_path, "exec sleep 30\n", [])


def test_a_gh_reference_is_not_left_for_github_to_link():
    """GitHub links GH-<number> to that issue or pull request, as it does #<number> (cmark-gfm does not: checked
    on the text itself)."""
    assert markdown.text("fixes GH-12 and gh-3") == "fixes GH\u200b-12 and gh\u200b-3"
    assert markdown.text("SIGH-1 GHz-1") == "SIGH-1 GHz-1"


def test_the_status_is_one_line_whatever_a_file_name_in_its_reason_holds(monkeypatch, capsys):
    """A pull request's file name reaches the description ("Model inputs changed (...)"): its carriage return
    started a line of the trusted job's log that the runner read as a workflow command."""
    from ml_gitops.review import status

    sent = []
    monkeypatch.setattr(status.client, "api", lambda method, path, body: sent.append(body) or body)
    monkeypatch.setattr(status.client, "api_root", lambda method, path: {"default_branch": "main"})
    monkeypatch.setattr(status.client, "paginate", lambda path: [])
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    name = "data/x\r::error title=model-gate passed::it passed\r::add-mask::model-gate"
    status.set_status(Verdict(0, HEAD, "failure", f"Model inputs changed ({name})", True, ""), None)
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert "\r" not in printed
    assert printed.startswith("model-gate: failure (Model inputs changed (data/x ::error")
    assert "\r" not in sent[0]["description"]


def rules_requiring_the_gate(*apps):
    """GET rules/branches/{branch} (REST: "Get rules for a branch"): a ruleset's rule besides, and one
    required_status_checks rule per app named (None: no integration_id)."""
    rules = [
        {
            "type": "deletion",
            "ruleset_source_type": "Repository",
            "ruleset_source": "acme/churn",
            "ruleset_id": 1,
        }
    ]
    for number, app in enumerate(apps, start=2):
        check = {"context": "model-gate"} | ({"integration_id": app} if app is not None else {})
        rules.append(
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [check],
                },
                "ruleset_source_type": "Repository",
                "ruleset_source": "acme/churn",
                "ruleset_id": number,
            }
        )
    return rules


@pytest.mark.parametrize(
    ("creator", "apps", "refusal"),
    [
        ("github-actions[bot]", (15368,), None),
        ("github-actions[bot]", (None,), None),
        ("github-actions[bot]", (), None),
        ("acme-automation[bot]", (900001,), None),
        ("acme-automation[bot]", (None,), None),
        (
            "github-actions[bot]",
            (900001,),
            "the rules of main require model-gate from the GitHub App 900001, but GitHub Actions set it: give the "
            "automation its App (variable AUTOMATION_APP_CLIENT_ID, secret AUTOMATION_APP_PRIVATE_KEY in the "
            "environment automation), or run make github-setup without AUTOMATION_APP_ID",
        ),
        (
            "acme-automation[bot]",
            (15368,),
            "the rules of main require model-gate from GitHub Actions, but the automation's App set it: run "
            "AUTOMATION_APP_ID=<the App's numeric ID> make github-setup",
        ),
        (  # an organisation's ruleset that still names GitHub Actions beside the repository's naming the App
            "acme-automation[bot]",
            (900001, 15368),
            "the rules of main require model-gate from GitHub Actions, but the automation's App set it",
        ),
    ],
)
def test_a_status_the_rules_of_the_base_branch_would_never_count_is_refused_in_one_line(
    monkeypatch, creator, apps, refusal
):
    """Set by one app, required from another, model-gate would wait as "expected" forever and block every merge
    without a word: the status is still set, then the step fails saying what to change. It reads only what the App's
    token (statuses: write, and metadata as every token) may: the repository and its branch's rules."""
    from ml_gitops.review import status

    calls = []

    def api(method, path, body=None):
        calls.append((method, path))
        return {"state": body["state"], "context": body["context"], "creator": {"login": creator}}

    def api_root(method, path):
        calls.append((method, path))
        return {"full_name": "acme/churn", "default_branch": "main"}

    monkeypatch.setattr(status.client, "api", api)
    monkeypatch.setattr(status.client, "api_root", api_root)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setattr(
        status.client, "paginate", lambda path: calls.append(("GET", path)) or rules_requiring_the_gate(*apps)
    )
    verdict = Verdict(7, HEAD, "success", "The candidate model passed the gate", True, "")
    if refusal is None:
        status.set_status(verdict, None)
    else:
        with pytest.raises(status.UserError) as refused:
            status.set_status(verdict, None)
        assert str(refused.value).startswith(refusal)
    assert calls == [
        ("POST", f"statuses/{HEAD}"),
        ("GET", "repos/acme/churn"),
        ("GET", "rules/branches/main"),
    ], "the status is set first: a refusal never holds back the verdict"


def test_a_run_for_an_older_commit_never_overwrites_the_newer_commit_s_report(
    tmp_path, champion, monkeypatch
):
    """Two pushes, two model-pr runs, two model-report runs: the older one passed its checks, then spent minutes on
    its plots while the newer one posted. It looks at the pull request again just before it posts."""
    directory = artifact(tmp_path / "artifact", "the report of the newer commit")
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        github.open_pull_request(7, ["src/churn_model/pipeline/train.py"], head_sha="b" * 40)
        comment.post_report(7, directory, "mermaid", comment.headline(FAILED), "b" * 40)
        (directory / "report.md").write_text("the report of the older commit")
        address = comment.post_report(7, directory, "mermaid", comment.headline(FAILED), HEAD)
    (only,) = github.comments
    assert address == ""
    assert "the report of the newer commit" in render(only["body"]).code[-1]
