"""The candidate booklet (issue 18): one language, form order, no answer key anywhere, printable; refused in one
sentence when the form's items cannot be printed in that language."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import main
from itembank.importing import import_frameworks, import_items
from itembank.model import Form, FormItem
from itembank.store import Bank
from reports.workbook import MIN_PRINT_SCALE, printed_scale
from tests.itembank.conftest import FRAMEWORK_TOML, digest, item_row, write_rows
from workflows.assembly import form_export

LETTERS = set("ABCDEF")


def run(bank, *args):
    return CliRunner().invoke(main, ["--bank", str(bank), "--user", "tester", *map(str, args)])


@pytest.fixture(scope="module")
def sample_form(tmp_path_factory):
    """The sample bank with one assembled form of 120 scored and 10 pretest items."""
    path = tmp_path_factory.mktemp("booklet") / "bank.db"
    assert run(path, "init", "--sample").exit_code == 0
    made = run(path, "assemble", "default", "--forms", "1", "--seed", "7", "--name", "PSS 2026")
    assert made.exit_code == 0, made.output
    return path, "PSS-2026-A"


def cells(ws):
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_booklet_has_the_questions_in_form_order_and_no_key_anywhere(sample_form, tmp_path, lang):
    bank, form_id = sample_form
    out = tmp_path / f"{form_id}-{lang}.xlsx"
    result = run(bank, "forms", "export", form_id, "--format", "booklet", "--lang", lang, "--out", out)
    assert result.exit_code == 0, result.output
    assert "without the answer key" in result.output

    with Bank.open(bank) as b:
        exp = form_export(b, form_id, languages=("en", "es"))
    texts = exp.texts.set_index("item_id")
    order = exp.map.sort_values("position")
    wb = load_workbook(out)
    assert len(wb.sheetnames) == 1
    assert not any(re.search(r"key|clave|secure|segur|answer", name, re.I) for name in wb.sheetnames)
    ws = wb.active
    values = cells(ws)

    # No key: no cell holds a lone option letter (the key beside an item), no heading names a key, the
    # options of every question look alike, no item id, rationale or statistic is printed.
    assert not [c.coordinate for c in values if str(c.value).strip().upper() in LETTERS]
    assert not [c.value for c in values if re.fullmatch(r"(answer )?key|clave|respuesta correcta|correct",
                                                       str(c.value).strip(), re.I)]
    text = "\n".join(str(c.value) for c in values)
    assert not any(item in text for item in exp.map["item_id"])
    rationales = [r for r in texts[f"rationale_{lang}"] if isinstance(r, str) and len(r) > 20]
    assert rationales and not any(r in text for r in rationales)
    numbers = [c.value for c in values if isinstance(c.value, (int, float))]
    assert numbers == list(range(1, len(order) + 1))  # position numbers only: no P, r, a, b, c
    assert "form_id=" in wb.properties.description and "key" not in wb.properties.description.lower()

    # The questions, in form order, in the booklet's language; every option of a question in one style.
    stems = [ws.cell(row=c.row, column=2).value for c in values if c.column == 1 and isinstance(c.value, int)]
    assert stems == [texts.loc[i, f"stem_{lang}"] for i in order["item_id"]]
    first = next(c.row for c in values if c.column == 1 and c.value == 1)
    options = [ws.cell(row=first + k, column=2) for k in range(1, 5)]
    assert [o.value[:3] for o in options] == ["A. ", "B. ", "C. ", "D. "]
    assert len({(o.font.b, o.font.i, o.font.color and o.font.color.rgb, o.fill.fgColor.rgb) for o in options}) == 1
    other = {"en": "es", "es": "en"}[lang]
    assert not any(texts.loc[i, f"stem_{other}"] in text for i in order["item_id"])
    if lang == "es":
        assert "Cuadernillo del candidato" in text and "Certificación de Especialista" in text
        assert text.count("¿") > 50 and "Each question" not in text
    else:
        assert "Candidate booklet" in text and "Peer Support Specialist Certification" in text

    # Pretest items look like the others: same cells, same styles, nothing beside them.
    pretest = set(order.loc[order["is_pretest"], "position"])
    assert len(pretest) == 10
    style = {}
    for c in values:
        if c.column == 1 and isinstance(c.value, int):
            stem = ws.cell(row=c.row, column=2)
            style[c.value] = (stem.font.b, stem.font.sz, stem.fill.fgColor.rgb, c.font.b,
                              ws.cell(row=c.row, column=3).value)
    assert {style[p] for p in pretest} == {style[p] for p in style if p not in pretest}

    # Printable: portrait at full size on Letter and A4, the program on every page.
    assert ws.page_setup.orientation == "portrait"
    assert printed_scale(ws) >= 99 > MIN_PRINT_SCALE
    assert ws.oddHeader.left.text and ws.oddFooter.center.text


def test_the_form_workbook_keeps_its_secure_key(sample_form, tmp_path):
    bank, form_id = sample_form
    out = tmp_path / "form.xlsx"
    assert run(bank, "forms", "export", form_id, "--format", "xlsx", "--out", out).exit_code == 0
    assert "ANSWER KEY - SECURE" in load_workbook(out, read_only=True).sheetnames


# ---- refusals ------------------------------------------------------------------------------------------------

@pytest.fixture
def small_bank(tmp_path):
    """Form F-1: T-0001 (reviewed Spanish, a stem that looks like a formula), T-0002 (Spanish only translated),
    and form F-2 adding T-0003 with no Spanish text."""
    path = tmp_path / "bank.db"
    (tmp_path / "fw.toml").write_text(FRAMEWORK_TOML, encoding="utf-8")
    no_es = {c: "" for c in item_row() if c.endswith("_es")}
    rows = [item_row("T-0001", stem_en="=1+1 is shown as text?", translation_status_es="reviewed"),
            item_row("T-0002", key="A", translation_status_es="reviewed"), item_row("T-0003", **no_es),
            item_row("T-0004", key="C")]
    with Bank.create(path, user="tester") as bank:
        import_frameworks(bank, tmp_path / "fw.toml")
        import_items(bank, write_rows(tmp_path / "seed.json", rows))
        bank.save_form(Form("F-1", "Form one", (FormItem(1, "T-0002", 1), FormItem(2, "T-0001", 1, True)), "bp", "h"))
        bank.save_form(Form("F-2", "Form two", (FormItem(1, "T-0001", 1), FormItem(2, "T-0003", 1)), "bp", "h"))
        bank.save_form(Form("F-3", "Form three", (FormItem(1, "T-0001", 1), FormItem(2, "T-0004", 1)), "bp", "h"))
    return path


def refused(bank, out, *args):
    before = digest(bank)
    result = run(bank, "forms", "export", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert digest(bank) == before and not out.exists()
    assert not list(out.parent.glob("*.tmp*"))
    return result.output


def test_small_booklet_text_cells_and_order(small_bank, tmp_path):
    out = tmp_path / "F-1-en.xlsx"
    assert run(small_bank, "forms", "export", "F-1", "--format", "booklet", "--out", out).exit_code == 0
    ws = load_workbook(out).active
    stems = [ws.cell(row=c.row, column=2) for c in cells(ws) if c.column == 1 and isinstance(c.value, int)]
    assert stems[0].value.endswith("(T-0002)") and stems[1].value == "=1+1 is shown as text?"  # form order
    assert stems[1].data_type == "s" and stems[1].quotePrefix
    es = tmp_path / "F-1-es.xlsx"
    assert run(small_bank, "forms", "export", "F-1", "--format", "booklet", "--lang", "es", "--out", es).exit_code == 0
    assert "Algunas preguntas se están probando" in "\n".join(str(c.value) for c in cells(load_workbook(es).active))


def test_unknown_language_for_the_forms_items(small_bank, tmp_path):
    out = tmp_path / "F-1-fr.xlsx"
    msg = refused(small_bank, out, "F-1", "--format", "booklet", "--lang", "fr", "--out", out)
    assert "Form F-1 has no items in 'fr': its items are written in en, es" in msg


def test_missing_translation_names_the_item_and_position(small_bank, tmp_path):
    out = tmp_path / "F-2-es.xlsx"
    msg = refused(small_bank, out, "F-2", "--format", "booklet", "--lang", "es", "--out", out)
    assert "Form F-2 cannot be printed in Spanish: 1 of its 2 items have no Spanish text (T-0003 at position 2)" in msg


def test_unreviewed_translation_is_refused(small_bank, tmp_path):
    out = tmp_path / "F-3-es.xlsx"
    msg = refused(small_bank, out, "F-3", "--format", "booklet", "--lang", "es", "--out", out)
    assert "the Spanish text of 1 of its 2 items is not reviewed (T-0004 at position 2 (translated))" in msg


def test_booklet_needs_out_and_force_and_a_known_form(small_bank, tmp_path):
    out = tmp_path / "b.xlsx"
    assert "A booklet export needs --out FILE.xlsx." in refused(small_bank, out, "F-1", "--format", "booklet")
    msg = refused(small_bank, out, "F-9", "--format", "booklet", "--out", out)
    assert "F-9" in msg
    out.write_bytes(b"old")
    result = run(small_bank, "forms", "export", "F-1", "--format", "booklet", "--out", out)
    assert result.exit_code == 2 and "--force" in result.output and out.read_bytes() == b"old"
    missing = tmp_path / "nodir" / "b.xlsx"
    refused(small_bank, missing, "F-1", "--format", "booklet", "--out", missing)
