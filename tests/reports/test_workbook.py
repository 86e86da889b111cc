"""The shared workbook layer: text from data never becomes a formula, saves are atomic, nothing is
overwritten without force, and the audit properties are set."""
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from certbank_core.errors import InputError
from reports import workbook as wbk


def _save_and_reload(tmp_path, frame, name="t.xlsx"):
    wb = wbk.new_workbook("Test", settings={"seed": 1})
    wbk.write_table(wb.active, frame, formats={"p_value": wbk.FORMATS["proportion"]})
    path = wbk.save_atomic(wb, tmp_path / name)
    return load_workbook(path)


def test_formula_like_text_is_stored_as_text(tmp_path):
    frame = pd.DataFrame({"stem": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"],
                          "p_value": [0.5, np.nan, 0.25, 1.0, 0.0]})
    ws = _save_and_reload(tmp_path, frame).active
    values = [ws.cell(row=r, column=1).value for r in range(2, 7)]
    assert values == list(frame["stem"])
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, 7))
    assert ws.cell(row=2, column=2).number_format == "0.00"
    assert ws.cell(row=3, column=2).value is None  # NaN is an empty cell, not the text 'nan'
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B6"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
                min_size=1, max_size=5))
def test_any_text_round_trips_as_text(tmp_path_factory, texts):
    tmp = tmp_path_factory.mktemp("wb")
    ws = _save_and_reload(tmp, pd.DataFrame({"text": texts})).active
    got = [ws.cell(row=r, column=1).value for r in range(2, 2 + len(texts))]
    assert [g if g is not None else "" for g in got] == texts


def test_existing_file_is_not_overwritten_without_force(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"earlier")
    wb = wbk.new_workbook("Test")
    with pytest.raises(InputError, match="already exists"):
        wbk.save_atomic(wb, target)
    assert target.read_bytes() == b"earlier"
    wbk.save_atomic(wb, target, force=True)
    assert load_workbook(target).properties.title == "Test"
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_document_properties_record_inputs_and_settings(tmp_path):
    data = tmp_path / "responses.csv"
    data.write_text("candidate_id,I1\nc1,A\n")
    wb = wbk.new_workbook("Item analysis", settings={"quantiles": 5}, input_files=[data])
    props = load_workbook(wbk.save_atomic(wb, tmp_path / "x.xlsx")).properties
    assert props.title == "Item analysis"
    assert props.creator.startswith("certbank")
    assert wbk.sha256_of(data) in props.description
    assert "quantiles=5" in props.description


def test_wrong_extension_and_missing_folder_are_refused(tmp_path):
    wb = wbk.new_workbook("Test")
    with pytest.raises(InputError, match=".xlsx extension"):
        wbk.save_atomic(wb, tmp_path / "x.csv")
    with pytest.raises(InputError, match="does not exist"):
        wbk.save_atomic(wb, tmp_path / "nope" / "x.xlsx")
