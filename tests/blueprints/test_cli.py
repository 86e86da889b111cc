"""The blueprint / assemble / forms commands against a bank holding the bundled sample program."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

DEFAULT = Path(__file__).resolve().parents[2] / "blueprints" / "default" / "peer_support.toml"


@pytest.fixture(scope="module")
def sample_bank(tmp_path_factory):
    path = tmp_path_factory.mktemp("bank") / "bank.db"
    result = CliRunner().invoke(main, ["--bank", str(path), "init", "--sample"])
    assert result.exit_code == 0, result.output
    return path


def run(bank, *args):
    return CliRunner().invoke(main, ["--bank", str(bank), "--user", "tester", *args])


def test_check_assemble_list_show_export_publish(sample_bank, tmp_path):
    check = run(sample_bank, "blueprint", "check", "default", "--forms", "2")
    assert check.exit_code == 0, check.output
    assert "Feasible: 2 form(s)" in check.output

    made = run(sample_bank, "assemble", "default", "--forms", "2", "--seed", "4", "--name", "PSS 2026")
    assert made.exit_code == 0, made.output
    assert "Saved as draft: PSS-2026-A, PSS-2026-B" in made.output

    listed = json.loads(run(sample_bank, "forms", "list", "--format", "json").output)
    mine = {row["form_id"]: row for row in listed}
    assert mine["PSS-2026-A"]["n_items"] == 130 and mine["PSS-2026-A"]["status"] == "draft"

    shown = run(sample_bank, "forms", "show", "PSS-2026-A")
    assert shown.exit_code == 0 and "130 items (10 pretest)" in shown.output

    table = run(sample_bank, "forms", "list").output   # drafts have no published_at: a blank, never NaN/None
    assert "PSS-2026-A" in table and "NaN" not in table and "None" not in table
    assert mine["PSS-2026-A"]["published_at"] is None

    out = tmp_path / "a.json"
    exported = run(sample_bank, "forms", "export", "PSS-2026-A", "--format", "json", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    payload = json.loads(out.read_text())
    assert len(payload["items"]) == 130 and len(payload["key"]) == 130
    areas = [row["area"] for row in payload["items"] if not row["is_pretest"]]
    assert areas.count("SAMHSA.VIII") == 10 and areas[0] == "SAMHSA.I"  # grouped by area, blueprint order
    assert sum(row["is_pretest"] for row in payload["items"]) == 10  # the blueprint's pretest slots

    book = tmp_path / "a.xlsx"
    assert run(sample_bank, "forms", "export", "PSS-2026-A", "--format", "xlsx", "--out", str(book)).exit_code == 0
    from openpyxl import load_workbook

    wb = load_workbook(book)
    assert wb["Booklet es"].max_row > 120  # every position has its Spanish text
    conformance = [[c.value for c in row] for row in wb["Conformance"].iter_rows(min_row=4)]
    assert len(conformance) > 12 and all(r[5] for r in conformance)  # every rule met, recorded at assembly
    assert any(r[0] == "area:SAMHSA.VIII" and r[4] == 10 for r in conformance)
    again = run(sample_bank, "forms", "export", "PSS-2026-A", "--format", "xlsx", "--out", str(book))
    assert again.exit_code == 2 and "--force" in again.output

    early = run(sample_bank, "forms", "publish", "PSS-2026-A")
    assert early.exit_code == 2 and "cannot move from draft to published" in early.output
    assert run(sample_bank, "forms", "approve", "PSS-2026-A").exit_code == 0
    assert run(sample_bank, "forms", "publish", "PSS-2026-A").exit_code == 0

    # Resting the items of the latest published form: the next form shares none of them.
    rest = tmp_path / "rest.toml"
    # (Resting them rests the anchor too, so the anchor with the latest form is off; test_years has it on.)
    rest.write_text(Path(DEFAULT).read_text().replace("exclude_last_forms = 0", "exclude_last_forms = 1")
                    .replace('reference = "latest"', 'reference = ""'))
    again = run(sample_bank, "assemble", str(rest), "--name", "PSS 2027")
    assert again.exit_code == 0, again.output
    first = {row["item_id"] for row in payload["items"]}
    second = json.loads(run(sample_bank, "forms", "export", "PSS-2027-A", "--format", "json").output)
    assert not first & {row["item_id"] for row in second["items"]}


def test_infeasible_blueprint_exits_2_with_the_reason_and_saves_nothing(sample_bank, tmp_path):
    bp = tmp_path / "greedy.toml"
    bp.write_text('[exam]\nname = "Greedy"\nlength = 120\nlanguages = ["en", "es"]\nframework = "SAMHSA"\n'
                  '[[content.areas]]\ncode = "SAMHSA.VIII"\nlabel = "Category VIII"\ncount = 30\n')
    before = run(sample_bank, "forms", "list", "--format", "json").output
    result = run(sample_bank, "assemble", str(bp))
    assert result.exit_code == 2
    assert "Category VIII needs 30 operational items with reviewed Spanish text; the bank has 26" in result.output
    assert "Traceback" not in result.output
    assert run(sample_bank, "forms", "list", "--format", "json").output == before
    check = run(sample_bank, "blueprint", "check", str(bp))
    assert check.exit_code == 2 and "SHORT Category VIII: needs 30, eligible 26" in check.output


def test_invalid_blueprint_file_lists_every_problem(sample_bank, tmp_path):
    bp = tmp_path / "bad.toml"
    bp.write_text('[exam]\nlength = 0\n[rules]\norder = "sideways"\n')
    result = run(sample_bank, "blueprint", "check", str(bp))
    assert result.exit_code == 2
    for text in ("exam.name: is required", "exam.length: must be at least 1", "rules.order: must be one of"):
        assert text in result.output


def test_area_codes_not_in_the_banks_framework_are_reported(sample_bank, tmp_path):
    bp = tmp_path / "typo.toml"
    bp.write_text('[exam]\nname = "Typo"\nlength = 20\nlanguages = ["en", "es"]\nframework = "SAMHSA"\n'
                  '[[content.areas]]\ncode = "SAMHSA.XIII"\ncount = 5\n')
    result = run(sample_bank, "blueprint", "check", str(bp))
    assert result.exit_code == 2
    assert "rule 'area:SAMHSA.XIII': the bank's frameworks have no area 'SAMHSA.XIII'" in result.output


def test_unknown_form_is_a_plain_error(sample_bank):
    result = run(sample_bank, "forms", "show", "NOPE")
    assert result.exit_code == 2 and "no form 'NOPE'" in result.output


def test_forms_that_fail_the_independent_check_are_not_saved(sample_bank, monkeypatch, tmp_path):
    import blueprints.assemble as assembly
    from blueprints.verify import RuleCheck, Verification

    def distrustful(*args, **kwargs):  # stands in for a solver answer that breaks a rule
        return Verification((RuleCheck("enemies", "enemies", "X A", 1, None, 0, False,
                                       message="X A holds enemies PSS-0001 and PSS-0002."),))

    monkeypatch.setattr(assembly, "verify_forms", distrustful)
    before = run(sample_bank, "forms", "list", "--format", "json").output
    # The bank's published form has no statistics yet, so the anchor with it is off here (see test_years).
    bp = tmp_path / "no_anchor.toml"
    bp.write_text(Path(DEFAULT).read_text().replace('reference = "latest"', 'reference = ""'))
    result = run(sample_bank, "assemble", str(bp), "--name", "X")
    assert result.exit_code == 2
    assert "failed the independent check; nothing was saved" in result.output
    assert "X A holds enemies PSS-0001 and PSS-0002." in result.output
    assert run(sample_bank, "forms", "list", "--format", "json").output == before
