"""params.yaml: the shipped file is valid, and each bad value is named in one line by check-params (which
`make repro` runs before DVC starts a stage)."""

import pytest
import yaml
from fixture_model.pipeline import TASK

from ml_gitops import UserError
from ml_gitops.cli import main
from ml_gitops.core import config
from ml_gitops.metrics import DIRECTIONS

CLASSIFICATION_ONLY = {
    "data": {"positive_label"}
}  # config.KEYS names it; only a classification project has it


def write_params(workdir, **changes):
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        params[section][key] = value
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))


def test_shipped_params_are_valid(params):
    assert params.task == TASK
    assert params.gate.metric in DIRECTIONS[params.task]
    assert params.data.path == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model__name": "xgboost"}, "model.name 'xgboost' is not one of"),
        ({"split__test_size": -0.2}, "split.test_size must be a number between 0 and 1"),
        ({"split__test_size": 1.5}, "split.test_size must be a number between 0 and 1"),
        ({"gate__tolerance": -1}, "gate.tolerance must be a number >= 0"),
        ({"gate__metric": "speed"}, "gate.metric 'speed' is not one of"),
        ({"evaluate__importance_repeats": 0}, "evaluate.importance_repeats must be a whole number >= 1"),
        ({"data__categorical": "city"}, "data.categorical must be a list of column names"),
        ({"data__categorial": ["city"]}, "unknown key data.categorial: did you mean data.categorical?"),
        ({"gate__tolerence": 0.1}, "unknown key gate.tolerence: did you mean gate.tolerance?"),
        ({"data__exclude": ["id"]}, "unknown key data.exclude: section data takes path, target, categorical"),
        ({"data__datetime": ["target"]}, "data.datetime lists the target 'target': remove it from the list"),
        (
            {"data__categorical": ["day"], "data__datetime": ["day"]},
            "'day' is under both data.categorical and data.datetime: keep it in one of them",
        ),
        (
            {"data__id": "target"},
            "data.id 'target' is also data.target: an id names rows, it is not a feature",
        ),
        ({"data__duplicate_share": 2}, "data.duplicate_share must be a share from 0 to 1"),
        ({"split__time": "day"}, "split.time 'day' must be a date column: list it under data.datetime too"),
        ({"gate__inconclusive": "warn"}, "gate.inconclusive must be block or pass, got 'warn'"),
        ({"monitoring__window": "weekly"}, "monitoring.window must be a duration such as 1D, 7D or 6h"),
        ({"monitoring__tolerance": "some"}, "monitoring.tolerance must be a number >= 0 or a percentage"),
        ({"monitoring__flush_seconds": 0}, "monitoring.flush_seconds must be a number of seconds"),
        ({"monitoring__batch_rows": 0}, "monitoring.batch_rows must be a whole number >= 1"),
        (
            {"monitoring__exclude": ["email"], "monitoring__hash": ["email"]},
            "'email' is under both monitoring.exclude and monitoring.hash: keep it in one",
        ),
    ],
)
def test_bad_value_is_named(workdir, capsys, changes, message):
    write_params(workdir, **changes)
    assert main(["check-params"]) == 1
    assert message in capsys.readouterr().err


def test_broken_yaml_gives_the_line(workdir):
    (workdir / "params.yaml").write_text("data:\n  path: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        config.load()


def test_every_shipped_key_is_known(params):
    """KEYS lists exactly the keys the shipped params.yaml holds: a key added to one is added to the other."""
    from ml_gitops.core import paths

    shipped = yaml.safe_load(paths.PARAMS.read_text())
    assert set(shipped) == set(config.KEYS)
    for name, keys in config.KEYS.items():
        found = set(shipped[name]) if isinstance(shipped[name], dict) else None
        # KEYS is the same for every task; a regression project's params.yaml has no data.positive_label
        expected = set(keys or ()) - (
            CLASSIFICATION_ONLY.get(name, set()) if TASK != "classification" else set()
        )
        assert found == (expected if keys else None), name


def test_a_classification_only_key_is_refused_in_a_regression_project(workdir):
    write_params(workdir, data__positive_label="yes")
    if TASK == "classification":
        assert config.load().data.positive_label == "yes"
    else:
        with pytest.raises(
            UserError,
            match=r"unknown key data.positive_label: section data takes path, target, categorical, datetime, drop, reference_rows, id, duplicate_share$",
        ):
            config.load()


@pytest.mark.skipif(TASK != "classification", reason="data.positive_label")
def test_a_positive_class_named_0_is_that_class_not_the_rarest(workdir):
    """`positive_label: 0` read as "" (the rarest class) through `or ""`, and false passed the type check."""
    write_params(workdir, data__positive_label=0)
    assert config.load().data.positive_label == "0"
    write_params(workdir, data__positive_label=False)
    with pytest.raises(UserError, match="data.positive_label must be one class of the target, got False"):
        config.load()


def test_an_unknown_section_names_the_sections(workdir):
    (workdir / "params.yaml").write_text((workdir / "params.yaml").read_text() + "alerts:\n  email: ops\n")
    with pytest.raises(UserError, match="unknown key alerts: params.yaml takes seed, data, split"):
        config.load()


def test_a_params_file_from_before_issue_27_takes_the_defaults(workdir):
    """A project that updates ml-gitops keeps its params.yaml: the keys added since take their defaults."""
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    for section, key in (
        ("data", "id"),
        ("data", "duplicate_share"),
        ("split", "time"),
        ("gate", "inconclusive"),
    ):
        params[section].pop(key)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    loaded = config.load()
    assert (loaded.data.id, loaded.data.duplicate_share, loaded.split_time) == ("", 0.05, "")
    assert loaded.gate.blocks_inconclusive
