"""The release's model card: front matter in Hugging Face's model-index schema that YAML reads back, the sections a
reviewer, an auditor or the people affected read, text from the data and from a pull request kept inert, and the
version's lineage with its pull request's approvers read from GitHub's API."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import yaml
from fixture_model.pipeline import TASK
from rendered import render

from ml_gitops.core import paths
from ml_gitops.metrics import DIRECTIONS
from ml_gitops.release import card, publish
from ml_gitops.review import reliance

TAG = "model@v1.2.0"
HOSTILE = "<img src=x onerror=alert(1)> **[x](https://evil.example)** @admin"


@pytest.fixture
def written(trained, monkeypatch):
    """The card of the fixture's trained model, its commit id as git would give it."""
    monkeypatch.setattr(card, "git", lambda *args: "f" * 40)
    return lambda: card.model_card(TAG, json.loads(paths.METRICS.read_text()))


def parts(text: str) -> tuple[dict, str]:
    """The card's front matter (as YAML) and its body."""
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def inert(markdown: str) -> None:
    shown = render(markdown)
    assert (shown.links, shown.images, shown.raw_tags, shown.mentions) == ([], [], [], [])


def test_the_front_matter_is_model_index_yaml_with_every_metric(written):
    meta, body = parts(written())
    metrics = json.loads(paths.METRICS.read_text())
    assert meta["library_name"] == "sklearn"
    (model,) = meta["model-index"]
    assert model["name"] == TAG.split("@")[0]  # no pyproject.toml in the fixture: the tag's model name
    (result,) = model["results"]
    task = "tabular-classification" if TASK == "classification" else "tabular-regression"
    assert result["task"]["type"] == task
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    assert result["dataset"] == {
        "type": summary["source"],
        "name": summary["source"],
        "split": "test",
        "revision": summary["sha256"],
    }
    assert [m["type"] for m in result["metrics"]] == list(DIRECTIONS[TASK])
    for metric in result["metrics"]:
        assert metric["value"] == metrics[metric["type"]]
        assert metric["name"].startswith(f"{metric['type']} (95% interval ")
    assert body.lstrip().startswith(f"# Model card: {TAG}")


def test_the_card_says_what_a_reader_needs(written):
    _, body = parts(written())
    for heading in (
        "## Intended use",
        "## Data",
        "## Metrics on the held-out test set",
        "## Metrics per segment",
        "## What the model relies on",
        "## Drift and monitoring",
        "## Known limitations",
        "## Lineage",
    ):
        assert f"\n{heading}\n" in body, heading
    strongest = reliance.read().means().idxmax()
    assert f"| {strongest} |" in body.split("## What the model relies on")[1]
    assert "p_value: 0.01" in body  # the drift settings as params.yaml gives them
    assert f"- Version: `{TAG}`, commit `{'f' * 40}`." in body


def test_the_owner_s_intended_use_is_shown_and_its_guidance_left_out(written):
    card.INTENDED_USE.write_text("# Intended use\n\n<!-- write here -->\n")
    assert "**Not described yet.**" in written()
    card.INTENDED_USE.write_text(
        "# Intended use\n\n<!-- guidance -->\nScreens applications; a person decides.\n"
    )
    text = written()
    assert "## Intended use\n\nScreens applications; a person decides." in text
    assert "guidance" not in text


def test_hostile_feature_names_and_source_stay_inert(written, trained):
    """A column named with Markdown and HTML, and a data source that tries to end the front matter: the card
    renders them as text and YAML reads the source back as it is."""
    from fixture_model.pipeline import evaluate, train

    for path in (paths.TRAIN, paths.TEST):
        table = pd.read_parquet(path)
        table.rename(columns={table.columns[0]: HOSTILE}).to_parquet(path)
    train.run(trained)
    evaluate.run(trained)
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    source = "x\n---\nlicense: stolen\n<script>alert(1)</script> @admin"
    paths.DATA_SUMMARY.write_text(json.dumps({**summary, "source": source}))
    text = written()
    meta, body = parts(text)
    assert meta["model-index"][0]["results"][0]["dataset"]["name"] == source
    assert "license" not in meta
    inert(body)
    shown = "".join(render(body).text).replace("\u200b", "")
    assert HOSTILE in shown


