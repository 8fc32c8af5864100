"""What a release publishes: a model card with the metrics' uncertainty, and a refusal when metrics do not match."""

import hashlib
import json
import os
import shutil

import pytest

from ml_gitops import UserError
from ml_gitops.core import paths
from ml_gitops.metrics import DIRECTIONS
from ml_gitops.release import assets, card
from ml_gitops.review import compare


def test_metric_intervals_contain_the_metrics(trained):
    import pandas as pd

    metrics = json.loads(paths.METRICS.read_text())
    intervals = compare.metric_intervals(trained.task, pd.read_parquet(paths.PREDICTIONS))
    assert set(intervals) == set(DIRECTIONS[trained.task])
    for name, interval in intervals.items():
        assert interval.low <= metrics[name] <= interval.high, name


def test_model_card_names_the_version_data_and_uncertainty(trained, monkeypatch):
    monkeypatch.setattr(card, "git", lambda *args: "f" * 40)
    written = assets.model_card("model@v1.2.0", json.loads(paths.METRICS.read_text()))
    assert written.startswith("---\n")  # front matter: tests/release/test_model_card.py
    assert written.split("\n---\n", 1)[1].lstrip().startswith("# Model card: model@v1.2.0")
    assert f"| **{trained.gate.metric}** (the gate's) |" in written
    assert "95% bootstrap interval" in written
    assert "## Intended use" in written
    assert "## Known limitations" in written


def test_tampered_metrics_refuse_the_release(trained, monkeypatch):
    committed = json.loads(paths.METRICS.read_text())
    committed[trained.gate.metric] += 0.01
    monkeypatch.setattr(assets, "show", lambda *args: json.dumps(committed))
    monkeypatch.setattr(assets, "check_on_main", lambda tag: "f" * 40)  # a tag on main
    monkeypatch.setattr(assets, "tool", lambda *args, **kwargs: "")  # the pipeline ran in the fixture
    with pytest.raises(UserError) as caught:
        assets.assets("model@v1.2.0")
    assert f"model@v1.2.0 does not reproduce its metrics ({trained.gate.metric} " in str(caught.value)
    assert not paths.RELEASE_ASSETS.exists()


