"""`certbank demo`: two years of the bundled sample program on one bank, end to end, in under a minute.

Year 1
  1. a bank from the sample program (frameworks, 360 bilingual items, the default blueprint), with bank-scale
     3PL parameters for the operational items (standing in for earlier calibrations; ``demo_simulation``);
  2. two parallel forms assembled from the default blueprint (a common anchor block, 10 pretest items each);
     form A is published;
  3. 3,000 simulated candidates on form A (θ ~ N(0, 1), a third in Spanish) with four planted problems: a
     miskeyed item, an item far too easy, an item whose Spanish translation makes it harder, a distractor
     nobody chooses;
  4. classical item analysis, 3PL calibration onto the bank scale (Stocking–Lord, anchors screened for
     drift), item fit and DIF, all saved against administration DEMO-Y1;
  5. a modified-Angoff study by simulated raters; the cut becomes a θ standard carried to form B.
Year 2
  6. the year-1 pretest items that meet the bank's criteria are promoted; a new form is assembled from the
     same blueprint with an anchor block shared with form A;
  7. 3,000 abler candidates (θ ~ N(0.4, 1)) on it, one anchor drifted (1 logit harder); analysis and 3PL
     calibration onto the bank scale with the drift check (administration DEMO-Y2);
  8. the standard carried to the new form, and its NEAT equating to form A through the anchor block.
Then the workbooks, the CSV outputs, and a summary: the planted problems found, and each year's raw cut and
pass rate against the simulation's truth.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from psychometrics.irt.models import ItemParameters
from psychometrics.standards.carrying import carry_standard
from psychometrics.standards.scaling import make_standard, score_candidates
from reports.form_report import build_form_workbook
from reports.item_analysis import build_item_analysis_workbook
from reports.standard_report import build_standard_workbook
from workflows.administrations import promotion_review
from workflows.analysis import analyze_administration, analyze_file, save_and_write
from workflows.assembly import assemble_into_bank, form_verification
from workflows.bundles import form_bundle, item_analysis_bundle, standard_bundle
from workflows.calibration import calibrate_file
from workflows.demo_simulation import (N_CANDIDATES, Administration, bank_scale_truth, simulate_administration,
                                       simulate_ratings, true_raw_cut)
from workflows.scoring import score_against_standard
from workflows.standard_files import angoff_from_file
from workflows.standards import apply_standard

DEMO_SEED = 20261125
N_RATERS = 12
#: Where the simulated panel places the borderline candidate on the bank scale.
BORDERLINE_THETA = -0.35
#: Year 2's candidates are this much abler than year 1's (logits, on the bank scale).
YEAR_TWO_SHIFT = 0.4
#: How much harder the planted drifted anchor becomes in year 2 (logits).
DRIFT_SHIFT = 1.0
STANDARD = "peer-support"
ADMINISTRATIONS = ("DEMO-Y1", "DEMO-Y2")
OUTPUT_NAMES = ("certbank.db", "responses-form-A.csv", "ratings.csv", "analysis", "item-analysis.xlsx",
                "standard-setting.xlsx", "scores-form-A.csv", "calibration-year-1", "dif.csv",
                "responses-year-2.csv", "analysis-year-2", "calibration-year-2", "conversion-year-2.csv",
                "equating-year-2.csv", "scores-year-2.csv")


@dataclass(frozen=True)
class Planted:
    item_id: str
    kind: str
    description: str
    found: bool
    evidence: str


@dataclass(frozen=True)
class Year:
    """One year of the demo program against the simulation's truth."""

    label: str
    form_id: str
    mean: float
    raw_cut: int
    true_raw_cut: int
    pass_rate: float
    true_pass_share: float
    n_items: int
    notes: tuple[str, ...] = ()

    def sentence(self) -> str:
        return (f"{self.label} (form {self.form_id}, candidates θ ~ N({self.mean:g}, 1)): raw cut {self.raw_cut}/"
                f"{self.n_items} (truth {self.true_raw_cut}); pass rate {self.pass_rate:.1%} (true share above "
                f"the θ cut {self.true_pass_share:.1%})." + "".join(f"\n    {n}" for n in self.notes))


