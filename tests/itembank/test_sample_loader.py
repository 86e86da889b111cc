"""load_sample: everything in one transaction, cross-file enemies, and the shipped sample program."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from certbank_core.errors import InputError
from itembank.sample_loader import DEFAULT_BLUEPRINT_NAME, load_sample
from itembank.store import Bank

from .conftest import FRAMEWORK_TOML, item_row, write_rows

PACKAGE_SAMPLE = Path(__file__).resolve().parents[2] / "itembank" / "sample"


def _sample_dir(tmp_path: Path, second_rows=None) -> Path:
    root = tmp_path / "sample"
    (root / "frameworks").mkdir(parents=True)
    (root / "items").mkdir()
    (root / "frameworks" / "tst.toml").write_text(FRAMEWORK_TOML, encoding="utf-8")
    (root / "crosswalk.toml").write_text('[[crosswalk]]\nfrom = "TST.I.1"\nto = "TST.II.1"\n', encoding="utf-8")
    write_rows(root / "items" / "a.json", [item_row("S-1", enemies="S-3"), item_row("S-2")])
    write_rows(root / "items" / "b.json", second_rows or [item_row("S-3", status="operational")])
    return root


def test_load_sample_loads_everything(tmp_path):
    bp = tmp_path / "bp.toml"
    bp.write_text("[blueprint]\nlength = 3\n", encoding="utf-8")
    with Bank.create(tmp_path / "b.db", "u") as bank:
        summary = load_sample(bank, _sample_dir(tmp_path), bp)
        assert summary == {"frameworks": 1, "crosswalk_links": 1, "items": 3, "blueprint": DEFAULT_BLUEPRINT_NAME}
        assert bank.enemy_pairs() == [("S-1", "S-3")]
        assert bank.get_blueprint(DEFAULT_BLUEPRINT_NAME) == "[blueprint]\nlength = 3\n"


@pytest.mark.parametrize("second_rows,message", [
    ([item_row("S-3", key="Z")], "b.json, row 2, column 'key'"),
    ([item_row("S-2")], "b.json, row 2, column 'item_id': item S-2 is also in a.json"),
])
def test_load_sample_is_all_or_nothing(tmp_path, second_rows, message):
    with Bank.create(tmp_path / "b.db", "u") as bank:
        with pytest.raises(InputError) as info:
            load_sample(bank, _sample_dir(tmp_path, second_rows), tmp_path / "no-blueprint.toml")
        assert message in str(info.value)
        assert bank.frameworks() == [] and bank.item_ids() == set() and bank.audit_log() == []


def _shipped_rows() -> list[dict]:
    return [r for p in sorted((PACKAGE_SAMPLE / "items").glob("*.json"))
            for r in json.loads(p.read_text(encoding="utf-8"))]


@pytest.mark.skipif(not list((PACKAGE_SAMPLE / "items").glob("*.json")), reason="no sample items shipped yet")
def test_init_sample_loads_the_shipped_program(tmp_path):
    path = tmp_path / "sample.db"
    result = CliRunner().invoke(main, ["--bank", str(path), "init", "--sample"])
    assert result.exit_code == 0, result.output
    rows = _shipped_rows()
    with Bank.open(path) as bank:
        pool = bank.item_pool()
        assert sorted(pool["item_id"]) == sorted(r["item_id"] for r in rows)
        assert {fw.code for fw in bank.frameworks()} >= {"SAMHSA"}
        assert (pool["area"] != "").all()


def test_failed_init_sample_leaves_no_file(tmp_path, monkeypatch):
    import itembank.sample_loader as loader

    def broken(bank):
        bank.save_blueprint("half", "x")  # a write that must not survive
        raise InputError("the sample is broken")

    monkeypatch.setattr(loader, "load_sample", broken)
    path = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["--bank", str(path), "init", "--sample"])
    assert result.exit_code == 2 and "the sample is broken" in result.output
    assert not path.exists() and not Path(str(path) + "-wal").exists()
