"""The labels' request ids are read as the text written: the service takes any X-Request-ID of [A-Za-z0-9._:-], order
numbers such as 000123 among them, and a label must name its prediction exactly."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_gitops import UserError
from ml_gitops.monitor import performance


@pytest.mark.any_task
def test_a_csv_s_request_ids_are_the_text_written_and_empty_ones_are_left_out_and_said(tmp_path):
    (tmp_path / "a.csv").write_text("request_id,label\n000123,1\n4567,0\n,1\nNA,0\n")
    (tmp_path / "b.csv").write_text("request_id;label\n1e5;1\n")
    notes: list[str] = []
    labels = performance.read_labels(str(tmp_path), notes)
    assert labels["request_id"].tolist() == ["000123", "4567", "NA", "1e5"]
    assert labels["label"].tolist() == [1, 0, 0, 1]
    assert notes == ["left out 1 labels without a request_id (an empty cell)"]


@pytest.mark.any_task
def test_a_parquet_file_s_integer_ids_are_their_decimal_text_and_missing_ones_are_left_out(tmp_path):
    pq.write_table(
        pa.table({"request_id": pa.array([4567, None, 12]), "label": [1, 0, 1]}), tmp_path / "a.parquet"
    )
    pq.write_table(pa.table({"request_id": ["000123", None], "label": [0, 1]}), tmp_path / "b.parquet")
    notes: list[str] = []
    labels = performance.read_labels(str(tmp_path), notes)
    assert labels["request_id"].tolist() == ["4567", "12", "000123"]
    assert labels["label"].tolist() == [1, 1, 0]
    assert notes[0].endswith(
        "request_id holds integers, read as their decimal text (an id written with leading "
        "zeros, such as 000123, would not match: store request_id as text)"
    )
    assert notes[1] == "left out 2 labels without a request_id (an empty cell)"


@pytest.mark.any_task
def test_floating_point_request_ids_are_refused_in_one_line(tmp_path):
    pd.DataFrame({"request_id": [4567.0, 100000.0], "label": [1, 0]}).to_parquet(tmp_path / "labels.parquet")
    with pytest.raises(
        UserError, match=r"request_id is stored as double, which cannot hold every id exactly"
    ):
        performance.read_labels(str(tmp_path / "labels.parquet"), [])


@pytest.mark.any_task
def test_an_unreadable_label_file_is_one_line(tmp_path):
    (tmp_path / "labels.csv").write_bytes(b"request_id,label\n\xff\xfe,1\n")
    with pytest.raises(UserError, match=r"labels .*labels.csv cannot be read \(.*\): give request_id, label"):
        performance.read_labels(str(tmp_path / "labels.csv"), [])