@dataclass(frozen=True)
class DemoResult:
    outdir: Path
    files: tuple[str, ...]
    planted: tuple[Planted, ...]
    form_ids: tuple[str, ...]
    raw_cuts: dict
    theta_cut: float
    seconds: float
    years: tuple = ()


    def summary(self) -> str:
        lines = [f"Demo finished in {self.seconds:.1f} s. Outputs are in {self.outdir}:"]
        lines += [f"  {f}" for f in self.files]
        lines.append(f"Standard: θ cut {self.theta_cut:.2f} on the bank scale; raw cuts "
                     + ", ".join(f"form {k} {v}/120" for k, v in self.raw_cuts.items()) + ".")
        lines += [year.sentence() for year in self.years]
        found = sum(p.found for p in self.planted)
        lines.append(f"Planted problems found: {found} of {len(self.planted)}.")
        for p in self.planted:
            lines.append(f"  [{'found' if p.found else 'MISSED'}] {p.item_id}: {p.description} — {p.evidence}")
        return "\n".join(lines)


def _prepare_outdir(outdir: Path, force: bool) -> None:
    existing = [n for n in OUTPUT_NAMES if (outdir / n).exists()] + \
        [p.name for p in outdir.glob("form-*.xlsx")] if outdir.exists() else []
    if existing and not force:
        raise InputError(f"{outdir} already holds demo outputs ({', '.join(sorted(existing)[:3])}, ...); "
                         "use --force to replace them or choose another folder.")
    outdir.mkdir(parents=True, exist_ok=True)
    for name in existing:
        path = outdir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for suffix in ("-wal", "-shm"):
        (outdir / f"certbank.db{suffix}").unlink(missing_ok=True)


