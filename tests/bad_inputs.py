"""The bad-input catalogue: what a user can get wrong, and the one line they see for it.

Each case names where the input goes wrong (the bake, a data file, params.yaml, a request to the service, a workflow
artifact or event, a model file), how to provoke it, and what the user sees. test_validation.py bakes the bake
cases; test_bad_inputs.py provokes every other case in a trained default project and checks that nothing was
changed; `python -m tests.bad_inputs` writes docs/bad-inputs.md, which a test keeps in step with this list.
A `seen` ending in "..." is a prefix: the rest comes from a library (pyarrow's parser, skops) and varies by version.
"""

from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md"
FEATURE = "mean radius"  # a feature of the default (classification) project's bundled data


@dataclass(frozen=True)
class Case:
    area: str
    given: str  # the bad input, in the user's words
    seen: str  # the error line (without "error: "), or the HTTP answer
    answers: dict = field(default_factory=dict)  # bake: answers; replay: a replay file's values
    files: dict = field(default_factory=dict)  # project files written first (path -> bytes)
    params: dict = field(default_factory=dict)  # params.yaml values set first (dotted key -> value)
    command: tuple = ()  # run in the project; for the pipeline, `make repro`
    env: dict = field(default_factory=dict)  # environment variables, as a workflow step sets them
    request: object = None  # serving: the JSON body of POST /predict (bytes: sent as they are)
    tested_in: str = ""  # a case that needs another project or a fault is provoked in this test file instead

    @property
    def id(self) -> str:
        return f"{self.area}: {self.given}"


def bake(answers: dict, seen: str) -> Case:
    given = ", ".join(f"{key}={value!r}" for key, value in answers.items())
    return Case("bake", given, seen, answers=answers)


def replay(name: str, value: str, choices: str) -> Case:
    seen = f"{name} '{value}' is not one of {choices}: type one of those"
    return Case("bake (replay file)", f"{name}={value!r}", seen, answers={name: value})


BAD_DATA = "data/raw/bad.csv"


def data(given: str, content: bytes, seen: str, path: str = BAD_DATA, **params) -> Case:
    return Case(
        "data file",
        given,
        seen,
        files={path: content},
        params={"data.path": path, **params},
        command=("make", "repro"),
    )


def params(given: str, values: dict, seen: str) -> Case:
    return Case("params.yaml", given, seen, params=values, command=("make", "repro"))


def serving(given: str, body: object, seen: str) -> Case:
    return Case("serving (POST /predict)", given, seen, request=body)


VALID = "..."  # stands for the other features of a valid row, which the test fills in from the test set


def row(**changes) -> dict:
    return {"rows": [{VALID: True, **changes}]}


