"""Hostile response files and faults of the environment (issue 18): one sentence naming file, row and column,
exit code 2, no traceback, the bank byte-identical and no output left behind."""
from __future__ import annotations

import csv
import errno
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from tests.itembank.conftest import digest


def write_csv(path, rows, sep=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)
    return path


def zero_one_rows(n=240, k=12, seed=3, languages=("en", "es")):
    """A 0/1 response table with a language column, header first (Rasch-like, so every statistic exists)."""
    rng = np.random.default_rng(seed)
    theta, b = rng.normal(size=n), np.linspace(-1.5, 1.5, k)
    x = (rng.random((n, k)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(int)
    header = ["candidate_id", "language", *(f"I{j:02d}" for j in range(k))]
    return [header] + [[f"C{i:04d}", languages[i % len(languages)], *map(str, x[i])] for i in range(n)]


def invoke(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    return result.exit_code, result.output, result


def refused(*args, bank=None, outputs=()):
    """exit 2, no traceback, the bank (if any) byte-identical, none of ``outputs`` created. Returns the message."""
    before = digest(bank) if bank else None
    code, out, result = invoke(*(["--bank", bank] if bank else []), *args)
    assert code == 2, (out, result.exception)
    assert "Traceback" not in out
    if bank:
        assert digest(bank) == before
    for path in outputs:
        assert not path.exists(), f"{path} was left behind"
    return out


# ---- missing codes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["NaN", "None", "nan", "NULL"])
def test_only_documented_missing_codes_are_missing_in_zero_one_files(tmp_path, text):
    rows = zero_one_rows()
    rows[3][4] = text
    responses = write_csv(tmp_path / "r.csv", rows)
    out = refused("analyze", responses, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert f"r.csv, row 4, column 'I02': '{text}' is not 0, 1 or blank" in out


def test_nan_in_a_labelled_file_is_reported(tmp_path):
    rows = [["candidate_id", "Q1", "Q2"], ["A", "A", "B"], ["B", "nan", "B"], ["C", "B", "*"], ["D", "-", "A"]]
    responses = write_csv(tmp_path / "r.csv", rows)
    key = write_csv(tmp_path / "key.csv", [["item_id", "key"], ["Q1", "A"], ["Q2", "B"]])
    out = refused("analyze", responses, "--key", key, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert "r.csv, row 3, column 'Q1': 'nan' is not an option label A–F or blank" in out
    assert "'*'" not in out and "'-'" not in out  # the documented codes are still no response


def test_nan_as_a_key_is_a_bad_key(tmp_path):
    from workflows.responses import read_key_file
    from certbank_core.errors import InputError

    key = write_csv(tmp_path / "key.csv", [["item_id", "key"], ["Q1", "A"], ["Q2", "None"]])
    with pytest.raises(InputError, match=r"key.csv, row 3, column 'key': key 'None'"):
        read_key_file(key)


# ---- control characters in response files ------------------------------------------------------------------

@pytest.mark.parametrize("where,column,char", [(0, "candidate_id", "\x07"), (1, "language", "\x1b")])
def test_control_characters_in_ids_and_groups_refused_and_no_outputs(tmp_path, where, column, char):
    rows = zero_one_rows()
    rows[6][where] = f"x{char}y"
    responses = write_csv(tmp_path / "r.csv", rows)
    out_dir, report = tmp_path / "out", tmp_path / "report.xlsx"
    out = refused("analyze", responses, "--out", out_dir, "--group", "language", "--report", report,
                  outputs=[out_dir, report])
    assert f"r.csv, row 7, column '{column}': 'x\\x{ord(char):02x}y' contains the control character" in out
