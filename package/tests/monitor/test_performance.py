"""The monitor: the prediction log joined with late labels gives decay, drift, ok or unlabelled, never a guess."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fixture_model.pipeline import TASK
from fixture_model.pipeline.train import MODEL_TYPES

from ml_gitops import UserError, project
from ml_gitops.core import config, files, paths
from ml_gitops.monitor import labelled, performance
from ml_gitops.release import prediction_log, serve

DAYS = ("2026-03-02", "2026-03-03", "2026-03-04")


@pytest.fixture
def production(trained, tmp_path):
    """Three days of the champion's traffic in the log (the test set, four times a day) and the true outcomes."""
    return serve_days(trained, tmp_path)


def serve_days(trained: config.Config, tmp_path: Path) -> tuple[config.Config, pd.DataFrame, Path]:
    """Log three days of the champion's traffic into tmp_path/log; the params and the true outcomes."""
    settings = yaml.safe_load(paths.PARAMS.read_text())
    settings["monitoring"] |= {
        "log_dir": str(tmp_path / "log"),
        "labels": str(tmp_path / "labels"),
        "min_labels": 50,
    }
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    features = serve.json_records(test.drop(columns=[trained.data.target]))
    frame = pd.DataFrame(features)
    truth = []
    for day in DAYS:
        batch = pd.concat([frame] * 4, ignore_index=True)
        ids = [f"{day}-{row}" for row in range(len(batch))]
        rows = prediction_log.log_rows(
            batch, serve.answer_of(model, batch), ids, "v1.0.0", files.sha256(paths.MODEL)
        )
        rows["time"] = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(np.arange(len(rows)), unit="s")
        prediction_log.write_batch(rows, str(tmp_path / "log"))
        truth.append(
            pd.DataFrame({"request_id": ids, "label": np.tile(test[trained.data.target].to_numpy(), 4)})
        )
    return config.load(), pd.concat(truth, ignore_index=True), tmp_path


def arrive(labels: pd.DataFrame, directory, name="labels.csv") -> None:
    (directory / "labels").mkdir(exist_ok=True)
    labels.to_csv(directory / "labels" / name, index=False)


def test_a_healthy_model_with_its_labels_is_ok(production):
    params, truth, where = production
    arrive(truth, where)
    summary = performance.run(params)
    assert summary["verdict"] == "ok"
    assert [window["status"] for window in summary["windows"]] == ["ok"] * 3
    release = json.loads(paths.METRICS.read_text())[params.gate.metric]
    assert summary["windows"][0]["metrics"][params.gate.metric] == pytest.approx(release, abs=1e-6)
    assert (paths.MONITOR / "metric.png").stat().st_size > 0
    assert "## Monitoring: ok" in (paths.MONITOR / "monitor.md").read_text()


def flipped(truth: pd.DataFrame, day: str, share: float, task: str) -> pd.DataFrame:
    """The world changed on `day`: for `share` of that day's traffic the outcome is the other class (or far off)."""
    hit = truth["request_id"].str.startswith(day) & (np.arange(len(truth)) % int(1 / share) == 0)
    if task == "regression":
        return truth.assign(label=truth["label"].where(~hit, truth["label"] * 3))
    classes = sorted(truth["label"].astype(str).unique())
    swapped = truth["label"].astype(str).map({classes[0]: classes[1], classes[1]: classes[0]})
    return truth.assign(label=truth["label"].astype(str).where(~hit, swapped))


def test_a_decayed_model_is_found_in_the_window_where_it_decayed(production):
    params, truth, where = production
    arrive(flipped(truth, DAYS[-1], share=0.5, task=params.task), where)
    summary = performance.run(params)
    assert [window["status"] for window in summary["windows"]] == ["ok", "ok", "decay"]
    assert summary["verdict"] == "decay"