REPORT_OK = b"## Model report\n"
CHECK_ARTIFACT = (
    "python",
    "-m",
    "{module}",
    "check-artifact",
    "report-artifact",
    "--run-conclusion",
    "success",
    "--verdict",
    "verdict.json",
)
SHA = "0" * 40
BAKE = [
    bake({"project_name": " "}, "project_name is empty: type some text"),
    bake({"description": "two\nlines"}, "description spans several lines: type it on one line"),
    bake(
        {"project_slug": "Churn_Model"},
        "project_slug 'Churn_Model' is not a valid slug: use lowercase ASCII letters, digits and single hyphens, "
        "e.g. churn-model",
    ),
    bake(
        {"project_slug": "pandas"},
        "project_slug 'pandas' is the name of a dependency: choose another, e.g. pandas-model",
    ),
    bake(
        {"project_name": "3D Model"},
        "module_name '3d_model' is not a valid Python package name: use lowercase ASCII letters, digits and "
        "underscores, starting with a letter, e.g. churn_model",
    ),
    bake(
        {"module_name": "class"}, "module_name 'class' is a Python keyword: choose another, e.g. class_model"
    ),
    bake(
        {"module_name": "match"}, "module_name 'match' is a Python keyword: choose another, e.g. match_model"
    ),
    bake(
        {"module_name": "json"},
        "module_name 'json' shadows the standard library module 'json': choose another, e.g. json_model",
    ),
    bake(
        {"module_name": "sklearn"},
        "module_name 'sklearn' shadows the dependency 'sklearn': choose another, e.g. sklearn_model",
    ),
    bake(
        {"author_email": "ada.example.com"},
        "author_email 'ada.example.com' is not an email address: type one like ada@example.com",
    ),
    bake(
        {"github_owner": "-bad-"},
        "github_owner '-bad-' is not a GitHub user or organisation name: use letters, digits and single hyphens "
        "(at most 39), e.g. my-org",
    ),
    bake(
        {"dvc_remote": "none", "dvc_remote_url": "s3://x/y"},
        "dvc_remote_url 's3://x/y' is set but dvc_remote is none: leave the URL empty or choose a remote",
    ),
    bake(
        {"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/x"},
        "dvc_remote_url 'gs://bucket/x' is not a valid s3 URL: type one like s3://my-bucket/dvc-store",
    ),
    bake(
        {"dvc_remote": "gcs", "dvc_remote_url": "s3://bucket"},
        "dvc_remote_url 's3://bucket' is not a valid gcs URL: type one like gs://my-bucket/dvc-store",
    ),
    bake(
        {"dvc_remote": "azure", "dvc_remote_url": "https://x"},
        "dvc_remote_url 'https://x' is not a valid azure URL: type one like azure://my-container/dvc-store",
    ),
    bake(
        {"dvc_remote": "ssh", "dvc_remote_url": "host:/srv"},
        "dvc_remote_url 'host:/srv' is not a valid ssh URL: type one like ssh://user@host.example.com/srv/dvc",
    ),
    bake(
        {"dvc_remote": "local", "dvc_remote_url": "~/store"},
        "dvc_remote_url '~/store' is not a local directory: type an absolute path or one relative to the project "
        "without spaces, e.g. ../dvc-storage",
    ),
    bake(
        {"dvc_remote": "s3", "dvc_remote_url": ""},
        "dvc_remote_url is empty for the s3 remote: type the remote's URL",
    ),
    bake(
        {"retrain_cron": "5 * * *"},
        "retrain_cron '5 * * *' has 4 fields, not 5: type minute hour day-of-month month day-of-week, "
        "e.g. 17 5 * * 1",
    ),
    bake(
        {"retrain_cron": "60 5 * * 1"},
        "retrain_cron '60 5 * * 1': its minute field '60' is outside 0-59: fix it, e.g. 17 5 * * 1 "
        "(Mondays 05:17 UTC)",
    ),
    bake(
        {"retrain_cron": "0 5 * * mon-fry"},
        "retrain_cron '0 5 * * mon-fry': its day of week field 'mon-fry' is outside 0-6: fix it, "
        "e.g. 17 5 * * 1 (Mondays 05:17 UTC)",
    ),
    bake(
        {"retrain_cron": "0 5 ? * 1"},
        "retrain_cron '0 5 ? * 1': its day of month field '?' is not a number, range, list or step: fix it, "
        "e.g. 17 5 * * 1 (Mondays 05:17 UTC)",
    ),
    bake(
        {"retrain_cron": "0 */0 * * 1"},
        "retrain_cron '0 */0 * * 1': its hour field '*/0' has a step of 0: fix it, e.g. 17 5 * * 1 "
        "(Mondays 05:17 UTC)",
    ),
    bake(
        {"retrain_cron": "*/2 * * * *"},
        "retrain_cron '*/2 * * * *' runs more often than GitHub allows (every 5 minutes at most): "
        "use e.g. 17 5 * * 1",
    ),
]
# Cookiecutter refuses a value outside a choice list on the command line; a replay file skips that check.
REPLAY = [
    replay("python_version", "3.9", "3.11, 3.12, 3.13"),
    replay("task", "clustering", "classification, regression"),
    replay("license", "GPL", "MIT, Apache-2.0, BSD-3-Clause, proprietary"),
    replay("dvc_remote", "ftp", "none, local, s3, gcs, azure, ssh"),
    replay("deploy_target", "lambda", "release, container"),
]
PROJECT = [
    data(
        "empty file (0 bytes)",
        b"",
        f"data file {BAD_DATA} is empty (0 bytes): point data.path at a file with a header and rows",
    ),
    data("header only", b"target,x\n", f"{BAD_DATA} has a header but no rows: add data"),
    data(
        "no target column",
        b"a,b\n1,2\n",
        f"{BAD_DATA} has no target column 'target' (columns: 'a', 'b'): set data.target in params.yaml",
    ),
    data(
        "text in a numeric column",
        b"target,x\n" + b"".join(b"%d,%d\n" % (i % 2, i) for i in range(30)) + b"1,unknown\n",
        f"{BAD_DATA}: column 'x' holds numbers and text (e.g. 'unknown'): fix the text, or list the column under "
        "data.categorical if its values are codes",
    ),
    data(
        "dates written day/month/year",
        b"target,signup\n" + b"".join(b"%d,%02d/03/2024\n" % (i % 2, i % 28 + 1) for i in range(30)),
        f"{BAD_DATA}: column 'signup' holds dates in a format other than ISO 8601 (e.g. '01/03/2024'): write them as "
        "YYYY-MM-DD and list the column under data.datetime",
    ),
    data(
        "a free-text column",
        b"target,x,note\n" + b"".join(b"%d,%d,call back %d\n" % (i % 2, i, i % 25) for i in range(30)),
        f"{BAD_DATA}: column 'note' has 25 distinct texts in 30 rows, like free text: list it under data.drop, or "
        "under data.categorical to encode each text as a category anyway",
    ),
    data(
        "a value of a data.datetime column that is no date",
        b"target,signup\n0,2024-03-01\n1,2024-03-02\n0,soon\n",
        f"{BAD_DATA}: data.datetime column 'signup' has a value that is not an ISO 8601 date ('soon'): write its dates "
        "as YYYY-MM-DD, optionally with a time",
        **{"data.datetime": ["signup"]},
    ),
    data(
        "an identifier column (a different value on every row)",
        b"customer_id,x,target\n" + b"".join(b"C%03d,%d,%d\n" % (i, i, i % 2) for i in range(30)),
        f"{BAD_DATA}: column 'customer_id' has a different value on every row, like an identifier: list it under "
        "data.drop in params.yaml so that the model does not learn from it",
    ),
    data(
        "a classification target of fractional numbers",
        b"target,x\n0.62,1\n0.5,2\n1,3\n0,4\n",
        "data.target 'target' holds continuous numbers (e.g. 0.62) but this is a classification project: predict "
        "classes (bin the values into labels), or bake a regression project",
    ),
    data(
        "a column with only missing values",
        b"target,x,y\n0,1,\n1,2,\n",
        f"{BAD_DATA}: column(s) 'y' contain only missing values: drop them from the data",
    ),
    data(
        "missing target values",
        b"target,x\n0,1\n,2\n1,3\n",
        f"{BAD_DATA}: target 'target' is missing in 1 row(s): drop or fill them",
    ),
    data(
        "a single class",
        b"target,x\n1,1\n1,2\n",
        f"{BAD_DATA}: target 'target' has a single class: classification needs two or more",
    ),
    data(
        "only the target column",
        b"target\n0\n1\n",
        f"{BAD_DATA} has no feature columns besides the target 'target'",
    ),
    data(
        "not UTF-8 (Latin-1)",
        "target,café\n0,1\n1,2\n".encode("latin-1"),
        f"data file {BAD_DATA} is not UTF-8 text: save it with UTF-8 encoding",
    ),
    data(
        "0-byte Parquet file",
        b"",
        "data file data/raw/bad.parquet is empty (0 bytes): point data.path at a file with a header and rows",
        path="data/raw/bad.parquet",
    ),
    data(
        "damaged Parquet file",
        b"PAR1 this is not a parquet file PAR1",
        "data file data/raw/bad.parquet cannot be read as parquet: ...",
        path="data/raw/bad.parquet",
    ),
    data(
        "unsupported format (Excel)",
        b"PK\x03\x04",
        "data file data/raw/bad.xlsx has the unsupported extension '.xlsx': use .csv or .parquet",
        path="data/raw/bad.xlsx",
    ),
    Case(
        "data file",
        "data.path names a file that does not exist",
        "data file data/raw/missing.csv not found: fix data.path in params.yaml (empty means ...",
        params={"data.path": "data/raw/missing.csv"},
        command=("make", "repro"),
    ),
    params(
        "unknown model",
        {"model.name": "xgboost"},
        "params.yaml: model.name 'xgboost' is not one of random_forest, hist_gradient_boosting, "
        "logistic_regression",
    ),
    params(
        "an argument the estimator does not take",
        {"model.params": {"n_trees": 5}},
        "params.yaml: model.params n_trees not accepted by hist_gradient_boosting (HistGradientBoostingClassifier); "
        "accepted: ...",
    ),
    params(
        "negative test size",
        {"split.test_size": -0.2},
        "params.yaml: split.test_size must be a number between 0 and 1 (exclusive), got -0.2",
    ),
    params(
        "test size of a whole",
        {"split.test_size": 1},
        "params.yaml: split.test_size must be a number between 0 and 1 (exclusive), got 1",
    ),
    params("negative seed", {"seed": -1}, "params.yaml: seed must be a whole number >= 0, got -1"),
    params(
        "negative gate tolerance",
        {"gate.tolerance": -0.01},
        "params.yaml: gate.tolerance must be a number >= 0 or a percentage such as 2%, got -0.01",
    ),
    params(
        "gate tolerance as text",
        {"gate.tolerance": "small"},
        "params.yaml: gate.tolerance must be a number >= 0 or a percentage such as 2%, got 'small'",
    ),
    params(
        "unknown gate metric",
        {"gate.metric": "mape"},
        "params.yaml: gate.metric 'mape' is not one of ...",
    ),
    params(
        "the target listed as categorical",
        {"data.categorical": ["target"]},
        "params.yaml: data.categorical lists the target 'target': remove it from the list",
    ),
    params(
        "the target listed under data.drop",
        {"data.drop": ["target"]},
        "params.yaml: data.drop lists the target 'target': remove it from the list",
    ),
    params(
        "a positive label that is no class of the target",
        {"data.positive_label": "fraud"},
        "params.yaml: data.positive_label 'fraud' is not a class of the target (classes: 0, 1)",
    ),
    params(
        "a misspelt key",
        {"data.categorial": ["plan"]},
        "params.yaml: unknown key data.categorial: did you mean data.categorical?",
    ),
    params(
        "an invented key",
        {"data.exclude": ["customer_id"]},
        "params.yaml: unknown key data.exclude: section data takes path, target, categorical, datetime, drop, "
        "positive_label, reference_rows, id, duplicate_share",
    ),
    params(
        "an unknown section",
        {"alerts": {"email": "ops@example.com"}},
        "params.yaml: unknown key alerts: params.yaml takes seed, data, split, model, evaluate, gate, drift, "
        "monitoring, segments",
    ),
    params(
        "segment bins that do not increase",
        {"segments.columns": {"mean radius": {"bins": [20, 10]}}},
        "params.yaml: segments.columns.mean radius.bins must increase: 10 does not come after the edge before it",
    ),
    params(
        "a segment column the data lacks",
        {"segments.columns": {"region": {}}},
        "segments.columns names 'region', which the bundled breast cancer dataset does not have: fix "
        "segments.columns in params.yaml",
    ),
    params(
        "a segment gate that is neither block nor report",
        {"gate.segments": "warn"},
        "params.yaml: gate.segments must be block or report, got 'warn'",
    ),
    params(
        "a monitoring window that is no duration",
        {"monitoring.window": "weekly"},
        "params.yaml: monitoring.window must be a duration such as 1D, 7D or 6h, got 'weekly'",
    ),
    params(
        "a monitoring tolerance in words",
        {"monitoring.tolerance": "a little"},
        "params.yaml: monitoring.tolerance must be a number >= 0 or a percentage such as 2%, got 'a little'",
    ),
    params(
        "too small a drift reference",
        {"data.reference_rows": 10},
        "params.yaml: data.reference_rows must be a whole number >= 100, got 10",
    ),
    params("zero PSI threshold", {"drift.psi": 0}, "params.yaml: drift.psi must be a number > 0, got 0"),
    Case(
        "params.yaml",
        "broken YAML",
        "params.yaml is not valid YAML at line 2: fix the syntax",
        files={"params.yaml": b"seed: [42\n"},
        command=("make", "repro"),
    ),
    serving(
        "a feature missing", {"rows": [{}]}, f'422, loc ["body", "rows", 0, "{FEATURE}"]: Field required'
    ),
    serving(
        "text for a number",
        row(**{FEATURE: "large"}),
        f'422, loc ["body", "rows", 0, "{FEATURE}"]: Input should be a valid number, unable to parse string as a number',
    ),
    serving(
        "an unknown feature",
        row(colour="red"),
        '422, loc ["body", "rows", 0, "colour"]: Extra inputs are not permitted',
    ),
    serving(
        "no rows",
        {"rows": []},
        '422, loc ["body", "rows"]: List should have at least 1 item after validation, not 0',
    ),
    serving(
        "more than 1,000 rows",
        {"rows": [{}] * 1001},
        '422, loc ["body", "rows"]: List should have at most 1000 items after validation, not 1001',
    ),
    serving("a body that is not JSON", b"rows=1", '422, loc ["body", 0]: JSON decode error'),
    Case(
        "serving (POST /predict)",
        "a category the model never saw (trained with data.categorical: [region])",
        "422, loc [\"body\", \"rows\", 0, \"region\"]: Input should be 'east', 'north' or 'south'",
        tested_in="tests/test_project.py",
    ),
    Case(
        "model file",
        "a model file that would call a function when loaded (builtins.exec), a type the pipelines never hold",
        "models/model.skops contains untrusted types (builtins.exec): refusing to load it",
        tested_in="tests/test_faults.py",
    ),
    Case(
        "model file",
        "a model file that differs from its release (serve or smoke --checksums SHA256SUMS)",
        "models/model.skops is not the released file: its SHA-256 is ...",
        tested_in="tests/test_faults.py",
    ),
    Case(
        "model file",
        "a damaged model file",
        "models/model.skops is not a readable skops model (...",
        files={"models/model.skops": b"PK\x03\x04 not a skops archive"},
        command=("python", "-m", "{module}", "smoke"),
    ),
    Case(
        "workflow artifact",
        "a report artifact without report.json",
        "report-artifact must hold report.md and report.json: the model-pr run did not finish its report",
        files={"report-artifact/report.md": REPORT_OK},
        command=CHECK_ARTIFACT + ("--head-sha", SHA),
    ),
    Case(
        "workflow artifact",
        "a commit id that is not one",
        "--head-sha must be a 40-character commit id, got 'main'",
        files={"report-artifact/report.md": REPORT_OK},
        command=CHECK_ARTIFACT + ("--head-sha", "main"),
    ),
    Case(
        "workflow event",
        "a commit status for a bad commit id",
        "set-status needs a 40-character commit and the state success or failure, got 'abc' and 'success'",
        files={
            "verdict.json": b'{"pull_request": 1, "head_sha": "abc", "state": "success", "description": "x", "comment": false}'
        },
        command=("python", "-m", "{module}", "set-status", "--verdict", "verdict.json"),
    ),
    Case(
        "workflow event",
        "a tag that carries make's own syntax, $(...), as a workflow hands it to make (TAG in the environment)",
        "'model@v1.0.0$(shell touch PWNED)' is not a version tag such as model@v1.2.0: refusing to release it",
        env={"TAG": "model@v1.0.0$(shell touch PWNED)"},
        command=("make", "release-assets"),
    ),
    Case(
        "workflow event",
        "a version to put in production that is none (VERSION in the environment)",
        "'v1$(shell touch PWNED)' is not a version such as v1.2.0 (or 'prod' no stage name): refusing it",
        env={"VERSION": "v1$(shell touch PWNED)"},
        command=("make", "deploy-prod"),
    ),
    Case(
        "workflow event",
        "a release run's version input that carries make's own syntax, $(...)",
        "'v1.0.0$(GITHUB_TOKEN)' is not a version such as v1.2.0: refusing to release it",
        command=("python", "-m", "{module}", "release-version", "--version", "v1.0.0$(GITHUB_TOKEN)"),
    ),
    Case(
        "workflow event",
        "a release tag that was never registered",
        "there is no tag model@v9.9.9: registered versions are tags model@vX.Y.Z",
        command=("python", "-m", "{module}", "release-assets", "--tag", "model@v9.9.9"),
    ),
    Case(
        "workflow event",
        "a staging comment whose artifact holds no model",
        "the staging-model artifact has no file models/model.skops: nothing to comment",
        files={"staging/reports/smoke.md": b"Smoke test passed\n"},
        command=("python", "-m", "{module}", "staging-comment", "staging", "--pull-request", "1"),
    ),
    Case(
        "drift check",
        "current data with other columns",
        "the current data lacks columns ...",
        files={BAD_DATA: b"target,x\n0,1\n1,2\n"},
        command=("python", "-m", "{module}", "drift", "--current", BAD_DATA),
    ),
    Case(
        "drift check",
        "current data without rows",
        "the current data has no rows: nothing to compare with the reference",
        files={BAD_DATA: b"target,mean radius\n"},
        command=("python", "-m", "{module}", "drift", "--current", BAD_DATA),
    ),
]
CATALOGUE = [*BAKE, *REPLAY, *PROJECT]


def markdown() -> str:
    lines = [
        "# Bad inputs and what you see",
        "",
        "<!-- Generated from tests/bad_inputs.py by `python -m tests.bad_inputs`; a test keeps them in step. -->",
        "",
        "Every bad input below stops the command with one line that names what is wrong and how to fix it, exits",
        "non-zero, and changes no model, metrics or data file: a test provokes each one and checks exactly that.",
        "The service answers a bad request with 422 and the field's path instead. A line ending in `...` goes on",
        "with the words of a library (the Parquet reader, skops). `make repro` checks params.yaml and the data",
        "before DVC runs a stage, so a bad input never clears the prepared data or the model.",
        "",
        "| where | bad input | what you see |",
        "| --- | --- | --- |",
    ]
    for case in CATALOGUE:
        seen = case.seen if case.area.startswith("serving") else f"error: {case.seen}"
        lines.append(f"| {case.area} | {_cell(case.given)} | `{_cell(seen)}` |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n")


if __name__ == "__main__":
    DOCS.write_text(markdown(), encoding="utf-8")
    print(f"wrote {DOCS} ({len(CATALOGUE)} bad inputs)")
