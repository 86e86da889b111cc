"""The board's action list on a simulated administration nobody tuned the rules to (another seed than the
demo's): the planted miskey, Spanish DIF and too-easy item lead it, the dead distractor is on it, a clean item
is not, each item once; and the terminal, actions.csv, items.csv, flags.csv and every sheet count the same
items with the same split by severity. The workbook is then printed through LibreOffice when it is installed."""
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import main
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from reports import workbook as wbk
from workflows.assembly import assemble_into_bank
from workflows.demo_simulation import bank_scale_truth, simulate_administration

SEED = 777  # not the demo's seed; nothing below was tuned to it
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("action-list")
    db = out / "bank.db"
    loaded = create_sample_bank(db, user="t")
    rng = np.random.default_rng(SEED)
    with Bank.open(db, user="t") as bank:
        truth = bank_scale_truth(bank, rng)
        form_id = assemble_into_bank(bank, loaded["blueprint"], n_forms=1, seed=SEED, time_limit=20,
                                     name="T").form_ids[0]
        admin = simulate_administration(bank, form_id, truth, rng)
    responses = out / "responses.csv"
    admin.responses.to_csv(responses, index=False)
    result = CliRunner().invoke(main, ["--bank", str(db), "analyze", str(responses), "--form", form_id,
                                       "--group", "language", "--out", str(out / "analysis"),
                                       "--report", str(out / "ia.xlsx"), "--irt", "3pl"])
    assert result.exit_code == 0, result.output
    return {"out": out, "message": result.output, "planted": {k: i for i, k, _ in admin.planted},
            "wb": load_workbook(out / "ia.xlsx")}


def _rows(ws):
    header = next(r for r in range(1, 10) if ws.cell(row=r, column=1).value in ("Item", "Rank"))
    names = [c.value for c in ws[header]]
    return [dict(zip(names, (c.value for c in row))) for row in ws.iter_rows(min_row=header + 1)]


def test_planted_problems_lead_the_action_list(run):
    actions = _rows(run["wb"]["Action list"])
    ids = [r["Item"] for r in actions]
    assert len(ids) == len(set(ids))  # each item once
    p = run["planted"]
    first = ids[:5]
    assert ids[0] == p["miskey"] and actions[0]["Action"] == "check key" and actions[0]["Severity"] == "critical"
    assert p["too easy"] in first and p["Spanish DIF"] in first
    assert p["non-functioning distractor"] in ids[:8]
    dif = next(r for r in actions if r["Item"] == p["Spanish DIF"])
    assert dif["The problem"].startswith("Spanish takers only")
    easy = next(r for r in actions if r["Item"] == p["too easy"])
    assert easy["Severity"] == "severe"
    # the miskey's "hard" and IRT flags do not give a second action: the key check says why it wins
    assert "key check decides" in actions[0]["Why this action"]
    items = pd.read_csv(run["out"] / "analysis" / "items.csv")
    clean = items[(items["group"] == "all") & items["p_value"].between(0.4, 0.8) & (items["point_biserial"] > 0.35)]
    clean = set(clean["item_id"]) - set(p.values())  # good statistics and nothing planted
    assert len(clean) > 20 and not clean & set(ids)
    assert ids[0] in run["message"] and "Act before scoring" in run["message"]


def test_counts_agree_across_terminal_csvs_and_sheets(run):
    actions = pd.read_csv(run["out"] / "analysis" / "actions.csv")
    n = len(actions)
    split = {s: int((actions["severity"] == s).sum()) for s in ("critical", "severe", "review")}
    said = re.search(r"(\d+) items need a decision \((\d+) critical, (\d+) severe, (\d+) review\)", run["message"])
    assert said and [int(g) for g in said.groups()] == [n, split["critical"], split["severe"], split["review"]]
    items = pd.read_csv(run["out"] / "analysis" / "items.csv", keep_default_na=False)
    overall = items[items["group"] == "all"]
    assert (overall["worst_severity"] != "").sum() == n
    assert {s: int((overall["worst_severity"] == s).sum()) for s in split} == split
    assert pd.read_csv(run["out"] / "analysis" / "flags.csv")["item_id"].nunique() == n
    wb = run["wb"]
    assert len(_rows(wb["Action list"])) == n
    assert len({r["Item"] for r in _rows(wb["Flags"])}) == n
    sheet_items = _rows(wb["Items"])
    assert sum(1 for r in sheet_items if r["Worst flag"]) == n
    summary = {wb["Summary"].cell(row=r, column=1).value: wb["Summary"].cell(row=r, column=2).value
               for r in range(1, wb["Summary"].max_row + 1)}
    assert summary["Items needing a decision (Action list)"] == n
    assert [summary[f"  of which {s}"] for s in split] == list(split.values())
    text = " ".join(str(v) for v in summary)
    assert f"In all {n} items need a decision: {split['critical']} critical, {split['severe']} severe" in text


def test_number_formats_words_and_print_scale(run):
    wb = run["wb"]
    for ws in wb.worksheets:  # no sheet prints below the minimum scale, on Letter or A4
        assert wbk.printed_scale(ws) >= wbk.MIN_PRINT_SCALE - 0.5, ws.title
        assert ws.print_title_rows or ws.title in ("Summary", "Charts") or ws.max_row <= 5, ws.title
    items = wb["Items"]
    head = next(r for r in range(1, 10) if items.cell(row=r, column=1).value == "Item")
    cols = {c.value: c.column for c in items[head]}
    for r in range(head + 1, items.max_row + 1):
        assert items.cell(row=r, column=cols["P"]).number_format == "0.00"
        assert items.cell(row=r, column=cols["N"]).number_format == "0"
        assert items.cell(row=r, column=cols["Omit rate"]).number_format == "0.0%"
        assert items.cell(row=r, column=cols["Pretest"]).value in ("yes", "no")
    dif = wb["DIF"]
    head = next(r for r in range(1, 10) if dif.cell(row=r, column=1).value == "Item")
    cols = {c.value: c.column for c in dif[head]}
    assert "MH p (adjusted)" in cols and "In matching score" in cols and "mh_p_adjusted" not in cols
    assert dif.cell(row=head + 1, column=cols["MH p"]).number_format == wbk.FORMATS["pvalue"]
    summary = {wb["Summary"].cell(row=r, column=1).value: wb["Summary"].cell(row=r, column=2).value
               for r in range(1, wb["Summary"].max_row + 1)}
    assert summary["IRT calibration converged"] in ("yes", "no")
    readme = {wb["Read me"].cell(row=r, column=1).value for r in range(1, wb["Read me"].max_row + 1)}
    codes = {c for r in _rows(wb["Flags"]) for c in [r["Flag code"]]}
    for code in codes:
        assert any(code in str(t) for t in readme), code


@pytest.mark.skipif(SOFFICE is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice (libreoffice-calc) and pdftoppm (poppler-utils) are not installed")
def test_printed_through_libreoffice(run, tmp_path):
    xlsx = run["out"] / "ia.xlsx"
    proc = subprocess.run([SOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                          capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "ia.pdf"
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "###" not in text and "Action list" in text and run["planted"]["miskey"] in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    assert len(list(tmp_path.glob("page-*.png"))) == 3
