"""`certbank equate`: score-distribution and NEAT files read, checked and equated, classical or IRT.

The numbers are ``psychometrics.equating`` (random groups and NEAT, Kolen & Brennan 2014 conventions) and
``psychometrics.irt.equating``; this module reads the files, chooses the method and writes the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics import equating
from psychometrics.equating.classical import NEAT_METHODS, RANDOM_GROUPS_METHODS, EquatingResult, NeatData, frequencies
from psychometrics.equating.cuts import CutComparison, compare_cuts
from psychometrics.equating.smoothing import parse_smoothing, smooth_frequencies, smooth_neat
from psychometrics.equating.standard_errors import bootstrap_se_neat, bootstrap_se_random_groups
from psychometrics.irt import equating as irt_equating
from psychometrics.irt.equating import raw_cut_from_theta
from workflows.outputs import write_csv
from workflows.parameter_files import FormParameters, _need_bank, bank_form_parameters, form_parameters, shown_ids
from workflows.responses import scored_matrix
from workflows.tables import read_numeric_table


def read_score_distribution(path, max_score: int) -> np.ndarray:
    """Frequencies (max_score + 1,) from a file of per-person scores (column ``score``) or a frequency table
    (columns ``score``, ``count``). Scores outside 0..max_score are reported with their rows."""
    from certbank_core.errors import Problem

    probe = read_numeric_table(path, ["score"], ["count"], integer=True)
    bad = np.nonzero((probe["score"] < 0) | (probe["score"] > max_score))[0]
    if bad.size:
        raise InputError([Problem(f"score {probe['score'][i]:g} is outside 0–{max_score}", str(path), int(i) + 2,
                                  "score") for i in bad])
    if "count" in probe:
        freq = np.zeros(max_score + 1)
        np.add.at(freq, probe["score"].astype(int).to_numpy(), probe["count"].to_numpy())
        return freq
    return frequencies(probe["score"].to_numpy(), max_score)


def read_neat_scores(path, max_total: int, max_anchor: int, internal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-person ``total`` and ``anchor`` scores of one NEAT population, with range problems by row."""
    from certbank_core.errors import Problem

    frame = read_numeric_table(path, ["total", "anchor"], integer=True)
    problems = []
    for col, top in (("total", max_total), ("anchor", max_anchor)):
        for i in np.nonzero((frame[col] < 0) | (frame[col] > top))[0]:
            problems.append(Problem(f"{frame[col][i]:g} is outside 0–{top}", str(path), int(i) + 2, col))
    for i in np.nonzero((frame["anchor"] > frame["total"]) & internal)[0]:
        problems.append(Problem("anchor score exceeds the total score of an internal anchor", str(path),
                                int(i) + 2, "anchor"))
    if problems:
        raise InputError(problems)
    return frame["total"].to_numpy(), frame["anchor"].to_numpy()


