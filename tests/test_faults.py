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


# ---- unreadable response files, ragged rows, sizes -----------------------------------------------------------

def test_ragged_response_row_names_its_row(tmp_path):
    rows = zero_one_rows()
    rows[4] = rows[4] + ["1", "0"]
    rows[4][2] = '"1"'  # a quote sends the file through pandas, which names the line
    responses = write_csv(tmp_path / "r.csv", rows)
    out = refused("analyze", responses, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert "r.csv, row 5: the row has 16 cells but the rows above it have 14" in out
    assert "C error" not in out


def test_semicolon_response_file_is_read(tmp_path):
    responses = write_csv(tmp_path / "r.csv", zero_one_rows(), sep=";")
    code, out, _ = invoke("analyze", responses, "--out", tmp_path / "out")
    assert code == 0, out


def test_xlsx_zip_without_workbook_as_responses(tmp_path):
    import zipfile

    bad = tmp_path / "r.xlsx"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("hello.txt", "hi")
    out = refused("analyze", bad, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert "r.xlsx: the file cannot be read: it is a zip archive without an Excel workbook inside" in out


@pytest.mark.parametrize("n_rows,n_cols", [(3, 2_500), (2, 200_000)])
def test_too_wide_response_file_is_refused_before_allocating(tmp_path, n_rows, n_cols):
    header = ["candidate_id", *(f"I{j}" for j in range(n_cols))]
    rows = [header] + [[f"C{i}", *(["1", "0"] * n_cols)[:n_cols]] for i in range(n_rows)]
    responses = write_csv(tmp_path / "wide.csv", rows)
    out = refused("analyze", responses, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert f"wide.csv: the file has {n_cols + 1:,} columns; a response file may have at most 2,100" in out


def test_too_many_cells_is_refused(tmp_path, monkeypatch):
    import workflows.responses as responses_module

    monkeypatch.setattr(responses_module, "MAX_RESPONSE_CELLS", 1_000)  # the limit, tested small
    responses = write_csv(tmp_path / "r.csv", zero_one_rows())
    out = refused("analyze", responses, "--out", tmp_path / "out", outputs=[tmp_path / "out"])
    assert "r.csv: the file has 240 rows × 14 columns = 3,360 cells; at most 1,000" in out


# ---- numerics that cannot run name the file ----------------------------------------------------------------

def test_dif_with_one_group_names_the_file(tmp_path):
    responses = write_csv(tmp_path / "r.csv", zero_one_rows(languages=("en",)))
    out = refused("dif", responses, "--out", tmp_path / "dif.csv", outputs=[tmp_path / "dif.csv"])
    assert "r.csv: DIF by language needs both 'en' and 'es'" in out


def test_calibrate_one_candidate_names_the_file(tmp_path):
    responses = write_csv(tmp_path / "r.csv", zero_one_rows()[:2])
    out = refused("calibrate", responses, "--out", tmp_path / "p.csv", outputs=[tmp_path / "p.csv"])
    assert "r.csv: the file has responses of 1 candidate" in out


def test_calibrate_all_correct_item_names_the_file(tmp_path):
    rows = zero_one_rows()
    for row in rows[1:]:
        row[3] = "1"
    responses = write_csv(tmp_path / "r.csv", rows)
    out = refused("calibrate", responses, "--out", tmp_path / "p.csv", outputs=[tmp_path / "p.csv"])
    assert "r.csv: Item I01 was answered correctly by all 240 candidates" in out


# ---- the bank: read-only, damaged, full disk, --bank after the command ---------------------------------------

@pytest.fixture
def sample_bank(tmp_path):
    from tests.itembank.conftest import FRAMEWORK_TOML, item_row, write_rows
    from itembank.importing import import_frameworks, import_items
    from itembank.store import Bank

    (tmp_path / "fw.toml").write_text(FRAMEWORK_TOML, encoding="utf-8")
    path = tmp_path / "bank.db"
    with Bank.create(path, user="tester") as bank:
        import_frameworks(bank, tmp_path / "fw.toml")
        import_items(bank, write_rows(tmp_path / "seed.json", [item_row("T-0001"), item_row("T-0002", key="A")]))
    return path


def test_bank_option_after_the_subcommand(sample_bank, tmp_path):
    code, out, _ = invoke("--bank", tmp_path / "elsewhere.db", "items", "list", "--bank", sample_bank)
    assert code == 0, out
    assert "T-0001" in out
    code, out, _ = invoke("frameworks", "list", "--bank", sample_bank)
    assert code == 0 and "TST" in out


def test_read_only_bank_reads_and_refuses_writes_in_one_sentence(sample_bank, monkeypatch):
    import itembank.store as store

    monkeypatch.setattr(store, "_writable", lambda path: False)  # as on a read-only mount (root ignores chmod)
    code, out, _ = invoke("--bank", sample_bank, "items", "list")
    assert code == 0 and "T-0001" in out
    out = refused("items", "status", "T-0001", "review", "--reason", "x", bank=sample_bank)
    assert f"The bank {sample_bank} is read-only" in out


def test_damaged_bank_says_so_and_suggests_the_backup(sample_bank):
    data = bytearray(sample_bank.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 + 8:(page + 1) * 4096] = b"\xab" * (4096 - 8)
    sample_bank.write_bytes(bytes(data))
    out = refused("items", "list", bank=sample_bank)
    assert "is damaged (database disk image is malformed)" in out and "backup" in out


def test_full_disk_during_an_import_leaves_the_bank_as_it_was(sample_bank, tmp_path, monkeypatch):
    from tests.itembank.conftest import item_row, write_rows
    from itembank.store import Bank

    original = Bank._audit

    def full(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Bank, "_audit", full)
    path = write_rows(tmp_path / "new.json", [item_row("T-0100")])
    out = refused("items", "import", path, bank=sample_bank)
    assert "could not be written (database or disk is full)" in out
    assert "cannot rollback" not in out


def test_full_disk_during_an_export_is_one_sentence(sample_bank, tmp_path, monkeypatch):
    import certbank_core.files as files
    import itembank.exporting as exporting

    def half_then_full(path, writer):
        def write(tmp):
            tmp.write_text("half a file")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        files.atomic_write(path, write)

    monkeypatch.setattr(exporting, "atomic_write", half_then_full)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    out = refused("items", "export", out_dir / "bank.json", bank=sample_bank)
    assert "No space left on device" in out and "Free some space" in out
    assert list(out_dir.iterdir()) == []  # neither the export nor its temporary file


def test_interrupt_after_the_commit_says_what_was_committed(sample_bank, tmp_path, monkeypatch):
    from tests.itembank.conftest import item_row, write_rows
    import itembank.importing as importing

    real = importing.import_item_file

    def then_interrupt(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(importing, "import_item_file", then_interrupt)
    path = write_rows(tmp_path / "new.json", [item_row("T-0100"), item_row("T-0101")])
    code, out, _ = invoke("--bank", sample_bank, "items", "import", path)
    assert code == 130
    assert "The bank was changed before the interrupt and keeps it: item.create ×2" in out


def test_interrupt_before_any_commit_says_nothing_changed(sample_bank, tmp_path, monkeypatch):
    import itembank.importing as importing

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importing, "import_item_file", interrupt)
    before = digest(sample_bank)
    code, out, _ = invoke("--bank", sample_bank, "items", "import", tmp_path / "x.json")
    assert code == 130 and "Nothing was changed" in out
    assert digest(sample_bank) == before
