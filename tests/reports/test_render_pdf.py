"""Render a workbook to PDF with LibreOffice headless, as a board member's printout would look.
Skips when LibreOffice is not installed (Debian package libreoffice-calc)."""
import shutil
import subprocess

import pandas as pd
import pytest

from reports.item_analysis import ItemAnalysisReport, build_item_analysis_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_and_renders_the_workbook(tmp_path):
    items = pd.DataFrame({"item_id": [f"PSS-{i:04d}" for i in range(1, 41)], "p_value": [0.5] * 40})
    rep = ItemAnalysisReport(title="Render check", summary={"n": 10, "mean": 5.0, "sd": 1.0}, items=items)
    xlsx = build_item_analysis_workbook(rep, tmp_path / "render.xlsx")
    proc = subprocess.run([SOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                          capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "render.pdf"
    assert proc.returncode == 0, proc.stderr
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 2000