def equate_files(method: str, x_path, y_path, max_x: int, max_y: int, max_anchor: int | None = None,
                 w1: float = 0.5, internal: bool = True, smoothing: str | None = None, bootstrap: int = 0,
                 seed: int = 1) -> EquatingResult:
    """Classical equating from files: random-groups methods read score distributions, NEAT methods read
    per-person total and anchor scores (``NEAT_METHODS``; they need ``max_anchor``). ``smoothing``
    ("none", "loglinear" (degree by AIC) or "loglinear:C") presmooths the distributions
    (``psychometrics.equating.smoothing``); ``bootstrap`` > 0 replicates give the SE where the method has no
    analytic one (seeded by ``seed``; smoothing is redone in each replicate)."""
    if not 0.0 <= w1 <= 1.0:
        raise InputError(f"w1 = {w1} must be between 0 and 1")
    spec = parse_smoothing(smoothing)
    rng = np.random.default_rng(seed)
    if method in RANDOM_GROUPS_METHODS:
        fn = RANDOM_GROUPS_METHODS[method]

        def run(fx, fy):
            sx, sy = smooth_frequencies(fx, spec), smooth_frequencies(fy, spec)
            out = fn(sx, sy) if method != "equipercentile" else fn(sx, sy, n_x=fx.sum(), n_y=fy.sum())
            return out

        fx, fy = read_score_distribution(x_path, max_x), read_score_distribution(y_path, max_y)
        result = run(fx, fy)
        if bootstrap > 0 and (spec is not None or np.isnan(result.se).all()):
            result = replace(result, se=bootstrap_se_random_groups(run, fx, fy, n_boot=bootstrap, rng=rng))
        return result
    if method in NEAT_METHODS:
        if max_anchor is None:
            raise InputError(f"method {method} needs the anchor's maximum score")
        xt, xv = read_neat_scores(x_path, max_x, max_anchor, internal)
        yt, yv = read_neat_scores(y_path, max_y, max_anchor, internal)
        data = NeatData.from_scores(xt, xv, yt, yv, max_x, max_y, max_anchor, internal=internal)

        def run_neat(d):
            return NEAT_METHODS[method](smooth_neat(d, spec), w1)

        result = run_neat(data)
        if bootstrap > 0:
            result = replace(result, se=bootstrap_se_neat(run_neat, data, n_boot=bootstrap, rng=rng))
        return result
    known = ", ".join(list(RANDOM_GROUPS_METHODS) + list(NEAT_METHODS) + ["irt_true_score", "irt_observed_score"])
    raise InputError(f"unknown equating method {method!r}; choose one of {known}")


#: The IRT equating methods; every other method name goes to ``equate_files``.
IRT_EQUATING_METHODS = ("irt_true_score", "irt_observed_score")


# ---- equating --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EquatingJob:
    result: equating.EquatingResult
    frame: pd.DataFrame = field(repr=False)

    def write(self, out) -> list[Path]:
        return [write_csv(out, self.frame)]

    def message(self, out) -> str:
        r = self.result
        line = f" (slope {r.slope:.4f}, intercept {r.intercept:.4f})" if r.slope is not None else ""
        return f"{r.method} equating of {len(self.frame)} scores{line}. Wrote {out}."


def equate(bank, method: str, *, x_path=None, y_path=None, max_x: int | None = None, max_y: int | None = None,
           max_anchor: int | None = None, internal_anchor: bool = True, w1: float = 0.5,
           form_x: str | None = None, form_y: str | None = None, params_x=None, params_y=None,
           smoothing: str | None = None, bootstrap: int = 0, seed: int = 1) -> EquatingJob:
    """Equate form X to form Y's scale. IRT methods (``IRT_EQUATING_METHODS``) take each form's parameters
    from the bank (form_x/form_y) or files (params_x/params_y); the classical methods read score files
    (``equate_files``: random groups or NEAT, K&B 2014 conventions)."""
    if method in IRT_EQUATING_METHODS:
        px, _ = form_parameters(bank, form_x, params_x)
        py, _ = form_parameters(bank, form_y, params_y)
        result = irt_equating.irt_true_score_equating(px, py) if method == "irt_true_score" else \
            irt_equating.irt_observed_score_equating(px, py, w1)
    else:
        missing = [name for name, v in (("--x", x_path), ("--y", y_path), ("--max-x", max_x), ("--max-y", max_y))
                   if v is None]
        if missing:
            raise InputError(f"Method {method} needs {', '.join(missing)}.")
        result = equate_files(method, x_path, y_path, max_x, max_y, max_anchor, w1, internal=internal_anchor,
                              smoothing=smoothing, bootstrap=bootstrap, seed=seed)
    return EquatingJob(result, result.to_frame())



# ---- NEAT: the new form equated to the old one through the anchor, beside the IRT cut ---------------------------
#: The fewest common scored items accepted as an anchor block. Kolen & Brennan (2014, §8.1.3) suggest at least
#: 20% of the test or 20–30 items; below 10 the anchor score is too unreliable for the NEAT methods.
MIN_ANCHOR_ITEMS = 10

#: The observed-score NEAT methods shown beside the IRT cut (K&B ch. 4 linear, ch. 5 equipercentile).
NEAT_COMPARISON_METHODS = ("tucker", "levine_observed", "chained_linear", "chained_equipercentile",
                           "frequency_estimation", "braun_holland")


