"""Board packets: `certbank report pdf` prints a workbook through LibreOffice, says plainly how to install it
when it is missing, and the standard-setting and form workbooks of the demo print legibly (no "###", no sheet
below the minimum scale, the impact shown as percentages and as a chart)."""
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import main
from reports import workbook as wbk
from reports.standard_report import StandardReport, build_standard_workbook
from workflows.bundles import impact_frames

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
NEEDS_OFFICE = pytest.mark.skipif(SOFFICE is None or shutil.which("pdftotext") is None,
                                  reason="LibreOffice (soffice) or pdftotext (poppler-utils) is not installed")

IMPACT = pd.DataFrame({"group": ["all", "en", "es", "all", "en", "es"], "shift_se": [0, 0, 0, 1, 1, 1],
                       "cut": [76.0, 76.0, 76.0, 77.4, 77.4, 77.4], "raw_cut": [76, 76, 76, 78, 78, 78],
                       "n": [3000, 2006, 994] * 2, "n_pass": [1902, 1284, 618, 1800, 1212, 588],
                       "pass_rate": [63.4, 64.0, 62.17, 60.0, 60.42, 59.15]})  # percent, as setting.impact gives


@pytest.fixture
def workbook(tmp_path):
    table, curve = impact_frames(IMPACT)
    rep = StandardReport(title="Standard", raters=pd.DataFrame(), cut={"Recommended raw cut": 75.8},
                         impact=table, impact_curve=curve, cut_raw=75.8)
    return build_standard_workbook(rep, tmp_path / "std.xlsx")


def test_impact_is_a_proportion_shown_as_a_percentage_with_a_chart(workbook):
    wb = load_workbook(workbook)
    imp = wb["Impact"]
    head = next(r for r in range(1, 10) if imp.cell(row=r, column=1).value == "Candidates")
    cols = [c.value for c in imp[head]]
    rate = imp.cell(row=head + 1, column=cols.index("Pass rate") + 1)
    assert rate.value == pytest.approx(0.634) and rate.number_format == "0.0%"
    would_pass = imp.cell(row=head + 1, column=cols.index("Would pass") + 1)
    assert would_pass.value == 1902 and "%" not in would_pass.number_format  # the count is not a percentage
    assert imp.cell(row=head + 1, column=1).value == "All candidates"
    assert [imp.cell(row=head + k, column=1).value for k in (2, 3)] == ["English", "Spanish"]
    chart = wb["Impact chart"]
    assert len(chart._charts) == 1 and len(chart._charts[0].series) == 3  # all, English, Spanish
    assert wbk.printed_scale(chart) >= 99


def test_report_pdf_without_libreoffice_is_one_sentence_and_writes_nothing(workbook, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = CliRunner().invoke(main, ["report", "pdf", str(workbook)])
    assert result.exit_code == 2
    assert "LibreOffice is needed" in result.output and "apt-get install libreoffice-calc" in result.output
    assert result.output.count(". ") == 0 and "Traceback" not in result.output
    assert not workbook.with_suffix(".pdf").exists()


def test_report_pdf_refuses_a_missing_workbook_and_an_existing_pdf(workbook, tmp_path):
    result = CliRunner().invoke(main, ["report", "pdf", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2 and "no such workbook" in result.output
    old = tmp_path / "old.pdf"
    old.write_bytes(b"old")
    result = CliRunner().invoke(main, ["report", "pdf", str(workbook), "--out", str(old)])
    assert result.exit_code == 2 and "already exists" in result.output and old.read_bytes() == b"old"


@NEEDS_OFFICE
def test_report_pdf_prints_the_workbook(workbook, tmp_path):
    out = tmp_path / "packet.pdf"
    result = CliRunner().invoke(main, ["report", "pdf", str(workbook), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "63.4%" in text and "6340" not in text and "###" not in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.fixture(scope="module")
def demo(demo_result):
    return demo_result


@pytest.mark.parametrize("name", ["standard-setting.xlsx", "form-DEMO-A.xlsx"])
def test_demo_workbooks_print_at_a_legible_scale(demo, name):
    wb = load_workbook(demo.outdir / name)
    for ws in wb:
        assert wbk.printed_scale(ws) >= wbk.MIN_PRINT_SCALE - 0.5, ws.title
        assert int(ws.page_setup.paperSize) == 1, ws.title  # every sheet went through print_fit


@NEEDS_OFFICE
@pytest.mark.parametrize("name", ["standard-setting.xlsx", "form-DEMO-A.xlsx"])
def test_demo_workbooks_render_without_hashes(demo, name, tmp_path):
    out = tmp_path / name.replace(".xlsx", ".pdf")
    result = CliRunner().invoke(main, ["report", "pdf", str(demo.outdir / name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "###" not in text and "FormStatus" not in text and "lists  more" not in text
    if name.startswith("standard"):
        assert "Pass rate by raw cut" in text
        percents = [float(t[:-1]) for t in text.split() if t.endswith("%") and t[:-1].replace(".", "").isdigit()]
        assert percents and max(percents) <= 100  # no "6540.0%"
