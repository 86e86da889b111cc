"""Every item-bank command through click's CliRunner: output, exit codes, and nothing written on error."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from itembank.store import Bank

from .conftest import digest, item_row, write_rows


def run(bank_path, *args, user="cli"):
    return CliRunner().invoke(main, ["--bank", str(bank_path), "--user", user, *map(str, args)])


def test_init_creates_a_bank_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "new.db"
    result = run(path, "init")
    assert result.exit_code == 0 and "Created an empty bank" in result.output
    with Bank.open(path) as bank:
        assert bank.item_ids() == set()
    before = digest(path)
    again = run(path, "init")
    assert again.exit_code == 2 and "already exists" in again.output
    assert digest(path) == before


def test_commands_on_a_missing_bank_say_so(tmp_path):
    result = run(tmp_path / "none.db", "items", "list")
    assert result.exit_code == 2 and "There is no bank at" in result.output
    assert not (tmp_path / "none.db").exists()


def test_bank_from_environment(tmp_path, bank_path):
    result = CliRunner().invoke(main, ["items", "list", "--format", "csv"], env={"CERTBANK_BANK": str(bank_path)})
    assert result.exit_code == 0 and "T-0001" in result.output


def test_frameworks_import_list_show(tmp_path, framework_file):
    path = tmp_path / "b.db"
    run(path, "init")
    result = run(path, "frameworks", "import", framework_file)
    assert result.exit_code == 0 and "Framework TST: 2 areas, 3 competencies." in result.output
    listed = run(path, "frameworks", "list", "--format", "json")
    assert json.loads(listed.output) == [{"code": "TST", "name": "Test framework", "version": "1",
                                          "areas": 2, "competencies": 3}]
    shown = run(path, "frameworks", "show", "TST")
    assert "TST.II.1  Third competency" in shown.output
    missing = run(path, "frameworks", "show", "NOPE")
    assert missing.exit_code == 2 and "no framework 'NOPE'" in missing.output


def test_items_import_export_list_show(tmp_path, bank_path):
    rows = [item_row("C-1", status="review", stem_en="Which one helps hope?", keywords="esperanza"),
            item_row("C-2", primary_competency="TST.II.1", enemies="C-1", translation_status_en="draft")]
    for r in rows[1:]:
        for col in list(r):
            if col.endswith("_es"):
                r[col] = ""
    imported = run(bank_path, "items", "import", write_rows(tmp_path / "in.xlsx", rows))
    assert imported.exit_code == 0, imported.output
    assert "2 new items, 0 new versions, 0 unchanged, 0 status changes" in imported.output
    table = run(bank_path, "items", "list")
    assert table.exit_code == 0 and "C-1" in table.output and "T-0001" in table.output

    def ids(*args):
        out = run(bank_path, "items", "list", "--format", "json", *args)
        assert out.exit_code == 0, out.output
        return [r["item_id"] for r in json.loads(out.output)]

    assert ids("--status", "review") == ["C-1"]
    assert ids("--competency", "TST.II") == ["C-2"]
    assert ids("--incomplete", "es") == ["C-1", "C-2", "T-0001", "T-0002"]  # es is 'translated', not reviewed
    assert ids("--complete", "en") == ["C-1", "T-0001", "T-0002"]
    assert ids("--search", "ESPERANZA") == ["C-1"]
    csv_out = run(bank_path, "items", "list", "--format", "csv", "--status", "review")
    assert csv_out.output.splitlines()[0].startswith("item_id,version,status")
    bad = run(bank_path, "items", "list", "--status", "gone")
    assert bad.exit_code == 2 and "Unknown status 'gone'" in bad.output

    shown = run(bank_path, "items", "show", "T-0001", "--lang", "es")
    assert "* B. Escuchar" in shown.output and "[es, translated]" in shown.output
    no_lang = run(bank_path, "items", "show", "C-2", "--lang", "es")
    assert no_lang.exit_code == 2 and "has no text in 'es'" in no_lang.output
    missing = run(bank_path, "items", "show", "ZZ-1")
    assert missing.exit_code == 2 and "no item 'ZZ-1'" in missing.output

    for suffix in (".xlsx", ".csv", ".json"):
        out = run(bank_path, "items", "export", tmp_path / f"out{suffix}")
        assert out.exit_code == 0 and "Exported 4 items" in out.output
    exported = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [r["item_id"] for r in exported] == ["C-1", "C-2", "T-0001", "T-0002"]
    assert exported[1]["enemies"] == "C-1" and exported[0]["enemies"] == "C-2"
    bad_ext = run(bank_path, "items", "export", tmp_path / "out.txt")
    assert bad_ext.exit_code == 2 and "unsupported file type" in bad_ext.output


def test_items_template(tmp_path):
    result = run(tmp_path / "unused.db", "items", "template", tmp_path / "t.xlsx")
    assert result.exit_code == 0 and (tmp_path / "t.xlsx").exists()
    wrong = run(tmp_path / "unused.db", "items", "template", tmp_path / "t.csv")
    assert wrong.exit_code == 2 and "ending in .xlsx" in wrong.output


def test_items_status_history_and_audit(bank_path):
    ok = run(bank_path, "items", "status", "T-0001", "review", "--reason", "ready", user="maria")
    assert ok.exit_code == 0 and "T-0001: draft -> review." in ok.output
    before = digest(bank_path)
    illegal = run(bank_path, "items", "status", "T-0001", "operational", "--reason", "skip ahead")
    assert illegal.exit_code == 2 and "cannot move from review to operational" in illegal.output
    assert "Traceback" not in illegal.output
    assert digest(bank_path) == before
    no_reason = run(bank_path, "items", "status", "T-0001", "approved")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output

    history = run(bank_path, "items", "history", "T-0001", "--format", "json")
    events = json.loads(history.output)
    assert [e["event"] for e in events] == ["version 1", "status", "status"]
    assert events[-1]["user"] == "maria" and events[-1]["detail"] == "draft -> review: ready"

    audit = run(bank_path, "audit", "--item", "T-0001", "--format", "json")
    entries = json.loads(audit.output)
    assert [e["action"] for e in entries] == ["item.create", "item.status"]
    assert entries[-1]["user"] == "maria" and json.loads(entries[-1]["after"])["reason"] == "ready"
    full = run(bank_path, "audit")
    assert full.exit_code == 0 and "framework.import" in full.output


def test_items_enemies_add(bank_path):
    first = run(bank_path, "items", "enemies", "add", "T-0002", "T-0001")
    assert first.exit_code == 0 and "are enemies." in first.output
    second = run(bank_path, "items", "enemies", "add", "T-0001", "T-0002")
    assert "already recorded" in second.output
    with Bank.open(bank_path) as bank:
        assert bank.enemy_pairs() == [("T-0001", "T-0002")]
    unknown = run(bank_path, "items", "enemies", "add", "T-0001", "NOPE")
    assert unknown.exit_code == 2 and "no item 'NOPE'" in unknown.output
    removed = run(bank_path, "items", "enemies", "remove", "T-0002", "T-0001")
    assert removed.exit_code == 0 and "no longer enemies" in removed.output
    assert "were not enemies" in run(bank_path, "items", "enemies", "remove", "T-0002", "T-0001").output
    with Bank.open(bank_path) as bank:
        assert bank.enemy_pairs() == []


def test_every_item_bank_command_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: item bank -->")[1].split("<!-- end section: item bank -->")[0]
    for path in ("init", "frameworks import", "frameworks list", "frameworks show", "items template",
                 "items import", "items export", "items list", "items show", "items history", "items status",
                 "items enemies add", "items enemies remove", "audit"):
        assert f"certbank {path}" in section or f"certbank --user maria {path}" in section, path


@pytest.mark.parametrize("args", [["items", "--help"], ["frameworks", "--help"], ["audit", "--help"],
                                  ["init", "--help"], ["items", "enemies", "--help"]])
def test_every_command_is_documented(tmp_path, args):
    result = run(tmp_path / "x.db", *args)
    assert result.exit_code == 0 and "Usage:" in result.output
    group = main
    for name in args[:-1]:
        group = group.commands[name]
    commands = getattr(group, "commands", {})
    for name, cmd in commands.items():
        assert cmd.help, f"command {name} has no help text"