def run_demo(outdir: str | Path, progress: Callable[[str], None] = lambda _m: None, force: bool = False,
             seed: int = DEMO_SEED) -> DemoResult:
    """Run the demo into ``outdir`` (refuses to replace earlier outputs unless ``force``)."""
    start = time.perf_counter()
    outdir = Path(outdir)
    _prepare_outdir(outdir, force)
    rng = np.random.default_rng(seed)
    bank_path = outdir / "certbank.db"

    progress("1/9 Creating the item bank from the sample program ...")
    loaded = create_sample_bank(bank_path, user="certbank-demo")
    progress(f"    {loaded['items']} items, {loaded['frameworks']} frameworks, blueprint '{loaded['blueprint']}'")
    with Bank.open(bank_path, user="certbank-demo") as bank:
        truth = bank_scale_truth(bank, rng)
        progress("2/9 Year 1: assembling two parallel forms from the default blueprint ...")
        forms, assembly = _assemble(bank, loaded["blueprint"], seed)
        progress(f"    {assembly.summary().splitlines()[0]}")
        form_a, form_b = forms
        _publish(bank, form_a)

        progress(f"3/9 Year 1: simulating {N_CANDIDATES:,} candidates taking form {form_a} (a third in Spanish) ...")
        admin = simulate_administration(bank, form_a, truth, rng)
        responses_path = outdir / "responses-form-A.csv"
        admin.responses.to_csv(responses_path, index=False)

        progress("4/9 Year 1: scoring and classical item analysis ...")
        run = analyze_file(bank, responses_path, form_id=form_a, group_column="language")
        save_and_write(run, outdir / "analysis", bank, f"demo administration of form {form_a}",
                       responses=responses_path, administration_id=ADMINISTRATIONS[0])
        rm, classical = run.matrix, run.report
        areas = dict(zip(*(bank.item_pool()[c] for c in ("item_id", "area"))))
        pretest = list(run.context.pretest)

        progress("5/9 Year 1: IRT calibration (3PL) onto the bank scale, item fit, and DIF by language ...")
        extra = analyze_administration(rm, irt_model="3pl", pretest=pretest)
        fit, dif = extra.fit, extra.dif
        cal1 = calibrate_file(bank, responses_path, form_id=form_a, model="3pl")
        cal1.write(outdir / "calibration-year-1" / "params.csv", bank, f"demo 3PL, form {form_a}",
                   administration_id=ADMINISTRATIONS[0])
        texts = bank.item_texts(rm.item_ids)
        dif.to_frame(texts[["item_id", "stem_en", "stem_es"]]).to_csv(outdir / "dif.csv", index=False)

        progress(f"6/9 Year 1: modified-Angoff study with {N_RATERS} simulated raters; carrying the standard to "
                 f"form {form_b} ...")
        standard = _standard(bank, outdir, form_a, form_b, truth, classical, rm, rng)
        year1 = _year("Year 1", form_a, 0.0, standard["raw_cuts"][form_a], standard["pass_rate"], truth, admin,
                      standard["theta_cut"], bank, (f"Bank scale: {cal1.bank_scale.summary()}",))

        progress("7/9 Year 2: promoting pretest items; assembling a new form anchored to form A ...")
        promoted = promotion_review(bank, ADMINISTRATIONS[0], apply=True,
                                    reason="demo: year-1 pretest met the bank's criteria").promoted
        form_2 = _assemble_year_two(bank, loaded["blueprint"], seed)
        _publish(bank, form_2)

        progress(f"8/9 Year 2: {N_CANDIDATES:,} abler candidates (θ ~ N({YEAR_TWO_SHIFT:g}, 1)) with one drifted "
                 "anchor; analysis and 3PL calibration onto the bank scale with the drift check ...")
        year2, files2 = _year_two(bank, outdir, form_a, form_2, truth, standard["theta_cut"], responses_path, rng,
                                  promoted)

        progress("9/9 Writing the workbooks ...")
        _workbooks(bank, outdir, form_a, form_b, classical, cal1.report.calibration, fit,
                   cal1.bank_scale.linking, dif, texts, standard, areas, responses_path, form_2)

    planted = _check_planted(admin.planted, classical, dif)
    files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file()
                   and not p.name.endswith(("-wal", "-shm")))
    return DemoResult(outdir, tuple(files), tuple(planted), (form_a, form_b), standard["raw_cuts"],
                      standard["theta_cut"], time.perf_counter() - start, (year1, year2))


# ---- steps ------------------------------------------------------------------------------------------------


def _publish(bank, form_id: str) -> None:
    bank.set_form_status(form_id, "approved")
    bank.set_form_status(form_id, "published")


def _year(label, form_id, mean, raw_cut, pass_rate, truth, admin: Administration, theta_cut, bank, notes=()):
    items = list(bank.get_form(form_id).scored_item_ids)
    return Year(label, form_id, mean, int(raw_cut), true_raw_cut(theta_cut, items, truth, admin), float(pass_rate),
                float(np.mean(admin.theta >= theta_cut)), len(items), tuple(notes))


def _assemble_year_two(bank, blueprint_name: str, seed: int) -> str:
    saved = assemble_into_bank(bank, blueprint_name, n_forms=1, seed=seed + 1, time_limit=20, name="DEMO-Y2")
    return saved.form_ids[0]