def test_labels_for_part_of_the_window_and_none_for_the_newest(production):
    params, truth, where = production
    first_two = truth[~truth["request_id"].str.startswith(DAYS[-1])]
    arrive(first_two.iloc[::3], where)  # a third of the first two days' outcomes so far
    summary = performance.run(params)
    assert [window["share_labelled"] for window in summary["windows"]] == pytest.approx(
        [1 / 3, 1 / 3, 0], abs=0.01
    )
    assert [window["status"] for window in summary["windows"]] == ["ok", "ok", "unlabelled"]
    assert summary["verdict"] == "unlabelled"  # never ok for a window without labels
    assert "only drift is measured" in (paths.MONITOR / "monitor.md").read_text()


@pytest.mark.skipif(TASK != "classification", reason="a classifier's roc_auc")
def test_a_window_whose_labels_are_one_class_is_not_judged_ok(production):
    """roc_auc is not a number when every label is one class, and every comparison with NaN is false: the window
    and the verdict read "ok" before."""
    params, truth, where = production
    newest = truth["request_id"].str.startswith(DAYS[-1])
    one_class = truth["label"].astype(str).where(~newest, truth["label"].astype(str).iloc[0])
    arrive(truth.assign(label=one_class), where)
    summary = performance.run(params)
    assert [window["status"] for window in summary["windows"]] == ["ok", "ok", "undefined"]
    assert summary["verdict"] == "unlabelled"
    assert "is not a number on its labels" in (paths.MONITOR / "monitor.md").read_text()


@pytest.mark.skipif(TASK != "classification", reason="a binary classifier's positive class")
def test_without_the_release_s_predictions_the_positive_class_is_named_or_nothing_is_guessed(production):
    """The log keeps the model's classes sorted; the release's positive class is the rarest in its test set. With
    reports/predictions.parquet gone, the monitor took the class that sorts last and scored F1 of the wrong one."""
    params, truth, where = production
    settings = yaml.safe_load(paths.PARAMS.read_text())
    settings["gate"]["metric"] = "f1"
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    release = json.loads(paths.METRICS.read_text())["f1"]
    rarest = pd.read_parquet(paths.PREDICTIONS).columns[-1].removeprefix("proba_")
    paths.PREDICTIONS.unlink()
    assert (
        performance.run(config.load())["verdict"] == "unlabelled"
    )  # no label yet: drift alone, no class asked
    arrive(truth, where)
    with pytest.raises(UserError, match=r"so the release's positive class is unknown: run dvc pull"):
        performance.run(config.load())
    settings["data"]["positive_label"] = rarest
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    summary = performance.run(config.load())
    assert summary["windows"][0]["metrics"]["f1"] == pytest.approx(release, abs=1e-6)


def test_the_served_answers_are_compared_with_the_release_s_answers(production):
    params, truth, where = production
    arrive(truth, where)
    assert not performance.run(params)["drift"]["prediction"]["drift"]
    logged = pd.read_parquet(where / "log").drop(columns="date")
    later = logged[logged["time"] < pd.Timestamp(DAYS[1], tz="UTC")].copy()  # the same inputs a day later,
    later["time"] += pd.Timedelta(days=len(DAYS))
    later["request_id"] = "later-" + later["request_id"]
    answer = later["prediction"]  # answered otherwise: one class for all, or three times the value
    later["prediction"] = answer * 3 if params.task == "regression" else answer.iloc[0]
    prediction_log.write_batch(later, str(where / "log"))
    summary = performance.run(params)
    assert summary["drift"]["prediction"]["drift"]
    assert summary["drift"]["share"] < params.drift.share  # the inputs alone would not say drift
    assert summary["verdict"] == "drift"


