"""Shared fixtures for the item-bank tests: a tiny framework, item rows in the wide layout, a bank file."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from itembank.importing import import_frameworks
from itembank.layout import wide_columns
from itembank.store import Bank

FRAMEWORK_TOML = """
[framework]
code = "TST"
name = "Test framework"
version = "1"

[[areas]]
code = "TST.I"
title = "First area"
  [[areas.competencies]]
  code = "TST.I.1"
  title = "First competency"
  [[areas.competencies]]
  code = "TST.I.2"
  title = "Second competency"

[[areas]]
code = "TST.II"
title = "Second area"
  [[areas.competencies]]
  code = "TST.II.1"
  title = "Third competency"
"""


def item_row(item_id: str = "T-0001", **overrides) -> dict[str, str]:
    """A valid bilingual wide-layout row; keyword arguments replace columns."""
    row = {c: "" for c in wide_columns(["en", "es"])}
    row.update({
        "item_id": item_id, "status": "draft", "primary_competency": "TST.I.1", "cognitive_level": "recall",
        "key": "B", "author": "Ana", "source": "Manual p. 3", "keywords": "hope; recovery",
        "stem_en": f"What does a peer specialist do first? ({item_id})", "option_a_en": "Diagnose",
        "option_b_en": "Listen", "option_c_en": "Prescribe", "rationale_en": "Listening builds trust.",
        "translation_status_en": "reviewed",
        "stem_es": f"¿Qué hace primero un especialista de pares? ({item_id})", "option_a_es": "Diagnosticar",
        "option_b_es": "Escuchar", "option_c_es": "Recetar", "rationale_es": "Escuchar crea confianza.",
        "translation_status_es": "translated",
    })
    row.update(overrides)
    return row


def write_rows(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """Write rows as .csv, .json or .xlsx (sheet 'items') according to the suffix."""
    if columns is None:
        columns = list(rows[0].keys()) if rows else wide_columns(["en", "es"])
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            w.writerows([[r.get(c, "") for c in columns] for r in rows])
    elif path.suffix == ".json":
        path.write_text(json.dumps([{c: r.get(c, "") for c in columns} for r in rows], ensure_ascii=False),
                        encoding="utf-8")
    else:
        from itembank.exporting import write_table

        write_table(path, columns, rows)
    return path


def digest(path: Path) -> str:
    """SHA-256 of a bank file and its WAL (if any): equal digests mean byte-identical."""
    h = hashlib.sha256(Path(path).read_bytes())
    wal = Path(str(path) + "-wal")
    if wal.exists():
        h.update(wal.read_bytes())
    return h.hexdigest()


@pytest.fixture
def framework_file(tmp_path) -> Path:
    path = tmp_path / "tst.toml"
    path.write_text(FRAMEWORK_TOML, encoding="utf-8")
    return path


@pytest.fixture
def bank_path(tmp_path, framework_file) -> Path:
    """A closed bank file holding the test framework and two items (T-0001, T-0002)."""
    path = tmp_path / "bank.db"
    with Bank.create(path, user="tester") as bank:
        import_frameworks(bank, framework_file)
        from itembank.importing import import_items

        import_items(bank, write_rows(tmp_path / "seed.json", [item_row("T-0001"), item_row("T-0002", key="A")]))
    return path


@pytest.fixture
def bank(bank_path):
    with Bank.open(bank_path, user="tester") as b:
        yield b