def test_release_notes_are_the_card_without_its_front_matter(written, tmp_path):
    (tmp_path / "model-card.md").write_text(written())
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  model.skops\n")
    notes = publish.release_notes(tmp_path)
    assert notes.startswith(f"# Model card: {TAG}")
    assert "model-index" not in notes
    assert notes.endswith(f"## Checksums (SHA-256)\n```\n{'0' * 64}  model.skops\n```\n")


class FakeGitHub(BaseHTTPRequestHandler):
    """The two calls the lineage makes: the pull requests of a commit, and a pull request's reviews."""

    answers: dict[str, object] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        path = self.path.split("?")[0]
        body = json.dumps(self.answers.get(path, {"message": "Not Found"})).encode()
        self.send_response(200 if path in self.answers else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def github(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    yield FakeGitHub.answers
    server.shutdown()
    server.server_close()
    FakeGitHub.answers.clear()


def review(login: str, state: str) -> dict:
    return {"user": {"login": login}, "state": state}


def test_the_lineage_names_the_pull_request_and_those_whose_last_word_was_an_approval(github):
    commit = "c" * 40
    github[f"/repos/acme/churn/commits/{commit}/pulls"] = [
        {"number": 7, "title": HOSTILE, "merged_at": "2026-01-02T03:04:05Z", "merged_by": {"login": "ada"}}
    ]
    github["/repos/acme/churn/pulls/7/reviews"] = [
        review("bob", "CHANGES_REQUESTED"),
        review("bob", "APPROVED"),
        review("eve", "APPROVED"),
        review("eve", "CHANGES_REQUESTED"),
        review("cy", "COMMENTED"),
        review("ada", "APPROVED"),
        review("ada", "COMMENTED"),  # a comment after an approval leaves it standing
    ]
    line = card.pull_request(commit)
    assert line.startswith("Pull request: #7 ")
    assert line.endswith("; approved by ada, bob.")
    inert(line)


def test_without_a_token_the_lineage_says_why_the_pull_request_is_unknown(monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert card.pull_request("c" * 40).startswith("Pull request: not looked up (GITHUB\\_TOKEN must be set")


@pytest.mark.skipif(TASK != "classification", reason="classes")
def test_the_limitations_name_the_classes_it_saw(written):
    _, body = parts(written())
    limits = body.split("## Known limitations")[1]
    classes = sorted(pd.read_parquet(paths.TRAIN)["target"].astype(str).unique())
    assert f"It predicts only the classes it saw in training ({', '.join(classes)})" in limits


def test_each_segment_gets_its_metric_and_a_small_one_is_marked(trained, monkeypatch):
    from fixture_model.pipeline import evaluate, prepare, train

    from ml_gitops.core import config

    params = yaml.safe_load(paths.PARAMS.read_text())
    column = pd.read_parquet(paths.TEST).columns[0]
    middle = float(pd.read_parquet(paths.TEST)[column].median())
    params["segments"] = {"columns": {column: {"bins": [middle]}}, "min_rows": 100}
    paths.PARAMS.write_text(yaml.safe_dump(params))
    settings = config.load()
    for stage in (prepare, train, evaluate):
        stage.run(settings)
    monkeypatch.setattr(card, "git", lambda *args: "f" * 40)
    _, body = parts(card.model_card(TAG, json.loads(paths.METRICS.read_text())))
    table = body.split("## Metrics per segment")[1].split("\n## ")[0]
    test = pd.read_parquet(paths.TEST)
    below = int((test[column] < middle).sum())
    assert f"| \\< {middle:g} | {below:,} | " in table
    assert f"| \\>= {middle:g} | {len(test) - below:,} | " in table
    assert table.count("⚠️ too small to judge") == 2  # both under 100 rows: shown, marked
    assert (
        f"Segments too small to judge (under segments.min_rows): {column} = \\< {middle:g} ({below:,} rows)"
        in body
    )