def _header(path: Path) -> list[str] | None:
    """The column names of a .csv/.xlsx response file, or None when it cannot be read (the reader reports)."""
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return [str(c).strip() for c in pd.read_excel(path, nrows=0).columns]
        return [str(c).strip() for c in pd.read_csv(path, nrows=0, dtype=str).columns]
    except Exception:  # noqa: BLE001 - a file the reader cannot open is reported by the reader, with its reason
        return None


def check_form_responses(bank, path, form_id: str, other_form: str | None = None) -> None:
    """One sentence when the response file ``path`` is not form ``form_id``'s: scored items without a column,
    columns of ``other_form``'s items, or a form_id column naming another form."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The response file {path} does not exist.")
    header = _header(path)
    if header is None:
        return
    form = bank.get_form(form_id)
    on_form = {fi.item_id for fi in form.items}
    missing = [i for i in form.scored_item_ids if i not in header]
    foreign = [] if other_form is None else [
        c for c in header if c not in on_form and c in {fi.item_id for fi in bank.get_form(other_form).items}]
    if "form_id" in [h.lower() for h in header]:
        try:
            frame = (pd.read_excel(path, dtype=str) if path.suffix.lower() in (".xlsx", ".xlsm")
                     else pd.read_csv(path, dtype=str, keep_default_na=False))
            col = next(c for c in frame.columns if str(c).strip().lower() == "form_id")
            others = sorted({str(v).strip() for v in frame[col] if str(v).strip() and str(v).strip() != form_id})
        except Exception:  # noqa: BLE001 - the reader reports what it cannot read
            others = []
        if others:
            raise InputError(f"{path} holds responses to form {shown_ids(others)}, not form {form_id}: give the "
                             f"responses of form {form_id}.")
    if missing or foreign:
        parts = []
        if missing:
            parts.append(f"{len(missing)} of its {len(form.scored_item_ids)} scored items have no column "
                         f"({shown_ids(missing)})")
        if foreign:
            parts.append(f"it has columns for {len(foreign)} items of form {other_form} only "
                         f"({shown_ids(foreign)})")
        raise InputError(f"{path} is not the responses of form {form_id}: {' and '.join(parts)}; give the "
                         f"responses of form {form_id}.")


def _total_and_anchor(bank, path, form_id: str, scored: tuple[str, ...], anchor: list[str]):
    """Each candidate's total (scored items) and anchor score on form ``form_id``, its key from the bank;
    not-reached and omitted count as wrong."""
    matrix, _ = scored_matrix(bank, path, form_id)
    columns = [matrix.item_ids.index(i) for i in scored]
    x = np.nan_to_num(matrix.scored[:, columns], nan=0.0)
    a_cols = [list(scored).index(i) for i in anchor]
    return x.sum(axis=1).astype(int), x[:, a_cols].sum(axis=1).astype(int)


@dataclass(frozen=True)
class NeatComparison:
    """The new form equated to the old one through the anchor block (NEAT, internal anchor), each method's
    new-form raw cut beside the IRT one (``comparison``, a ``psychometrics.equating.cuts.CutComparison``)."""

    new_form: str
    old_form: str
    anchor: tuple[str, ...]
    n_new: int
    n_old: int
    theta_cut: float
    comparison: CutComparison
    results: dict = field(repr=False)
    new_parameters: FormParameters = field(repr=False)
    old_parameters: FormParameters = field(repr=False)

    def frame(self) -> pd.DataFrame:
        """The comparison table with the forms, the old form's raw cut and the anchor length on every row."""
        out = self.comparison.table.copy()
        out.insert(0, "new_form", self.new_form)
        out.insert(1, "old_form", self.old_form)
        out["old_raw_cut"] = self.comparison.old_raw_cut
        out["n_anchor_items"] = len(self.anchor)
        return out

    def write(self, out) -> list[Path]:
        return [write_csv(out, self.frame())]

    def message(self, out=None) -> str:
        c = self.comparison
        lines = [f"NEAT equating of {self.new_form} ({self.n_new} candidates) to {self.old_form} "
                 f"({self.n_old} candidates) through {len(self.anchor)} anchor items; the old form's raw cut "
                 f"{c.old_raw_cut} carried to {self.new_form}:",
                 f"  {'method':<24}{'new raw cut':>12}{'equated':>10}{'vs IRT':>8}"]
        for row in c.table.itertuples():
            eq = "" if pd.isna(row.equated_at_cut) else f"{row.equated_at_cut:.2f}"
            lines.append(f"  {row.method:<24}{row.new_raw_cut:>12}{eq:>10}{row.difference_from_irt:>+8d}")
        lines.append(c.sentence() + (f" Wrote {out}." if out else ""))
        return "\n".join(lines)