def test_matching_metrics_give_the_assets_and_their_checksums(trained, monkeypatch):
    monkeypatch.setattr(assets, "show", lambda *args: paths.METRICS.read_text())
    monkeypatch.setattr(assets, "check_on_main", lambda tag: "f" * 40)  # a tag on main
    monkeypatch.setattr(card, "git", lambda *args: "f" * 40)
    monkeypatch.setattr(assets, "tool", lambda *args, **kwargs: "")
    assets.assets("model@v1.2.0")
    names = sorted(p.name for p in paths.RELEASE_ASSETS.iterdir())
    assert names == ["SHA256SUMS", "metrics.json", "model-card.md", "model.skops"]
    for line in (paths.RELEASE_ASSETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((paths.RELEASE_ASSETS / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.any_task
def test_metrics_that_dvc_lock_vouches_for_are_measured_again_and_refused(trained, workdir, monkeypatch):
    """A version whose committed metrics were edited, with dvc.lock committed to match them: DVC alone would find
    every stage up to date and take the file as measured. The release runs every stage again and refuses it. (The
    stages' outputs are the fixture's; `dvc commit` records them in dvc.lock.)"""
    import subprocess

    import jinja2
    from conftest import CONTEXT, FIXTURE, TEMPLATE

    from ml_gitops.core.shell import tool

    environment = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    (workdir / "dvc.yaml").write_text(
        environment.from_string((TEMPLATE / "dvc.yaml").read_text()).render(CONTEXT)
    )
    shutil.copytree(FIXTURE / "src", workdir / "src")
    main = TEMPLATE / "src" / "{{cookiecutter.module_name}}" / "__main__.py"
    (workdir / "src" / "fixture_model" / "__main__.py").write_text(
        environment.from_string(main.read_text()).render(CONTEXT)
    )
    (workdir / "data" / "raw").mkdir(parents=True)
    (workdir / "pyproject.toml").write_text('[project]\nname = "fixture"\ndependencies = []\n')
    subprocess.run(["git", "init", "-q"], check=True)
    tool("dvc", "init", "-q")
    monkeypatch.setenv(
        "PYTHONPATH", f"{workdir / 'src'}{os.pathsep}{os.environ['PYTHONPATH']}"
    )  # with __main__
    edited = json.loads(paths.METRICS.read_text())
    metric = next(name for name in edited if name != "test_rows")
    edited[metric] += 0.01
    paths.METRICS.write_text(json.dumps(edited))
    tool("dvc", "commit", "--force")  # dvc.lock now vouches for the edited file
    assert "up to date" in tool("dvc", "status")
    monkeypatch.setattr(assets, "show", lambda *args: json.dumps(edited))
    monkeypatch.setattr(assets, "check_on_main", lambda tag: "f" * 40)  # a tag on main
    monkeypatch.setattr(card, "git", lambda *args: "f" * 40)
    with pytest.raises(UserError, match=f"model@v1.2.0 does not reproduce its metrics \\({metric} "):
        assets.assets("model@v1.2.0")
    assert not paths.RELEASE_ASSETS.exists()


@pytest.mark.parametrize(
    "tag",
    ["v1.2.0", "model@1.2.0", "model@v1.2", "model@v1.0.0$(GITHUB_TOKEN)", "model@v1.0.0;id", "other@v1.0.0"],
)
def test_only_a_version_tag_is_released(tag):
    with pytest.raises(UserError, match="is not a version tag such as model@v1.2.0: refusing to release it"):
        assets.check_version_tag(tag)


def test_a_version_tag_on_a_commit_main_does_not_hold_is_refused(tmp_path, monkeypatch):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-q", "--allow-empty", "-m", "main")
    git("tag", "model@v1.0.0")
    git("checkout", "-q", "-b", "unreviewed")
    git(
        "-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-q", "--allow-empty", "-m", "branch"
    )
    git("tag", "model@v9.0.0")
    monkeypatch.chdir(tmp_path)
    assets.check_on_main("model@v1.0.0")
    with pytest.raises(
        UserError, match=r"model@v9.0.0 points at \w{12}, which is not on main: only what main holds"
    ):
        assets.check_on_main("model@v9.0.0")


@pytest.mark.any_task
def test_the_stages_the_release_runs_again_get_no_token_and_no_remote_secret(workdir, monkeypatch):
    """release.yml's step holds the DVC remote's secret (to pull the data) and a token (for the model card); the
    version's stages run in it, parsing pulled data and loading models, and need neither."""
    import subprocess

    from ml_gitops.core.shell import SECRETS, tool

    seen = (
        "import json, os; json.dump(sorted(os.environ), open('seen.json', 'w')); os.makedirs('reports', "
        "exist_ok=True); json.dump({'rmse': 2.0}, open('reports/metrics.json', 'w'))"
    )
    stage = {"cmd": f'python -c "{seen}"', "outs": ["seen.json"]}
    (workdir / "dvc.yaml").write_text(json.dumps({"stages": {"look": stage}}))  # JSON is YAML
    subprocess.run(["git", "init", "-q"], check=True)
    tool("dvc", "init", "-q")
    for name in SECRETS:
        monkeypatch.setenv(name, "s3cr3t")
    monkeypatch.setattr(assets, "show", lambda *args: '{"rmse": 1.0}')  # the version's committed metrics
    monkeypatch.setattr(assets, "check_on_main", lambda tag: "f" * 40)  # a tag on main
    with pytest.raises(UserError, match="does not reproduce its metrics"):  # refused, after the stage ran
        assets.assets("model@v1.2.0")
    environment = json.loads((workdir / "seen.json").read_text())
    assert "PATH" in environment
    assert set(SECRETS) & set(environment) == set()
