"""Hostile and odd item and framework files (issue 18): every one is one clear sentence naming file, row and
column, exit code 2, the bank byte-identical and nothing written."""
from __future__ import annotations

import csv
import json
import zipfile

import pytest
from click.testing import CliRunner

from certbank_core.text import MAX_CELL_CHARS, text_problem, xlsx_safe
from cli import main
from tests.itembank.conftest import digest, item_row, write_rows


def run(bank_path, *args):
    """Run certbank on the bank; return (exit code, stderr+stdout)."""
    result = CliRunner().invoke(main, ["--bank", str(bank_path), *args])
    return result.exit_code, result.output, result


def refused(bank_path, *args) -> str:
    """Run a command that must be refused: exit 2, no traceback, the bank byte-identical. Returns the message."""
    before = digest(bank_path)
    code, output, result = run(bank_path, *args)
    assert code == 2, (output, result.exception)
    assert "Traceback" not in output
    assert digest(bank_path) == before
    return output


# ---- text a supported format cannot hold -------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_stem_longer_than_an_excel_cell_is_refused_with_row_column_and_limit(tmp_path, bank_path, suffix):
    path = write_rows(tmp_path / f"long{suffix}", [item_row("T-0100"), item_row("T-0101", stem_en="x" * 40_000)])
    out = refused(bank_path, "items", "import", str(path))
    assert f"long{suffix}, row 3, column 'stem_en'" in out
    assert "40,000 characters" in out and "32,767" in out


def test_text_exactly_at_the_limit_is_accepted(tmp_path, bank_path):
    path = write_rows(tmp_path / "edge.json", [item_row("T-0100", stem_en="x" * MAX_CELL_CHARS)])
    code, out, _ = run(bank_path, "items", "import", str(path))
    assert code == 0, out


def test_a_megabyte_csv_field_names_its_row_not_the_csv_module_limit(tmp_path, bank_path):
    path = write_rows(tmp_path / "big.csv", [item_row("T-0100"), item_row("T-0101", rationale_en="y" * (1 << 20))])
    out = refused(bank_path, "items", "import", str(path))
    assert "big.csv, row 3, column 'rationale_en'" in out
    assert "field larger than field limit" not in out


# ---- wrong JSON types and hostile JSON ---------------------------------------------------------------------

def test_json_object_where_text_is_expected_is_an_error(tmp_path, bank_path):
    row = item_row("T-0100")
    row["stem_en"] = {"nested": ["object"]}
    path = tmp_path / "obj.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    out = refused(bank_path, "items", "import", str(path))
    assert "obj.json, row 2, column 'stem_en': is a JSON object" in out


def test_json_list_of_texts_is_still_a_list_cell(tmp_path, bank_path):
    row = item_row("T-0100")
    row["keywords"] = ["hope", "trust"]
    path = tmp_path / "list.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    code, out, _ = run(bank_path, "items", "import", str(path))
    assert code == 0, out


def test_json_nested_200000_levels_is_one_sentence(tmp_path, bank_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    out = refused(bank_path, "items", "import", str(path))
    assert "deep.json: the file cannot be read as json: it is nested too deeply" in out


# ---- control characters: one rule for items and frameworks --------------------------------------------------

@pytest.mark.parametrize("char,name", [("\x07", "BEL"), ("\x1b", "ESC"), ("\x00", "NUL")])
def test_control_characters_in_items_are_refused(tmp_path, bank_path, char, name):
    path = write_rows(tmp_path / "ctl.json", [item_row("T-0100", option_a_es=f"Diag{char}nosticar")])
    out = refused(bank_path, "items", "import", str(path))
    assert f"ctl.json, row 2, column 'option_a_es': contains the control character {name}" in out


@pytest.mark.parametrize("char,name", [("\\u0007", "BEL"), ("\\u001b", "ESC"), ("\\u0000", "NUL")])
def test_control_characters_in_framework_toml_are_refused(tmp_path, bank_path, char, name):
    path = tmp_path / "fw.toml"
    path.write_text(f'[framework]\ncode = "CTL"\nname = "Bell{char}"\nversion = "1"\n[[areas]]\ncode = "CTL.I"\n'
                    'title = "Area"\n[[areas.competencies]]\ncode = "CTL.I.1"\ntitle = "Comp"\n', encoding="utf-8")
    out = refused(bank_path, "frameworks", "import", str(path))
    assert f"fw.toml, column 'framework.name': contains the control character {name}" in out


def test_control_characters_in_framework_csv_are_refused_with_row(tmp_path, bank_path):
    path = tmp_path / "fw.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["framework_code", "framework_name", "version", "area_code", "area_title", "competency_code",
                    "competency_title"])
        w.writerow(["CTL", "Control", "1", "CTL.I", "Area", "CTL.I.1", "Fine"])
        w.writerow(["CTL", "Control", "1", "CTL.I", "Area", "CTL.I.2", "Bad\x1b[31m"])
    out = refused(bank_path, "frameworks", "import", str(path))
    assert "fw.csv, row 3, column 'competency_title': contains the control character ESC" in out


def test_tab_and_newline_are_still_text():
    assert text_problem("line one\nline two\tand a tab\r\n") is None
    assert xlsx_safe("a\x07b\x1bc") == "abc"


# ---- separators, ragged rows -----------------------------------------------------------------------------

def test_semicolon_separated_item_csv_is_read(tmp_path, bank_path):
    row = item_row("T-0100")
    path = tmp_path / "semi.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(list(row))
        w.writerow(list(row.values()))
    code, out, _ = run(bank_path, "items", "import", str(path))
    assert code == 0, out
    assert "1 new items" in out


def test_ragged_item_csv_row_names_its_row(tmp_path, bank_path):
    row = item_row("T-0100")
    path = tmp_path / "ragged.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(list(row))
        w.writerow([*row.values(), "extra", "cells"])
    out = refused(bank_path, "items", "import", str(path))
    assert "ragged.csv, row 2: the row has" in out


# ---- corrupt workbooks -------------------------------------------------------------------------------------

def _export_xlsx(tmp_path, bank_path):
    path = tmp_path / "export.xlsx"
    code, out, _ = run(bank_path, "items", "export", str(path))
    assert code == 0, out
    return path


def test_corrupt_xlsx_part_is_one_sentence(tmp_path, bank_path):
    good = _export_xlsx(tmp_path, bank_path)
    bad = tmp_path / "corrupt.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[: len(data) // 2] if name.startswith("xl/worksheets/") else data)
    out = refused(bank_path, "items", "import", str(bad))
    assert "corrupt.xlsx: the file cannot be read as xlsx" in out


def test_xlsx_zip_without_a_workbook_is_one_sentence(tmp_path, bank_path):
    bad = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(bad, "w") as dst:
        dst.writestr("hello.txt", "not a workbook")
    out = refused(bank_path, "items", "import", str(bad))
    assert "empty.xlsx: the file cannot be read as xlsx" in out