def test_anonymous_traffic_alone_never_starts_retraining(production, tmp_path, monkeypatch, capsys):
    """Issue 28, hole 7: a day of valid but shifted requests, which anyone who reaches the service can send, makes
    the monitor say drift; retrain.yml's check then shows it and retrains only on decay or the source's drift."""
    from ml_gitops.cli import main
    from ml_gitops.monitor import drift

    params, truth, where = production
    arrive(truth, where)
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    shifted = drift.drifted_batch(params, rows=300, seed=7).drop(columns=[params.data.target])
    shifted = pd.DataFrame(serve.json_records(shifted))
    ids = [f"anonymous-{row}" for row in range(len(shifted))]
    rows = prediction_log.log_rows(
        shifted, serve.answer_of(model, shifted), ids, "v1.0.0", files.sha256(paths.MODEL)
    )
    rows["time"] = pd.Timestamp("2026-03-05", tz="UTC") + pd.to_timedelta(np.arange(len(rows)), unit="s")
    prediction_log.write_batch(rows, str(where / "log"))
    verdict = performance.run(params)["verdict"]
    assert verdict == "drift", "the served inputs drifted"

    def retrain_output(monitor_verdict: str) -> str:
        outputs = tmp_path / f"outputs-{monitor_verdict}"
        monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
        monkeypatch.setenv("MONITOR_VERDICT", monitor_verdict)
        assert main(["drift", "--github"]) == 0
        return dict(line.split("=", 1) for line in outputs.read_text().splitlines())["retrain"]

    assert retrain_output(verdict) == "false", "served traffic alone starts nothing"
    assert "served traffic alone never starts retraining" in capsys.readouterr().out
    assert retrain_output("decay") == "true", "decay measured on labels does"


def test_a_period_without_predictions_is_refused(production):
    params, truth, where = production
    arrive(truth, where)
    with pytest.raises(
        UserError, match=r"holds no predictions between 2026-04-01 and now: nothing to monitor"
    ):
        performance.run(params, since="2026-04-01")


def test_logs_of_another_model_version_are_refused_or_left_out(production):
    params, truth, where = production
    arrive(truth, where)
    paths.MODEL.write_bytes(
        paths.MODEL.read_bytes() + b"\0"
    )  # the checkout's champion is not what was served
    with pytest.raises(
        UserError, match=r"holds no predictions of the champion .* only of v1.0.0: monitor the version"
    ):
        performance.run(params)


def test_unknown_and_conflicting_labels_and_reused_ids_are_left_out_and_said(production):
    params, truth, where = production
    other = flipped(truth, DAYS[0], share=1.0, task=params.task).iloc[
        [0]
    ]  # the first request, another outcome
    unknown = pd.DataFrame({"request_id": ["nobody-1"], "label": truth["label"].head(1)})
    arrive(pd.concat([truth, other, unknown]), where)
    logged = pd.read_parquet(where / "log").drop(columns="date")
    again = logged[logged["request_id"] == truth["request_id"][1]]  # a caller reused a labelled request id
    prediction_log.write_batch(again, str(where / "log"))
    summary = performance.run(params)
    notes = " ".join(summary["notes"])
    assert "1 labels match no prediction of the champion in the period (e.g. 'nobody-1'): ignored" in notes
    assert f"left out 1 request ids with different labels (e.g. '{truth['request_id'][0]}')" in notes
    assert (
        f"left out 2 predictions whose request id appears more than once in the log (e.g. '{truth['request_id'][1]}')"
        in notes
    )
    assert summary["verdict"] == "ok"
    assert summary["windows"][0]["labelled"] == len(truth) // 3 - 2


def test_the_labelled_log_becomes_a_training_table_with_the_target_s_name(production):
    params, truth, where = production
    arrive(truth.iloc[::3], where)
    output = where / "production.parquet"
    assert labelled.write(params, output) == len(truth.iloc[::3])
    table = pd.read_parquet(output)
    assert sorted(table.columns) == sorted(pd.read_parquet(paths.TEST).columns), "the features and the target"
    logged = pd.read_parquet(where / "log").set_index("request_id")
    chosen = truth.iloc[::3]
    expected = logged.loc[chosen["request_id"], list(table.columns.drop(params.data.target))]
    expected[params.data.target] = chosen["label"].to_numpy()
    columns = list(table.columns)
    pd.testing.assert_frame_equal(
        table.sort_values(columns).reset_index(drop=True),
        expected[columns].sort_values(columns).reset_index(drop=True),
        check_dtype=False,
    )