def _year_two(bank, outdir: Path, form_a: str, form_2: str, truth, theta_cut: float, responses_1: Path, rng,
              promoted) -> tuple[Year, list[Path]]:
    """Year 2 through the same jobs a program runs: simulate, analyse, calibrate onto the bank scale (drift
    check), carry the standard with the NEAT equating beside it, score."""
    anchors = sorted(set(bank.get_form(form_a).scored_item_ids) & set(bank.get_form(form_2).scored_item_ids))
    drifted = anchors[len(anchors) // 2]
    admin = simulate_administration(bank, form_2, truth, rng, mean=YEAR_TWO_SHIFT, plant=False,
                                    drift={drifted: DRIFT_SHIFT}, candidate_prefix="Y2-")
    path = outdir / "responses-year-2.csv"
    admin.responses.to_csv(path, index=False)
    run = analyze_file(bank, path, form_id=form_2, group_column="language")
    save_and_write(run, outdir / "analysis-year-2", bank, f"demo administration of form {form_2}", responses=path,
                   administration_id=ADMINISTRATIONS[1])
    cal = calibrate_file(bank, path, form_id=form_2, model="3pl")
    cal.write(outdir / "calibration-year-2" / "params.csv", bank, f"demo 3PL, form {form_2}",
              administration_id=ADMINISTRATIONS[1])
    applied = apply_standard(bank, STANDARD, form_id=form_2, equate_from=form_a, responses=path,
                             old_responses=responses_1, equating_table=True)
    written = applied.write(outdir / "conversion-year-2.csv", None, outdir / "equating-year-2.csv")
    scores = score_against_standard(bank, path, standard=STANDARD, form_id=form_2)
    written += scores.write(outdir / "scores-year-2.csv")
    released = cal.bank_scale.anchors_released
    caught = "caught" if drifted in released else "MISSED"
    notes = (f"Bank scale: {cal.bank_scale.summary()}",
             f"Planted drift: anchor {drifted} made {DRIFT_SHIFT:g} logit harder — {caught} by the drift check.",
             f"Pretest items promoted after year 1: {len(promoted)}.",
             f"NEAT equating to form {form_a} through {len(applied.neat.anchor)} anchor items (raw cut by method): "
             + ", ".join(f"{r.method.replace('_', ' ')} {r.new_raw_cut}"
                         for r in applied.neat.comparison.table.itertuples()) + ". "
             + applied.neat.comparison.sentence())
    pass_rate = float((scores.report["result"] == "pass").mean())
    year = _year("Year 2", form_2, YEAR_TWO_SHIFT, applied.raw_cut, pass_rate, truth, admin, theta_cut, bank, notes)
    return year, written


def _assemble(bank, blueprint_name: str, seed: int):
    saved = assemble_into_bank(bank, blueprint_name, n_forms=2, seed=seed, time_limit=20, name="DEMO")
    return list(saved.form_ids), saved.result


def _standard(bank, outdir: Path, form_a: str, form_b: str, truth: pd.DataFrame, classical, rm, rng) -> dict:
    items_a = list(bank.get_form(form_a).scored_item_ids)
    items_b = list(bank.get_form(form_b).scored_item_ids)
    params_a = ItemParameters.from_frame(bank.item_parameters(items_a), item_ids=items_a, source=f"form {form_a}")
    params_b = ItemParameters.from_frame(bank.item_parameters(items_b), item_ids=items_b, source=f"form {form_b}")
    long = simulate_ratings(items_a, truth, rng, n_raters=N_RATERS, borderline_theta=BORDERLINE_THETA)
    ratings_path = outdir / "ratings.csv"
    long.to_csv(ratings_path, index=False)
    combined = classical.analysis.combined.items
    p_of = dict(zip(combined.item_ids, combined.p_value))
    p_values = np.array([p_of[i] for i in items_a])  # the scored items' P, in the ratings' order
    angoff = angoff_from_file(ratings_path, params=params_a, item_ids=items_a, p_values=p_values)
    theta_cut = float(angoff.theta_cut)
    record = make_standard(theta_cut, source={"method": "modified Angoff (demo)", **angoff.summary()})
    bank.save_standard(STANDARD, theta_cut, record)

    language = rm.groups["language"].to_numpy()
    scored_a = rm.scored[:, [rm.item_ids.index(i) for i in items_a]]  # pretest items do not count
    carried = carry_standard(theta_cut, {form_a: params_a, form_b: params_b}, scores=np.nansum(scored_a, axis=1),
                             groups=language, cut_se=angoff.se,
                             reliability=classical.analysis.combined.test.alpha)

    pool = bank.item_pool().set_index("item_id")
    cand = score_candidates(scored_a, params_a, theta_cut, areas=pool.loc[items_a, "area"].to_numpy(),
                            person_ids=rm.person_ids)
    cand.to_csv(outdir / "scores-form-A.csv", index=False)
    return {"angoff": angoff, "theta_cut": theta_cut, "carried": carried, "raw_cuts": dict(carried.raw_cuts),
            "ratings_path": ratings_path, "pass_rate": float((cand["result"] == "pass").mean())}


def _workbooks(bank, outdir, form_a, form_b, classical, calibration, fit, linking, dif, texts,
               standard, areas, responses_path, form_2) -> list[Path]:
    carried = standard["carried"]
    conv_a = carried.conversions[form_a].rename(columns={"raw": "raw_score"})
    conv_a = conv_a.assign(decision=np.where(conv_a.pop("passed"), "pass", "fail"))
    ia = item_analysis_bundle(
        classical, title=f"Item analysis: form {form_a}", calibration=calibration, fit=fit, dif=dif,
        texts=texts[["item_id", "stem_en", "stem_es"]], conversion=conv_a, cut=standard["raw_cuts"][form_a],
        linking=linking, areas=areas, input_files=[responses_path],
        settings={"form": form_a, "model": "3pl", "quantile_groups": 5, "dif_focal": "es"},
        history=bank.statistics_table(classical.analysis.combined.items.item_ids))
    files = [build_item_analysis_workbook(ia, outdir / "item-analysis.xlsx")]

    pool = bank.item_pool()
    for form_id in (form_a, form_b, form_2):
        form = bank.get_form(form_id)
        rep = form_bundle(form, pool, bank.item_texts(form.item_ids), verification=form_verification(form),
                          params=bank.item_parameters(form.item_ids), title=f"Form {form_id}: {form.name}")
        files.append(build_form_workbook(rep, outdir / f"form-{form_id}.xlsx"))
    angoff = standard["angoff"]
    sentences = [
        f"{len(angoff.rater_ids)} raters judged each of the {angoff.n_items} items of form {form_a}. Their "
        f"average cut is {angoff.cut_raw:.1f} raw points (SE {angoff.se:.2f}), θ = {standard['theta_cut']:.2f} "
        "on the bank scale.",
        "The standard is kept as that θ: each form's raw cut is the smallest raw score whose expected (true) "
        "score reaches it — " + ", ".join(f"form {k}: {v}" for k, v in standard["raw_cuts"].items()) + ".",
    ]
    std = standard_bundle(angoff, carried, title="Standard setting: peer-support certification",
                          sentences=sentences, input_files=[standard["ratings_path"]])
    files.append(build_standard_workbook(std, outdir / "standard-setting.xlsx"))
    return files


def _check_planted(planted, classical, dif) -> list[Planted]:
    flags = classical.flags_frame()
    flags = flags[flags["group"] == "all"] if "group" in flags.columns else flags
    dif_frame = dif.to_frame().set_index("item_id")
    wanted = {"miskey": ("KEY",), "too easy": ("P_",), "non-functioning distractor": ("DISTRACTOR", "NFD")}
    out = []
    for item_id, kind, description in planted:
        if kind == "Spanish DIF":
            row = dif_frame.loc[item_id]
            found = str(row["ets_class"]).startswith("C")
            evidence = f"DIF ETS class {row['ets_class']} (Δ_MH = {row['delta_mh']:.2f})"
        else:
            mine = flags[flags["item_id"] == item_id]
            hit = mine[mine["code"].str.upper().str.contains("|".join(wanted[kind]))]
            hit = hit.sort_values("value", ascending=False)  # the most telling option first
            found = not hit.empty
            evidence = hit["reason"].iloc[0] if found else "no matching flag"
        out.append(Planted(item_id, kind, description, bool(found), evidence))
    return out