def equate_forms_neat(bank, new_form: str, old_form: str, new_responses, old_responses, *, theta_cut: float,
                      rule: str = "at_least", cut_rule: str = "rounded", w1: float = 0.5,
                      methods=NEAT_COMPARISON_METHODS) -> NeatComparison:
    """Equate bank form ``new_form`` to ``old_form`` in the common-item nonequivalent groups design and carry
    the old form's raw cut through each method, beside the IRT cut of the θ standard ``theta_cut``.

    The anchor block is the scored items both forms share (at least ``MIN_ANCHOR_ITEMS``), internal to both
    totals. Each response file is scored with its own form's key (``workflows.responses.scored_matrix``);
    every candidate's total and anchor score make ``NeatData``, which Tucker, Levine observed-score, chained
    linear (K&B 2014 ch. 4), chained equipercentile, frequency estimation and Braun–Holland (ch. 5) equate
    new → old with synthetic weight ``w1`` on the new form's population. The old form's raw cut is
    ⌈TCC_old(θ_c)⌉ (``rule``), each method's new-form cut the smallest new raw score whose equated score
    reaches it (``psychometrics.equating.cuts``, ``cut_rule``), and the IRT cut ⌈TCC_new(θ_c)⌉, both forms'
    parameters on the bank scale (``bank_form_parameters``)."""
    bank = _need_bank(bank, "NEAT equating")
    if new_form == old_form:
        raise InputError(f"--equate-from names the form itself ({new_form}): give the earlier form to equate to.")
    new_scored, old_scored = bank.get_form(new_form).scored_item_ids, bank.get_form(old_form).scored_item_ids
    anchor = [i for i in new_scored if i in set(old_scored)]
    if len(anchor) < MIN_ANCHOR_ITEMS:
        raise InputError(f"Forms {new_form} and {old_form} share {len(anchor)} scored item"
                         f"{'' if len(anchor) == 1 else 's'}, and NEAT equating needs an anchor block of at least "
                         f"{MIN_ANCHOR_ITEMS} (Kolen & Brennan suggest 20% of the test or 20–30 items): assemble "
                         f"the new form with an anchor block from the old one, or use the IRT result alone.")
    check_form_responses(bank, new_responses, new_form, old_form)
    check_form_responses(bank, old_responses, old_form, new_form)
    new_fp = bank_form_parameters(bank, new_form)
    old_fp = bank_form_parameters(bank, old_form)
    xt, xv = _total_and_anchor(bank, new_responses, new_form, new_scored, anchor)
    yt, yv = _total_and_anchor(bank, old_responses, old_form, old_scored, anchor)
    data = NeatData.from_scores(xt, xv, yt, yv, len(new_scored), len(old_scored), len(anchor), internal=True)
    results = {m: NEAT_METHODS[m](data, w1) for m in methods}
    old_cut = raw_cut_from_theta(theta_cut, old_fp.params, rule)
    irt_cut = raw_cut_from_theta(theta_cut, new_fp.params, rule)
    irt_at = float(irt_equating.irt_true_score_equating(new_fp.params, old_fp.params)(irt_cut))
    comparison = compare_cuts(results, old_cut, irt_cut, cut_rule, irt_at)
    return NeatComparison(new_form, old_form, tuple(anchor), int(xt.size), int(yt.size), float(theta_cut),
                          comparison, results, new_fp, old_fp)