def test_a_request_a_challenger_answered_in_shadow_is_one_row_of_the_training_table(production):
    """Issue 31: a challenger logs the production rows' ids and times under its own digest; the table keeps each
    labelled request once, and still leaves out an id a caller reused (another time)."""
    params, truth, where = production
    arrive(truth.iloc[::3], where)
    logged = pd.read_parquet(where / "log").drop(columns=["date"])
    shadow = logged[logged["request_id"].str.startswith(DAYS[0])]
    prediction_log.write_batch(shadow.assign(model_version="v2", model_sha256="0" * 64), str(where / "log"))
    again = logged[logged["request_id"] == truth["request_id"].iloc[3]]  # labelled: every third is
    prediction_log.write_batch(again.assign(time=again["time"] + pd.Timedelta(hours=1)), str(where / "log"))
    output = where / "production.parquet"
    assert labelled.write(params, output) == len(truth.iloc[::3]) - 1
    assert len(pd.read_parquet(output)) == len(truth.iloc[::3]) - 1


def test_a_training_table_without_every_feature_is_refused(production):
    params, truth, where = production
    arrive(truth, where)
    settings = yaml.safe_load(paths.PARAMS.read_text())
    feature = next(c for c in pd.read_parquet(paths.TEST).columns if c != params.data.target)
    settings["monitoring"]["exclude"] = [feature]
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    with pytest.raises(UserError, match=rf"the prediction log leaves out or hashes {feature} \(monitoring"):
        labelled.write(config.load(), where / "production.parquet")
    assert not (where / "production.parquet").exists()


@pytest.mark.skipif(TASK != "classification", reason="classes")
def test_a_label_of_a_class_the_model_never_saw_is_refused(production):
    params, truth, where = production
    arrive(truth.assign(label=truth["label"].astype(str).where(truth.index > 0, "maybe")), where)
    with pytest.raises(
        UserError, match=r"label 'maybe' is not a class the model knows \(.*\): fix the labels"
    ):
        performance.run(params)
    assert not paths.MONITOR.exists()


def test_request_ids_of_digits_match_their_labels_as_written(production):
    """The service takes order numbers as X-Request-ID: the labels' ids were read as numbers (000123 as 123, 4567 as
    4567.0 beside an empty cell, an empty cell as "nan"), so none matched a prediction."""
    params, truth, where = production
    numbered = dict(zip(truth["request_id"], [f"{row:06d}" for row in range(len(truth))], strict=True))
    logged = pd.read_parquet(where / "log").drop(columns="date")
    shutil.rmtree(where / "log")
    prediction_log.write_batch(
        logged.assign(request_id=logged["request_id"].map(numbered)), str(where / "log")
    )
    without_id = truth.head(1).assign(request_id=None)
    arrive(pd.concat([truth.assign(request_id=truth["request_id"].map(numbered)), without_id]), where)
    summary = performance.run(params)
    assert [window["labelled"] for window in summary["windows"]] == [len(truth) // 3] * 3
    assert "left out 1 labels without a request_id (an empty cell)" in summary["notes"]
    assert labelled.write(params, where / "production.parquet") == len(truth)


@pytest.fixture
def float_classes(workdir, request):
    """The fixture project trained on its data with the target written 0.0 and 1.0: the model's classes are floats."""
    data = project.pipeline("data").read_bundled()
    data.assign(target=data["target"].astype(float)).to_csv(workdir / "floats.csv", index=False)
    settings = yaml.safe_load(paths.PARAMS.read_text())
    settings["data"]["path"] = "floats.csv"
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    return request.getfixturevalue("trained")


@pytest.mark.skipif(TASK != "classification", reason="a classifier's classes")
def test_labels_of_a_target_stored_as_floats_are_its_classes(float_classes, tmp_path):
    """The log names the classes as the model holds them (the answer 0.0, proba_0.0) and the labels were read as the
    training target's texts (0): every correct label was refused as a class the model does not know."""
    params, truth, where = serve_days(float_classes, tmp_path)
    assert {"proba_0.0", "proba_1.0"} <= set(pd.read_parquet(where / "log").columns)
    arrive(truth, where)
    summary = performance.run(params)
    assert summary["verdict"] == "ok"
    release = json.loads(paths.METRICS.read_text())[params.gate.metric]
    assert summary["windows"][0]["metrics"][params.gate.metric] == pytest.approx(release, abs=1e-6)
