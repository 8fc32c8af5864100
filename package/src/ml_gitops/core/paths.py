"""Where every command reads and writes, relative to the repository root (where DVC runs the stages)."""

from pathlib import Path

PARAMS = Path("params.yaml")
PREPARED = Path("data/prepared")
TRAIN = PREPARED / "train.parquet"
TEST = PREPARED / "test.parquet"
REFERENCE = PREPARED / "reference.parquet"
DATA_SUMMARY = Path("reports/data.json")
MODEL = Path("models/model.skops")
METRICS = Path("reports/metrics.json")
PREDICTIONS = Path("reports/predictions.parquet")
PLOTS = Path("reports/plots")
REPORT = Path("reports/report.md")
REPORT_SUMMARY = Path("reports/report.json")
SMOKE = Path("reports/smoke.md")
RELEASE_ASSETS = Path("dist")
DRIFT = Path("reports/drift")
MONITOR = Path("reports/monitor")
