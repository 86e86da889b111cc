"""Importing items and frameworks: every bad-input case names file, row and column, and changes nothing."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from certbank_core.errors import InputError
from itembank.importing import import_frameworks, import_items, read_framework_file
from itembank.model import ItemStatus
from itembank.store import Bank

from .conftest import digest, item_row, write_rows

# (description, rows, expected fragments: (row, column, message)) — rows are written in every format.
BAD_CASES = [
    ("missing key", [item_row("X-1", key="")], [(2, "key", "the key is missing")]),
    ("key not among options", [item_row("X-1", key="D")], [(2, "key", "key 'D' is not among the options (A, B, C)")]),
    ("option count differs", [item_row("X-1", option_c_es="")],
     [(2, "option_c_es", "2 options in es but 3 in en")]),
    ("unknown competency", [item_row("X-1", primary_competency="TST.IX.9")],
     [(2, "primary_competency", "unknown competency 'TST.IX.9'")]),
    ("unknown secondary", [item_row("X-1", secondary_competencies="TST.I.2; NOPE.1")],
     [(2, "secondary_competencies", "unknown competency 'NOPE.1'")]),
    ("duplicate id", [item_row("X-1"), item_row("X-1")], [(3, "item_id", "duplicate item id X-1 (first on row 3)")]),
    ("empty stem", [item_row("X-1", stem_es="")], [(2, "stem_es", "empty stem")]),
    ("gap in options", [item_row("X-1", option_b_en="", key="A")],
     [(2, "option_b_en", "option B is empty but a later option is filled")]),
    ("bad status", [item_row("X-1", status="published")], [(2, "status", "'published' is not allowed")]),
    ("bad cognitive level", [item_row("X-1", cognitive_level="")], [(2, "cognitive_level", "empty; use one of")]),
    ("unknown enemy", [item_row("X-1", enemies="Z-9")], [(2, "enemies", "enemy 'Z-9' is neither")]),
    ("illegal status change of an existing item", [item_row("T-0001", status="operational")],
     [(2, "status", "item T-0001 is draft in the bank and cannot move to operational")]),
]


def _run_import(bank_path, file):
    return CliRunner().invoke(main, ["--bank", str(bank_path), "--user", "cli", "items", "import", str(file)])


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
@pytest.mark.parametrize("name,rows,expected", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_item_file_names_every_problem_and_changes_nothing(tmp_path, bank_path, suffix, name, rows, expected):
    # A good row before the bad one proves nothing is written partially.
    path = write_rows(tmp_path / f"bad{suffix}", [item_row("GOOD-1"), *rows])
    before = digest(bank_path)
    result = _run_import(bank_path, path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for row, column, message in expected:
        assert f"{path}, row {row + 1}, column '{column}': {message}" in result.output
    assert digest(bank_path) == before


def test_all_problems_are_reported_at_once(tmp_path, bank):
    rows = [item_row("X-1", key=""), item_row("X-2", stem_en=""), item_row("X-1", primary_competency="NO.1")]
    path = write_rows(tmp_path / "many.csv", rows)
    with pytest.raises(InputError) as info:
        import_items(bank, path)
    where = [(p.row, p.column) for p in info.value.problems]
    assert where == [(2, "key"), (3, "stem_en"), (4, "item_id"), (4, "primary_competency")]
    assert bank.item_ids() == {"T-0001", "T-0002"}


@pytest.mark.parametrize("content,suffix,message", [
    (b"\xff\xfe\x00garbage\x81", ".csv", "cannot be read as csv"),
    (b"[{\"item_id\": ", ".json", "cannot be read as json"),
    (b"{\"a\": 1}", ".json", "must be a list of row objects"),
    (b"PK\x03\x04 not really a zip", ".xlsx", "cannot be read as xlsx"),
    (b"item_id\n", ".txt", "unsupported file type"),
    (b"item_id,key\n", ".csv", "the file has no item rows"),
])
def test_unreadable_files(tmp_path, bank_path, content, suffix, message):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    before = digest(bank_path)
    result = _run_import(bank_path, path)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert digest(bank_path) == before


def test_missing_file_and_missing_columns(tmp_path, bank_path):
    result = _run_import(bank_path, tmp_path / "nope.csv")
    assert result.exit_code == 2 and "does not exist" in result.output
    path = tmp_path / "cols.csv"
    path.write_text("item_id,stem_en,colour\nX-1,Hello\n", encoding="utf-8")
    result = _run_import(bank_path, path)
    assert f"{path}, row 2, column 'colour': unknown column" not in result.output
    assert f"{path}, row 1, column 'colour': unknown column" in result.output
    assert f"{path}, row 1, column 'key': required column is missing" in result.output


def test_duplicate_and_unnamed_columns(tmp_path, bank):
    row = item_row("D-1")
    cols = list(row)
    path = tmp_path / "dup.csv"
    write_rows(path, [row], columns=[*cols, "key", ""])
    with pytest.raises(InputError, match="row 1, column 'key': the column appears more than once"):
        import_items(bank, path)
    write_rows(path, [row], columns=[*cols, ""])
    assert import_items(bank, path)["created"] == ["D-1"]


def test_wrong_sheet(tmp_path, bank_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["item_id"])
    path = tmp_path / "wrong.xlsx"
    wb.save(path)
    before = digest(bank_path)
    result = _run_import(bank_path, path)
    assert result.exit_code == 2
    assert f"{path}: the workbook has no sheet named 'items' (it has: Sheet1)" in result.output
    assert digest(bank_path) == before


def test_reimport_with_changes_makes_versions_and_status_changes(tmp_path, bank):
    path = write_rows(tmp_path / "v2.json", [item_row("T-0001", stem_en="Changed?", status="review"),
                                             item_row("T-0002", key="A")])
    result = import_items(bank, path)
    assert result == {"created": [], "new_version": ["T-0001"], "unchanged": ["T-0002"],
                      "status_changed": ["T-0001"]}
    item = bank.get_item("T-0001")
    assert item.version == 2 and item.status is ItemStatus.REVIEW
    assert bank.status_history("T-0001")[-1].reason == "import v2.json"


def test_enemies_from_file_are_symmetric(tmp_path, bank):
    import_items(bank, write_rows(tmp_path / "e.csv", [item_row("E-1", enemies="E-2; T-0001"), item_row("E-2")]))
    assert bank.enemy_pairs() == [("E-1", "E-2"), ("E-1", "T-0001")]
    assert bank.get_item("E-2").enemies == ("E-1",)


def test_language_left_blank_is_absent(tmp_path, bank):
    row = item_row("EN-1")
    for col in list(row):
        if col.endswith("_es"):
            row[col] = ""
    import_items(bank, write_rows(tmp_path / "en.csv", [row]))
    assert bank.get_item("EN-1").current.languages == ("en",)


# ---- frameworks ---------------------------------------------------------------------------------------------

def test_framework_toml_and_crosswalk(tmp_path, bank):
    fw = read_framework_file(tmp_path / "tst.toml")[0][0]
    assert [c.code for c in fw.competencies] == ["TST.I.1", "TST.I.2", "TST.II.1"]
    cw = tmp_path / "cw.toml"
    cw.write_text('[[crosswalk]]\nfrom = "TST.I.1"\nto = "TST.II.1"\nnote = "same idea"\n', encoding="utf-8")
    assert import_frameworks(bank, cw)["crosswalk_links"] == 1
    assert bank.crosswalk("TST.II.1")[0].note == "same idea"
    bad = tmp_path / "cw_bad.toml"
    bad.write_text('[[crosswalk]]\nfrom = "TST.I.1"\nto = "ZZ.1"\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown competency 'ZZ.1'"):
        import_frameworks(bank, bad)


def test_framework_csv(tmp_path, bank):
    path = tmp_path / "fw.csv"
    path.write_text(
        "framework_code,framework_name,version,area_code,area_title,competency_code,competency_title\n"
        "NEW,New framework,2024,NEW.A,Area A,NEW.A.1,First\n"
        "NEW,New framework,2024,NEW.A,Area A,NEW.A.2,Second\n"
        "NEW,New framework,2024,NEW.B,Área B,NEW.B.1,Tercera\n", encoding="utf-8")
    import_frameworks(bank, path)
    fw = bank.get_framework("NEW")
    assert (fw.name, fw.version, [a.code for a in fw.areas]) == ("New framework", "2024", ["NEW.A", "NEW.B"])
    assert fw.areas[1].title == "Área B" and len(fw.competencies) == 3


def test_bad_framework_files_change_nothing(tmp_path, bank_path):
    path = tmp_path / "fw.csv"
    path.write_text("framework_code,framework_name,version,area_code,area_title,competency_code,competency_title\n"
                    "NEW,New,1,NEW.A,Area,,Missing code\n"
                    "NEW,New,1,OTHER.A,Area,OTHER.A.1,Wrong prefix\n", encoding="utf-8")
    bad_toml = tmp_path / "fw.toml"
    bad_toml.write_text("[framework\ncode=", encoding="utf-8")
    before = digest(bank_path)
    r1 = CliRunner().invoke(main, ["--bank", str(bank_path), "frameworks", "import", str(path)])
    assert r1.exit_code == 2 and f"{path}, row 2, column 'competency_code': empty" in r1.output
    r2 = CliRunner().invoke(main, ["--bank", str(bank_path), "frameworks", "import", str(bad_toml)])
    assert r2.exit_code == 2 and "not valid TOML" in r2.output
    assert digest(bank_path) == before


def test_framework_prefix_and_removal_rules(tmp_path, bank):
    path = tmp_path / "fw.csv"
    path.write_text("framework_code,framework_name,version,area_code,area_title,competency_code,competency_title\n"
                    "NEW,New,1,OTHER.A,Area,OTHER.A.1,Wrong prefix\n", encoding="utf-8")
    with pytest.raises(InputError, match="does not start with the framework code NEW"):
        import_frameworks(bank, path)
    # TST.I.1 is used by items: a new version of the framework may not drop it.
    shrunk = tmp_path / "tst2.toml"
    shrunk.write_text('[framework]\ncode = "TST"\nname = "T"\nversion = "2"\n[[areas]]\ncode = "TST.II"\n'
                      'title = "Second"\n  [[areas.competencies]]\n  code = "TST.II.1"\n  title = "Third"\n',
                      encoding="utf-8")
    with pytest.raises(InputError, match="TST.I.1 is used by items"):
        import_frameworks(bank, shrunk)
    assert bank.get_framework("TST").version == "1"


def test_json_lists_are_accepted(tmp_path, bank):
    row = item_row("J-1")
    data = [{**row, "keywords": ["uno", "dos"], "secondary_competencies": ["TST.I.2"]}]
    path = tmp_path / "lists.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import_items(bank, path)
    v = bank.get_item("J-1").current
    assert v.keywords == ("uno", "dos") and v.secondary_competencies == ("TST.I.2",)


def test_import_via_library_leaves_open_bank_usable(tmp_path, bank_path):
    with Bank.open(bank_path) as bank:
        with pytest.raises(InputError):
            import_items(bank, write_rows(tmp_path / "b.csv", [item_row("X-1", key="Q")]))
        import_items(bank, write_rows(tmp_path / "g.csv", [item_row("X-1")]))
        assert "X-1" in bank.item_ids()


def test_translation_status_alone_is_not_a_language(tmp_path, bank):
    row = item_row("TS-1")
    for col in list(row):
        if col.endswith("_es"):
            row[col] = ""
    row["translation_status_es"] = "draft"
    import_items(bank, write_rows(tmp_path / "ts.csv", [row]))
    assert bank.get_item("TS-1").current.languages == ("en",)


# ---- review: content of an item in use is frozen (README, item bank: "Revising an item in use") -----------


def _advance(bank_path, item_id, to):
    path = ["review", "approved", "pretest", "operational", "retired"]
    with Bank.open(bank_path, user="tester") as bank:
        for status in path[: path.index(to) + 1]:
            bank.set_status(item_id, status, "review test")


@pytest.mark.parametrize("status", ["pretest", "operational", "retired"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_revising_an_item_in_use_is_refused(tmp_path, bank_path, status, suffix):
    _advance(bank_path, "T-0001", status)
    path = write_rows(tmp_path / f"rev{suffix}", [
        item_row("GOOD-1"), item_row("T-0001", status=status, stem_en="A reworded stem?")])
    before = digest(bank_path)
    result = _run_import(bank_path, path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert (f"{path}, row 3, column 'item_id': item T-0001 is {status}; its statistics belong to version 1"
            in result.output)
    todo = "import" if status == "retired" else "retire it and import"
    assert f"content cannot change: {todo} the revision under a new item id" in result.output
    assert digest(bank_path) == before


def test_library_refuses_revising_an_item_in_use(tmp_path, bank_path):
    from itembank.importing import parse_items
    from certbank_core.errors import TransitionError

    path = write_rows(tmp_path / "rev.csv", [item_row("T-0001", key="C")])
    with Bank.open(bank_path, user="tester") as bank:
        drafts = parse_items(path, bank)  # valid while T-0001 is a draft
    _advance(bank_path, "T-0001", "operational")
    with Bank.open(bank_path, user="tester") as bank:
        drafts = [d.__class__(version=d.version, status=ItemStatus.OPERATIONAL, enemies=d.enemies) for d in drafts]
        with pytest.raises(TransitionError, match="T-0001 is operational"):
            bank.save_items(drafts)
        assert bank.get_item("T-0001").version == 1


def test_unchanged_item_in_use_may_still_be_retired_and_draft_items_still_version(tmp_path, bank_path):
    _advance(bank_path, "T-0001", "operational")
    path = write_rows(tmp_path / "ok.csv", [item_row("T-0001", status="retired"),
                                              item_row("T-0002", key="A", stem_en="Reworded while a draft?")])
    result = _run_import(bank_path, path)
    assert result.exit_code == 0, result.output
    with Bank.open(bank_path) as bank:
        assert bank.get_item("T-0001").status == ItemStatus.RETIRED
        assert bank.get_item("T-0001").version == 1
        assert bank.get_item("T-0002").version == 2


def test_a_competency_used_as_secondary_cannot_be_removed_by_a_framework_update(tmp_path, bank_path):
    # Review: only primary competencies were checked, so a framework update silently dropped a code items
    # still named as secondary, and their own export could no longer be imported.
    from .conftest import FRAMEWORK_TOML

    assert _run_import(bank_path, write_rows(tmp_path / "sec.csv", [
        item_row("T-0003", secondary_competencies="TST.I.2")])).exit_code == 0
    cut = FRAMEWORK_TOML.replace('  [[areas.competencies]]\n  code = "TST.I.2"\n  title = "Second competency"\n', "")
    assert "TST.I.2" not in cut
    path = tmp_path / "cut.toml"
    path.write_text(cut, encoding="utf-8")
    before = digest(bank_path)
    result = CliRunner().invoke(main, ["--bank", str(bank_path), "frameworks", "import", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: competency TST.I.2 is used by items and cannot be removed" in result.output
    assert digest(bank_path) == before


def test_blank_status_keeps_an_existing_items_status(tmp_path, bank_path):
    # Review: a file without a status column (it is optional) or with a blank cell moved every existing
    # item to draft: review items were silently demoted, approved ones made the whole import fail.
    _advance(bank_path, "T-0001", "review")
    _advance(bank_path, "T-0002", "approved")
    rows = [item_row("T-0001", stem_es="¿Texto revisado?"), item_row("T-0002", key="A"), item_row("N-1")]
    columns = [c for c in rows[0] if c != "status"]
    result = _run_import(bank_path, write_rows(tmp_path / "nostatus.csv", rows, columns))
    assert result.exit_code == 0, result.output
    blank = write_rows(tmp_path / "blank.json", [item_row("T-0001", status="", stem_es="¿Otra vez?")])
    assert _run_import(bank_path, blank).exit_code == 0
    with Bank.open(bank_path) as bank:
        assert bank.get_item("T-0001").status == ItemStatus.REVIEW
        assert bank.get_item("T-0001").version == 3
        assert bank.get_item("T-0002").status == ItemStatus.APPROVED
        assert bank.get_item("N-1").status == ItemStatus.DRAFT  # a new item with no status is a draft


@pytest.mark.parametrize("text,message", [
    ('framework = "X"\n', "[framework] must be a table"),
    ('[framework]\ncode = "X"\nname = "n"\nversion = "1"\n[[areas]]\ncode = "X.I"\ntitle = "t"\n'
     'competencies = "no"\n', "area X.I: competencies must be [[areas.competencies]] tables"),
    ('areas = 3\n[framework]\ncode = "X"\nname = "n"\nversion = "1"\n', "areas must be [[areas]] tables"),
    ('crosswalk = ["MO.A.1"]\n', "crosswalk must be [[crosswalk]] tables"),
])
def test_framework_toml_of_the_wrong_shape_is_a_plain_error(tmp_path, bank_path, text, message):
    # Review: a table written as a plain value (framework = "X", competencies = "...") ended in an
    # AttributeError traceback.
    path = tmp_path / "shape.toml"
    path.write_text(text, encoding="utf-8")
    before = digest(bank_path)
    result = CliRunner().invoke(main, ["--bank", str(bank_path), "frameworks", "import", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and message in result.output
    assert digest(bank_path) == before


def test_csv_row_with_more_cells_than_the_header_is_reported(tmp_path, bank_path):
    # Review: an unquoted comma in the last column pushed text past the header and it was dropped silently.
    good = write_rows(tmp_path / "good.csv", [item_row("X-1"), item_row("X-2")])
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[2] += ",y, esto se perdía"
    bad = tmp_path / "extra.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = digest(bank_path)
    result = _run_import(bank_path, bad)
    assert result.exit_code == 2, result.output
    n = len(item_row())
    assert f"{bad}, row 3: the row has {n + 2} cells but the header has {n} (quote text that holds commas)" \
        in result.output
    assert digest(bank_path) == before
