"""Benchmark: 10,000 candidate score reports (``certbank score … --reports DIR``).

Builds the demo bank once, then a response file of synthetic candidates: rows of the demo's form-A responses
drawn with replacement under new candidate ids, a third of them in Spanish, one in fifty with an accented
name. Times, interleaved in one run (certbank, baseline, certbank, baseline, …):

  * certbank: ``workflows.candidate_reports.write_candidate_reports`` — the whole ``score --reports`` job:
    scoring against the standard, area bands, building the letters, one PDF per candidate, the merged
    mailing PDF, the two CSVs and the move of the folder into place; the "prep" line is the scoring and
    letter building alone (``score_against_standard`` + ``build_letters``), so drawing and writing are the
    difference;
  * a plain fpdf2 baseline (on the first ``--baseline-letters``, 1,000 by default, its time scaled to the
    full count: it takes about 50 ms a letter, so 10,000 would take most of ten minutes): the same letters' text (``letter_texts``), drawn naively — a new ``FPDF`` per
    candidate, ``multi_cell`` per text, ``output()`` — into one file per candidate and again into one merged
    document, written to a folder (what the straightforward fpdf2 program does; no layout, so it draws less
    than certbank's letter).

Prints the best and median wall time of each, the ratio, the load average (``os.getloadavg``: the machine is
shared) before each run, and the peak resident memory (``resource.getrusage``: this process, and the
letter-drawing worker processes).

Run:  python bench/letters.py  [--letters 10000] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fpdf import FPDF

from itembank.store import Bank
from workflows import candidate_reports as cr
from workflows.demo import run_demo
from workflows.scoring import score_against_standard

TARGET_SECONDS = 60.0
FORM, STANDARD, ADMINISTRATION = "DEMO-A", "peer-support", "DEMO-Y1"
NAMES = ("María José Peña Núñez", "Ángel Ibáñez", "Zoë Müller", "Begoña Güemes")


def synthetic_responses(demo: Path, n: int, seed: int = 21) -> Path:
    """``n`` candidates: demo form-A rows drawn with replacement, new ids, a third in Spanish, some names."""
    rows = pd.read_csv(demo / "responses-form-A.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    out = rows.iloc[rng.integers(0, len(rows), n)].reset_index(drop=True)
    out["candidate_id"] = [f"S{i:06d}" for i in range(n)]
    out["language"] = np.where(rng.random(n) < 1 / 3, "es", "en")
    names = np.where(rng.random(n) < 0.02, rng.choice(NAMES, n), "")
    out.insert(out.columns.get_loc("language") + 1, "name", names)
    path = demo / f"synthetic-{n}.csv"
    out.to_csv(path, index=False)
    return path


def run_certbank(bank, responses: Path, folder: Path) -> float:
    start = time.perf_counter()
    result = cr.write_candidate_reports(bank, responses, form_id=FORM, standard=STANDARD, reports_dir=folder,
                                        administration_id=ADMINISTRATION)
    wall = time.perf_counter() - start
    assert len(result.written) == len(list(folder.glob("S*.pdf")))
    return wall


def prep(bank, responses: Path):
    """What the job does before drawing: score, band, and build the letters; (seconds, letters, catalogues)."""
    start = time.perf_counter()
    settings = cr.read_program_settings(None)
    administration = bank.get_administration(ADMINISTRATION)
    scores = score_against_standard(bank, responses, standard=STANDARD, form_id=FORM)
    built, catalogues = cr.build_letters(bank, scores, FORM, responses, settings=settings,
                                         administration=administration)
    return time.perf_counter() - start, built, catalogues


def _naive_letter(pdf: FPDF, texts) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for text in texts:
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")


def run_baseline(built, catalogues, folder: Path) -> float:
    """Plain fpdf2: every letter's text into its own document and again into the merged one."""
    start = time.perf_counter()
    folder.mkdir()
    merged = FPDF(format="letter")
    for letter in built:
        texts = cr.letters.letter_texts(letter, catalogues[letter.language])
        single = FPDF(format="letter")
        _naive_letter(single, texts)
        (folder / f"{letter.candidate_id}.pdf").write_bytes(bytes(single.output()))
        _naive_letter(merged, texts)
    (folder / cr.MERGED_NAME).write_bytes(bytes(merged.output()))
    return time.perf_counter() - start


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline-letters", type=int, default=1000,
                        help="letters the baseline draws (it is slow; its time is scaled to --letters)")
    parser.add_argument("--no-baseline", action="store_true", help="time certbank only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    try:
        demo = work / "demo"
        run_demo(demo)
        responses = synthetic_responses(demo, args.letters)
        ours, theirs, loads = [], [], []
        with Bank.open(demo / "certbank.db", user="bench") as bank:
            prep_wall, built, catalogues = prep(bank, responses)
            for k in range(args.repeat):
                loads.append(_load())
                folder = work / f"letters-{k}"
                ours.append(run_certbank(bank, responses, folder))
                pages = _pages(folder / cr.MERGED_NAME)
                print(f"run {k + 1}: certbank {ours[-1]:7.2f} s  (load {loads[-1]}; {pages} merged pages)")
                shutil.rmtree(folder)
                if k == 0:
                    ours_rss = _peak_mb(resource.RUSAGE_SELF)
                if not args.no_baseline:
                    load = _load()
                    few = built[:args.baseline_letters]
                    wall = run_baseline(few, catalogues, work / f"naive-{k}")
                    theirs.append(wall * len(built) / len(few))
                    print(f"run {k + 1}: baseline {wall:7.2f} s for {len(few):,} letters, "
                          f"{theirs[-1]:.1f} s scaled to {len(built):,}  (load {load})")
                    shutil.rmtree(work / f"naive-{k}")
        n = args.letters
        print(f"\n{n:,} letters, {os.cpu_count()} cores, best of {args.repeat} (median)")
        print(f"  certbank score --reports   {min(ours):7.2f} s ({statistics.median(ours):.2f})  "
              f"{1000 * min(ours) / n:.2f} ms/letter; prep (score + build letters) {prep_wall:.2f} s")
        if theirs:
            print(f"  plain fpdf2 baseline, scaled {min(theirs):5.1f} s ({statistics.median(theirs):.2f})  "
                  f"{1000 * min(theirs) / n:.2f} ms/letter; ratio baseline / certbank "
                  f"{min(theirs) / min(ours):.1f}×")
        print(f"  peak RSS: this process {ours_rss:.0f} MB after certbank's first run, "
              f"{_peak_mb(resource.RUSAGE_SELF):.0f} MB at the end; a drawing worker "
              f"{_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB")
        print(f"  load averages before the certbank runs: {', '.join(loads)}")
        verdict = "within" if min(ours) < TARGET_SECONDS else "OVER"
        print(f"certbank {min(ours):.1f} s for {n:,} letters: {verdict} the {TARGET_SECONDS:.0f} s target")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pages(pdf: Path) -> int:
    """The merged PDF's page count: its page objects (uncompressed object dictionaries in both writers)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


if __name__ == "__main__":
    main()
