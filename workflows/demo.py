"""`certbank demo`: the whole job on the bundled sample program, end to end, in under a minute.

1. a bank from the sample program (frameworks, 360 bilingual items, the default blueprint);
2. bank-scale item parameters drawn with a seed (standing in for earlier calibrations), so that assembly can
   aim at information and TCC targets;
3. two parallel forms assembled from the default blueprint and saved in the bank; form A is published;
4. a simulated administration of form A (3,000 candidates, a third in Spanish) with four planted problems:
   a miskeyed item, an item far too easy, an item whose Spanish translation makes it harder, and an item
   with a distractor nobody chooses;
5. classical item analysis, 3PL calibration linked to the bank scale (Stocking–Lord), item fit and DIF;
6. a modified-Angoff study by simulated raters; the cut becomes a θ standard carried to form B;
7. the three workbooks, the CSV outputs, and a summary saying whether the planted problems were found.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from itembank.sample_loader import create_sample_bank
from itembank.store import Bank
from psychometrics.irt.equating import ItemParameters
from psychometrics.irt.linking import link
from psychometrics.irt.models import probability
from psychometrics.simulate import OPTION_LABELS, simulate_option_choices
from psychometrics.standards.carrying import carry_standard
from psychometrics.standards.scaling import make_standard, score_candidates
from reports.form_report import build_form_workbook
from reports.item_analysis import build_item_analysis_workbook
from reports.standard_report import build_standard_workbook
from workflows.analysis import analyze_administration, analyze_file, save_and_write
from workflows.assembly import assemble_into_bank, form_verification
from workflows.bundles import form_bundle, item_analysis_bundle, standard_bundle
from workflows.standard_files import angoff_from_file

DEMO_SEED = 20261125
N_CANDIDATES = 3000
SPANISH_SHARE = 1 / 3
N_RATERS = 12
#: Where the simulated panel places the borderline candidate on the bank scale.
BORDERLINE_THETA = -0.35
#: Bank-scale item parameters (3PL, D = 1): a ~ lognormal(0.1, 0.25), b ~ N(-0.6, 0.9), c ~ Beta(5, 20).
TRUE_LOG_SLOPE = (0.1, 0.25)
TRUE_DIFFICULTY = (-0.6, 0.9)
TRUE_GUESSING = (5.0, 20.0)
#: The planted problems.
EASY_B = -4.5
SPANISH_SHIFT = 1.4
NFD_WEIGHT = 0.002
OMIT_RATE = 0.004
NOT_REACHED_SHARE = 0.02
OUTPUT_NAMES = ("certbank.db", "responses-form-A.csv", "ratings.csv", "analysis", "item-analysis.xlsx",
                "standard-setting.xlsx", "scores-form-A.csv", "params-form-A.csv", "dif.csv")


@dataclass(frozen=True)
class Planted:
    item_id: str
    kind: str
    description: str
    found: bool
    evidence: str


@dataclass(frozen=True)
class DemoResult:
    outdir: Path
    files: tuple[str, ...]
    planted: tuple[Planted, ...]
    form_ids: tuple[str, ...]
    raw_cuts: dict
    theta_cut: float
    seconds: float

    def summary(self) -> str:
        lines = [f"Demo finished in {self.seconds:.1f} s. Outputs are in {self.outdir}:"]
        lines += [f"  {f}" for f in self.files]
        lines.append(f"Standard: θ cut {self.theta_cut:.2f} on the bank scale; raw cuts "
                     + ", ".join(f"form {k} {v}/120" for k, v in self.raw_cuts.items()) + ".")
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
    import time

    start = time.perf_counter()
    outdir = Path(outdir)
    _prepare_outdir(outdir, force)
    rng = np.random.default_rng(seed)
    bank_path = outdir / "certbank.db"

    progress("1/7 Creating the item bank from the sample program ...")
    loaded = create_sample_bank(bank_path, user="certbank-demo")
    progress(f"    {loaded['items']} items, {loaded['frameworks']} frameworks, blueprint '{loaded['blueprint']}'")
    with Bank.open(bank_path, user="certbank-demo") as bank:
        truth = _bank_scale_parameters(bank, rng)
        progress("2/7 Assembling two parallel forms from the default blueprint ...")
        forms, assembly = _assemble(bank, loaded["blueprint"], seed)
        progress(f"    {assembly.summary().splitlines()[0]}")
        form_a, form_b = forms
        bank.set_form_status(form_a, "approved")
        bank.set_form_status(form_a, "published")

        progress(f"3/7 Simulating {N_CANDIDATES:,} candidates taking form {form_a} (a third in Spanish) ...")
        admin = _simulate_administration(bank, form_a, truth, rng)
        responses_path = outdir / "responses-form-A.csv"
        admin.responses.to_csv(responses_path, index=False)

        progress("4/7 Scoring and classical item analysis ...")
        run = analyze_file(bank, responses_path, form_id=form_a, group_column="language")
        save_and_write(run, outdir / "analysis", bank, f"demo administration of form {form_a}")
        rm, classical = run.matrix, run.report
        areas = dict(zip(*(bank.item_pool()[c] for c in ("item_id", "area"))))
        pretest = list(run.context.pretest)

        progress("5/7 IRT calibration (3PL), item fit, linking to the bank scale, and DIF by language ...")

        extra = analyze_administration(rm, irt_model="3pl", pretest=pretest)
        calibration, fit, dif = extra.calibration, extra.fit, extra.dif
        bank_params = bank.item_parameters(rm.item_ids)
        linking = link(calibration.to_frame(), bank_params, method="stocking-lord")
        linking.apply(calibration.to_frame()).to_csv(outdir / "params-form-A.csv", index=False)
        texts = bank.item_texts(rm.item_ids)
        dif.to_frame(texts[["item_id", "stem_en", "stem_es"]]).to_csv(outdir / "dif.csv", index=False)

        progress(f"6/7 Modified-Angoff study with {N_RATERS} simulated raters; carrying the standard to "
                 f"form {form_b} ...")
        standard = _standard(bank, outdir, form_a, form_b, truth, classical, rm, rng)

        progress("7/7 Writing the workbooks ...")
        files = _workbooks(bank, outdir, form_a, form_b, classical, calibration, fit, linking, dif,
                           texts, standard, areas, responses_path)

    planted = _check_planted(admin.planted, classical, dif)
    files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file()
                   and not p.name.endswith(("-wal", "-shm")))
    return DemoResult(outdir, tuple(files), tuple(planted), (form_a, form_b), standard["raw_cuts"],
                      standard["theta_cut"], time.perf_counter() - start)


# ---- steps ------------------------------------------------------------------------------------------------


def _bank_scale_parameters(bank, rng) -> pd.DataFrame:
    """Draw 'historical' 3PL parameters for every bank item and store them as the bank scale."""
    pool = bank.item_pool()
    n = len(pool)
    truth = pd.DataFrame({"item_id": pool["item_id"], "version": pool["version"],
                          "a": rng.lognormal(*TRUE_LOG_SLOPE, n), "b": rng.normal(*TRUE_DIFFICULTY, n),
                          "c": rng.beta(*TRUE_GUESSING, n)})
    bank.save_item_parameters(truth, model="3pl", D=1.0,
                              calibration_label="bank scale (simulated earlier calibrations, demo)")
    return truth.set_index("item_id")


def _assemble(bank, blueprint_name: str, seed: int):
    saved = assemble_into_bank(bank, blueprint_name, n_forms=2, seed=seed, time_limit=20, name="DEMO")
    return list(saved.form_ids), saved.result


@dataclass(frozen=True)
class _Administration:
    responses: pd.DataFrame
    planted: tuple[tuple[str, str, str], ...]  # item_id, kind, description


def _simulate_administration(bank, form_id: str, truth: pd.DataFrame, rng) -> _Administration:
    form = bank.get_form(form_id)
    items = list(form.scored_item_ids)
    key = bank.form_key(form_id)
    options = bank.form_options(form_id)
    n_opts = np.array([len(options[i]) for i in items])
    key_codes = np.array([options[i].index(key[i]) for i in items])
    p = truth.loc[items]
    a, b, c = p["a"].to_numpy(), p["b"].to_numpy().copy(), p["c"].to_numpy()

    # Plant four problems on well-behaved mid-difficulty items (deterministic choice: no two the same).
    order = np.argsort(np.abs(b - np.median(b)))
    miskey, easy, dif_item, nfd = (int(j) for j in order[[0, 3, 6, 9]])
    correct = key_codes.copy()
    correct[miskey] = (key_codes[miskey] + 1) % n_opts[miskey]
    b[easy] = EASY_B
    weights = np.ones((len(items), int(n_opts.max())))
    nfd_option = (key_codes[nfd] + 2) % n_opts[nfd]
    weights[nfd, nfd_option] = NFD_WEIGHT
    planted = (
        (items[miskey], "miskey", f"stored key {key[items[miskey]]} but option "
                                  f"{OPTION_LABELS[correct[miskey]]} is the right answer"),
        (items[easy], "too easy", "almost every candidate answers it correctly"),
        (items[dif_item], "Spanish DIF", "the Spanish translation makes it harder for Spanish takers"),
        (items[nfd], "non-functioning distractor", f"option {OPTION_LABELS[nfd_option]} attracts almost nobody"),
    )

    n = N_CANDIDATES
    spanish = rng.random(n) < SPANISH_SHARE
    theta = rng.normal(0.0, 1.0, n)
    b_person = np.broadcast_to(b, (n, len(items))).copy()
    b_person[spanish, dif_item] += SPANISH_SHIFT
    codes = simulate_option_choices(theta, a, b_person, c, correct_options=correct, n_options=n_opts, rng=rng,
                                    distractor_weights=weights)
    labels = np.array(list(OPTION_LABELS))[codes].astype(object)
    labels[rng.random(labels.shape) < OMIT_RATE] = ""
    # Some candidates run out of time: their last 3–10 answers are blank (not reached).
    slow = np.flatnonzero(rng.random(n) < NOT_REACHED_SHARE)
    for i, k in zip(slow, rng.integers(3, 11, slow.size)):  # a few dozen rows, not the persons loop of a statistic
        labels[i, -k:] = ""
    frame = pd.DataFrame(labels, columns=items)
    frame.insert(0, "language", np.where(spanish, "es", "en"))
    frame.insert(0, "form_id", form_id)
    frame.insert(0, "candidate_id", [f"C{i + 1:05d}" for i in range(n)])
    return _Administration(frame, planted)


def _standard(bank, outdir: Path, form_a: str, form_b: str, truth: pd.DataFrame, classical, rm, rng) -> dict:
    items_a = list(bank.get_form(form_a).scored_item_ids)
    items_b = list(bank.get_form(form_b).scored_item_ids)
    params_a = ItemParameters.from_frame(bank.item_parameters(items_a), item_ids=items_a, source=f"form {form_a}")
    params_b = ItemParameters.from_frame(bank.item_parameters(items_b), item_ids=items_b, source=f"form {form_b}")
    # Simulated raters: each judges P(correct) of a borderline candidate, with a personal leniency and noise.
    t = truth.loc[items_a]
    leniency = rng.normal(0.0, 0.25, N_RATERS)
    p_border = probability(BORDERLINE_THETA + leniency, t["a"], t["b"], t["c"])  # (raters, items)
    ratings = np.clip(np.round(p_border + rng.normal(0, 0.08, p_border.shape), 2), 0.05, 0.98)
    raters = [f"R{j + 1:02d}" for j in range(N_RATERS)]
    long = pd.DataFrame({"rater_id": np.repeat(raters, len(items_a)), "item_id": np.tile(items_a, N_RATERS),
                         "rating": ratings.ravel()})
    ratings_path = outdir / "ratings.csv"
    long.to_csv(ratings_path, index=False)
    p_values = classical.analysis.combined.items.p_value
    angoff = angoff_from_file(ratings_path, params=params_a, item_ids=items_a, p_values=p_values)
    theta_cut = float(angoff.theta_cut)
    record = make_standard(theta_cut, source={"method": "modified Angoff (demo)", **angoff.summary()})
    bank.save_standard("peer-support", theta_cut, record)

    language = rm.groups["language"].to_numpy()
    carried = carry_standard(theta_cut, {form_a: params_a, form_b: params_b}, scores=np.nansum(rm.scored, axis=1),
                             groups=language, cut_se=angoff.se,
                             reliability=classical.analysis.combined.test.alpha)

    pool = bank.item_pool().set_index("item_id")
    cand = score_candidates(rm.scored, params_a, theta_cut, areas=pool.loc[items_a, "area"].to_numpy(),
                            person_ids=rm.person_ids)
    cand.to_csv(outdir / "scores-form-A.csv", index=False)
    return {"angoff": angoff, "theta_cut": theta_cut, "carried": carried, "raw_cuts": dict(carried.raw_cuts),
            "ratings_path": ratings_path}


def _workbooks(bank, outdir, form_a, form_b, classical, calibration, fit, linking, dif, texts,
               standard, areas, responses_path) -> list[Path]:
    carried = standard["carried"]
    conv_a = carried.conversions[form_a].rename(columns={"raw": "raw_score"})
    conv_a = conv_a.assign(decision=np.where(conv_a.pop("passed"), "pass", "fail"))
    ia = item_analysis_bundle(
        classical, title=f"Item analysis: form {form_a}", calibration=calibration, fit=fit, dif=dif,
        texts=texts[["item_id", "stem_en", "stem_es"]], conversion=conv_a, cut=standard["raw_cuts"][form_a],
        linking=linking, areas=areas, input_files=[responses_path],
        settings={"form": form_a, "model": "3pl", "quantile_groups": 5, "dif_focal": "es"})
    files = [build_item_analysis_workbook(ia, outdir / "item-analysis.xlsx")]

    pool = bank.item_pool()
    for form_id in (form_a, form_b):
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
