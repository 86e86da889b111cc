"""`score --reports DIR` on the demo bank: one PDF per candidate in the candidate's language, agreeing with
`score`'s CSV; bad input is one sentence, exit 2, and no folder of reports."""
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

N = 120


@pytest.fixture(scope="module")
def demo(demo_result):
    out = demo_result.outdir
    rows = pd.read_csv(out / "responses-form-A.csv", dtype=str, keep_default_na=False).iloc[:N]
    rows.insert(3, "name", ["María José Peña Núñez"] + [""] * (N - 1))
    rows.to_csv(out / "some.csv", index=False)
    return out


def _score(demo, *args, reports="letters", responses="some.csv"):
    return CliRunner().invoke(main, ["--bank", str(demo / "certbank.db"), "score", str(demo / responses),
                                     "--form", "DEMO-A", "--standard", "peer-support", "--administration",
                                     "DEMO-Y1", "--reports", str(demo / reports), *args])


@pytest.fixture(scope="module")
def written(demo):
    result = _score(demo, "--out", str(demo / "scores.csv"))
    assert result.exit_code == 0, result.output
    assert "Wrote 120 candidate reports" in result.output
    return demo / "letters"


def test_one_pdf_per_candidate_and_a_merged_one(written):
    listing = pd.read_csv(written / "reports-written.csv")
    assert len(listing) == N
    assert all((written / f).read_bytes().startswith(b"%PDF") for f in listing["file"])
    assert (written / "all-letters.pdf").stat().st_size > 0
    summary = pd.read_csv(written / "program-summary.csv")
    assert summary["candidates"].sum() == N
    assert set(summary["language"]) == {"en", "es"}


def test_results_and_bands_agree_with_the_score_csv(demo, written):
    scores = pd.read_csv(demo / "scores.csv")
    listing = pd.read_csv(written / "reports-written.csv")
    assert list(listing["candidate_id"]) == list(scores["candidate_id"])
    assert list(listing["result"]) == list(scores["result"])
    bands = [c for c in scores.columns if c.startswith("band_")]
    assert len(bands) == 12
    pd.testing.assert_frame_equal(listing[bands], scores[bands])


def _text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text cannot be extracted")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_spanish_report_is_in_spanish_and_shows_no_item(demo, written):
    listing = pd.read_csv(written / "reports-written.csv")
    first = listing[(listing["language"] == "es") & (listing["result"] == "fail")].iloc[0]
    text = _text(written / first["file"])
    for words in ("Informe de resultados", "NO APROBADO", "¿Qué debe estudiar?", "¿Puede volver a presentar",
                  "Brinda apoyo", "veces en un período de 12 meses", "nivel para aprobar"):
        assert words in " ".join(text.split()), words
    assert "Score Report" not in text and "PSS-" not in text
    options = []
    for path in Path("itembank/sample/items").glob("*.json"):
        for item in json.loads(path.read_text(encoding="utf-8")):
            options += [v for k, v in item.items() if k.startswith(("option_", "stem_")) and len(str(v)) > 20]
    flat = " ".join(text.split())
    assert not [o for o in options if " ".join(str(o).split())[:40] in flat]


def test_the_candidate_name_is_shown_with_its_accents(written):
    listing = pd.read_csv(written / "reports-written.csv")
    assert "María José Peña Núñez" in _text(written / listing["file"].iloc[0])


def _refused(result, demo, reports="bad"):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (demo / reports).exists()
    assert not list(demo.glob(f".{reports}.*"))
    return result.output


def test_a_language_without_a_catalogue_is_refused(demo):
    rows = pd.read_csv(demo / "some.csv", dtype=str, keep_default_na=False)
    rows.loc[4, "language"] = "fr"
    rows.to_csv(demo / "fr.csv", index=False)
    out = _refused(_score(demo, reports="bad", responses="fr.csv"), demo)
    assert "language 'fr' has no message catalogue" in out and "row 6" in out


def test_a_missing_settings_file_is_refused(demo):
    out = _refused(_score(demo, "--settings", str(demo / "nowhere.toml"), reports="bad"), demo)
    assert "program settings file does not exist" in out and "nowhere.toml" in out


def test_a_candidate_without_a_score_is_refused(demo):
    rows = pd.read_csv(demo / "some.csv", dtype=str, keep_default_na=False)
    items = [c for c in rows.columns if c.startswith("PSS-")]
    rows.loc[2, items] = ""
    rows.to_csv(demo / "blank.csv", index=False)
    out = _refused(_score(demo, reports="bad", responses="blank.csv"), demo)
    assert "answered no scored item" in out and rows.loc[2, "candidate_id"] in out


def test_a_failure_leaves_an_earlier_folder_as_it_was(demo, written):
    before = sorted(p.name for p in written.iterdir())
    result = _score(demo, "--settings", str(demo / "nowhere.toml"))
    assert result.exit_code == 2
    assert sorted(p.name for p in written.iterdir()) == before


def _pages_text(pdf: Path) -> list[str]:
    """The text of each page (pdftotext ends every page with a form feed)."""
    return _text(pdf).split("\f")[:-1]


def test_the_merged_pdf_is_each_candidates_letter_in_order_with_the_same_text(written):
    listing = pd.read_csv(written / "reports-written.csv")
    merged = _pages_text(written / "all-letters.pdf")
    at = 0
    for candidate, name in zip(listing["candidate_id"], listing["file"]):
        own = _pages_text(written / name)
        assert own and candidate in own[0]
        assert merged[at:at + len(own)] == own, candidate
        at += len(own)
    assert at == len(merged)
    assert len(merged) > N  # some letters run to a second page, and each is still one sequence


def test_two_processes_write_the_same_files_as_one(demo, written, monkeypatch):
    from workflows import candidate_reports
    monkeypatch.setattr(candidate_reports, "PARALLEL_FROM", 40)
    if candidate_reports._workers(N) < 2:
        pytest.skip("this machine offers one core: the letters are never split between processes")
    result = _score(demo, reports="letters-2p")
    assert result.exit_code == 0, result.output
    both = demo / "letters-2p"
    assert sorted(p.name for p in both.iterdir()) == sorted(p.name for p in written.iterdir())
    for path in written.iterdir():
        assert (both / path.name).read_bytes() == path.read_bytes(), path.name
    assert not list(demo.glob(".letters-2p.*"))


def test_a_letter_is_drawn_once(demo, monkeypatch):
    from reports import candidate_letters
    drawn = []
    original = candidate_letters._draw
    monkeypatch.setattr(candidate_letters, "_draw", lambda pdf, letter, m: (drawn.append(letter.candidate_id),
                                                                            original(pdf, letter, m)))
    result = _score(demo, reports="letters-once")
    assert result.exit_code == 0, result.output
    listing = pd.read_csv(demo / "letters-once" / "reports-written.csv")
    assert drawn == list(listing["candidate_id"])


def test_the_sample_settings_give_every_area_of_both_shipped_frameworks_a_spanish_title():
    # a program on the Missouri competencies gets Spanish letters too (its areas had English titles only)
    import tomllib

    from workflows.candidate_reports import read_program_settings, translated_titles
    settings = read_program_settings()
    spanish = translated_titles(settings, "es")
    for path in settings.title_files:
        areas = tomllib.loads(path.read_text(encoding="utf-8"))["areas"]
        assert areas and all(spanish.get(a["code"]) and spanish[a["code"]] != a["title"] for a in areas), path.name
    assert {"MO.A", "MO.D", "SAMHSA.I", "SAMHSA.XII"} <= set(spanish)
