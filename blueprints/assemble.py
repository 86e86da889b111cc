"""Assemble N parallel forms at once as one mixed-integer program, solved by HiGHS via ``scipy.optimize.milp``.

Decision variables (van der Linden 2005, *Linear Models for Optimal Test Design*, ch. 6 "multiple forms"):
x[i, f] = 1 when eligible item i is on form f. For every form f:

    Σ_{i scored} x[i,f] = L,   Σ_{i pretest} x[i,f] = P                         (length, pretest slots)
    lower_r ≤ Σ_{i ∈ S_r} x[i,f] ≤ upper_r                 for each count rule r (content, keys, levels)
    Σ_i (v_i − lower_m) x[i,f] ≥ 0,  Σ_i (v_i − upper_m) x[i,f] ≤ 0     for each mean rule m (mean P)
    x[i,f] + x[j,f] ≤ 1                                      for each enemy pair (i, j)
overlap between new forms:
    K = 0:   Σ_f x[i,f] ≤ 1 for each item (no extra variables);
    K > 0:   w[i,f,g] ≥ x[i,f] + x[i,g] − 1 (w continuous in [0, 1]) and Σ_i w[i,f,g] ≤ K for f < g.
statistical targets (soft; van der Linden 2005, eq. 5.19 minimax deviation; TestDesign's ``obj_tol``):
with target T_k and absolute tolerance δ_k at θ_k, and d ≥ 0 the worst excess beyond the band, in
tolerances,

    T_k − δ_k − δ_k·d ≤ Σ_i v_k(i) x[i,f] ≤ T_k + δ_k + δ_k·d,     minimise 1 + d

The constant 1 is the floor: every set of forms inside its bands is optimal (it meets the LP bound), and a
relative gap g lets the solver stop once no form is more than g tolerances outside its band, instead of
chasing an exact hit. A tiny tie-break cost on x (total ≤ TIE_BREAK, random by seed and form, plus exposure) makes the
LP relaxation's optimum a vertex with few fractional values, which is what lets HiGHS's rounding find
in-band forms at the root (measured: 1–4 s instead of 10–40 s on the 1,000-item benchmark).
maximin: R_k·t ≤ Σ_i I_k(i) x[i,f] ≤ R_k·t + δ_k, maximise t (R_k the reference information; δ_k keeps
forms parallel); any TCC band is then a hard constraint (d = 0), so the gap is the gap on t.
Symmetry: forms are interchangeable, so every solution has N! relabelled copies. HiGHS detects such
symmetry (orbitopes), and the tie-break costs differ by form, which gives the copies different costs so
bounding prunes them. An explicit ordering Σ_i w_i x[i,f] ≥ Σ_i w_i x[i,f+1] is available
(``symmetry_breaking``) but measured slower (bench/assembly.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from certbank_core.errors import AssemblyError
from itembank.model import FormItem
from psychometrics.irt import models

from .model import Blueprint, ItemBoundRule, language_name
from .verify import FormDraft, ResolvedTarget, Verification, verify_forms

#: Default relative MIP gap at which HiGHS may stop (1%).
DEFAULT_GAP = 0.01
#: Default solver time limit in seconds.
DEFAULT_TIME_LIMIT = 60.0
#: Elastic re-solve penalties per unit of slack: length and enemies (security) bend last, then content, then
#: overlap. An enemy pair costs more than moving one item between two content areas (2 × 100).
PENALTY = {"length": 1000.0, "pretest": 1000.0, "count": 100.0, "enemies": 500.0, "mean": 100.0,
           "overlap": 10.0}
#: Target costs are multiplied by this (and reported divided by it) so the per-item tie-break costs stay well
#: above HiGHS's dual feasibility tolerance (1e-7); the relative gap does not depend on it.
OBJECTIVE_SCALE = 1000.0
#: Total tie-break cost on item choices, well under the 1% gap on an objective floored at 1 (see build_model).
TIE_BREAK = 0.004
NUMERIC_COLUMNS = ("p_value", "point_biserial", "a", "b", "c", "D", "exposure_count")
TEXT_COLUMNS = ("status", "primary_competency", "area", "cognitive_level", "key", "languages", "es_status",
                "last_used_form")
_STATUS_TEXT = {0: "optimal", 1: "time limit reached", 2: "infeasible", 3: "unbounded", 4: "solver error"}


# ---- the eligible pool ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolView:
    """The pool after eligibility: which items may fill scored / pretest slots, and why others may not.

    ``reason`` holds, for every pool row, '' if eligible for its role or the first reason it is not, in words
    that complete "items ..." ("without reviewed Spanish text", "used on the last 2 forms").
    """

    pool: pd.DataFrame  # normalised pool, all rows, with columns role ('scored'|'pretest'|'') and reason
    scored: pd.DataFrame
    pretest: pd.DataFrame
    item_bounds: tuple[ItemBoundRule, ...]
    means: tuple
    targets: tuple[ResolvedTarget, ...]
    notes: tuple[str, ...]
    eligibility_words: str  # e.g. "with reviewed Spanish text"


def normalize_pool(pool: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``pool`` with every column assembly uses present and typed (missing statistics are NaN)."""
    out = pool.copy()
    if "item_id" not in out.columns:
        raise AssemblyError("the item pool has no item_id column")
    out["item_id"] = out["item_id"].astype(str)
    for column in TEXT_COLUMNS:
        out[column] = out[column].fillna("").astype(str) if column in out.columns else ""
    for column in NUMERIC_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="coerce") if column in out.columns else np.nan
    out["exposure_count"] = out["exposure_count"].fillna(0)
    out["version"] = pd.to_numeric(out["version"], errors="coerce").fillna(1).astype(int) \
        if "version" in out.columns else 1
    if "area" in pool.columns:
        missing = out["area"] == ""
        out.loc[missing, "area"] = out.loc[missing, "primary_competency"].str.rsplit(".", n=1).str[0]
    else:
        out["area"] = out["primary_competency"].str.rsplit(".", n=1).str[0]
    return out.reset_index(drop=True)


def _reviewed(pool: pd.DataFrame, language: str) -> pd.Series:
    """Items with text in ``language`` whose translation status (when the pool has one) is 'reviewed'."""
    has = pool["languages"].str.split(";").apply(lambda langs: language in [s.strip() for s in langs])
    column = f"{language}_status"
    if column in pool.columns:
        return has & (pool[column] == "reviewed")
    return has


def eligible_pool(blueprint: Blueprint, pool: pd.DataFrame, recent_forms: Sequence[str] = (),
                  reference_items: Sequence[str] | None = None) -> PoolView:
    """Decide each item's role and, if it cannot serve, the first reason why; resolve statistical targets.

    ``reference_items``: the scored items of the reference form when the blueprint's targets are relative
    to a form (``targets.reference = "form:<id>"``); they may be ineligible themselves (e.g. just used).
    """
    bp, el = blueprint, blueprint.eligibility
    pool = normalize_pool(pool)
    notes: list[str] = []
    role = np.where(pool["status"].isin(el.scored_statuses), "scored",
                    np.where(pool["status"].isin(el.pretest_statuses), "pretest", ""))
    reason = pd.Series(np.where(role == "", "with another status", ""), index=pool.index, dtype=object)

    def exclude(mask: pd.Series, words: str) -> None:
        hit = mask & (reason == "")
        reason[hit] = words

    words = []
    for language in el.reviewed_languages:
        if language == "en" and "en_status" not in pool.columns:
            exclude(~_reviewed(pool, language), "without English text")
            continue
        exclude(~_reviewed(pool, language), f"without reviewed {language_name(language)} text")
        words.append(language_name(language))
    eligibility_words = f"with reviewed {' and '.join(words)} text" if words else ""
    if el.exclude_last_forms:
        recent = set(list(recent_forms)[: el.exclude_last_forms])
        exclude(pool["last_used_form"].isin(recent) & (pool["last_used_form"] != ""),
                f"used on the last {el.exclude_last_forms} forms")
        eligibility_words += f"{', ' if eligibility_words else ''}not used on the last {el.exclude_last_forms} forms"
    if el.max_exposure is not None:
        exclude(pool["exposure_count"] > el.max_exposure, f"exposed on more than {el.max_exposure} forms")

    scored_status = pd.Series(role == "scored", index=pool.index)
    applicable_bounds, applicable_means = [], []
    for rule in bp.active_item_bounds + bp.active_means:
        values = pool[rule.attribute] if rule.attribute in pool.columns else pd.Series(np.nan, index=pool.index)
        if not values[scored_status].notna().any():
            notes.append(f"Rule {rule.name!r} skipped: no item for scored slots has a {rule.attribute} yet.")
            continue
        exclude(scored_status & values.isna(), f"without a {rule.attribute}")
        if isinstance(rule, ItemBoundRule):
            applicable_bounds.append(rule)
            outside = pd.Series(False, index=pool.index)
            if rule.lower is not None:
                outside |= values < rule.lower
            if rule.upper is not None:
                outside |= values > rule.upper
            exclude(scored_status & outside, f"with {rule.describe()} not met")
        else:
            applicable_means.append(rule)

    wanted = [t for t in (bp.information, bp.characteristic) if t is not None]
    has_irt = pool["a"].notna() & pool["b"].notna()
    targets: list[ResolvedTarget] = []
    if wanted:
        if not has_irt[scored_status].any():
            notes.append("Statistical targets skipped: no item for scored slots has IRT parameters yet "
                         "(calibrate, then assemble again).")
            wanted = []
        else:
            exclude(scored_status & ~has_irt, "without IRT parameters")
            eligibility_words += f"{', ' if eligibility_words else ''}with IRT parameters"
    pool["role"] = np.where(reason == "", role, "")
    pool["reason"] = reason
    scored = pool[pool["role"] == "scored"]
    pretest = pool[pool["role"] == "pretest"]
    reference_rows, reference_words = scored, f"{bp.exam.length} × the mean over eligible items"
    if wanted and bp.reference_form is not None:
        if reference_items is None:
            raise AssemblyError(f"The targets are relative to form {bp.reference_form}, but its items were not "
                                "given.")
        reference_rows = pool[pool["item_id"].isin(list(reference_items))]
        lacking = len(set(reference_items)) - int((reference_rows["a"].notna() & reference_rows["b"].notna()).sum())
        if reference_rows.empty or lacking:
            raise AssemblyError(f"The reference form {bp.reference_form} has {lacking or len(set(reference_items))} "
                                "item(s) without IRT parameters (or not in the bank); calibrate them first.")
        reference_words = (f"form {bp.reference_form}'s {len(reference_rows)} items"
                           + (f", rescaled to {bp.exam.length}" if len(reference_rows) != bp.exam.length else ""))
    for target in wanted:
        function = "characteristic" if not hasattr(target, "mode") else "information"
        theta = np.asarray(target.theta, dtype=float)
        matrix = _function_matrix(reference_rows, theta, function)  # (n_theta, n_reference_items)
        reference = bp.exam.length * matrix.mean(axis=1) if matrix.shape[1] else np.zeros(len(theta))
        mode = getattr(target, "mode", "target")
        values = np.asarray(target.values, dtype=float) if target.values else reference
        tolerance = values * target.tolerance if function == "information" else np.full(len(theta), target.tolerance)
        if not target.values:
            notes.append(f"{'Information' if function == 'information' else 'TCC'} "
                         f"{'weights' if mode == 'maximin' else 'targets'} at θ = "
                         f"{', '.join(f'{t:g}' for t in theta)}: "
                         f"{', '.join(f'{v:.2f}' for v in values)} ({reference_words}).")
        targets.append(ResolvedTarget(function, tuple(theta.tolist()), tuple(values.tolist()),
                                      tuple(tolerance.tolist()), mode))
    return PoolView(pool, scored, pretest, tuple(applicable_bounds), tuple(applicable_means), tuple(targets),
                    tuple(notes), eligibility_words)


def _function_matrix(items: pd.DataFrame, theta: np.ndarray, function: str) -> np.ndarray:
    """Item information or item P(θ) for each θ point: (n_theta, n_items). D is folded into the slope."""
    a = items["a"].to_numpy(float) * items["D"].fillna(1.0).to_numpy(float)
    b, c = items["b"].to_numpy(float), items["c"].fillna(0.0).to_numpy(float)
    if function == "information":
        return models.item_information(theta, a, b, c)
    return models.probability(theta, a, b, c)


# ---- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SolverStats:
    status: str  # optimal | time limit reached | infeasible | ...
    message: str
    objective: float | None
    bound: float | None  # the best dual (LP) bound HiGHS proved
    gap: float | None  # relative MIP gap at stop
    seconds: float
    n_variables: int
    n_constraints: int
    nodes: int | None


@dataclass(frozen=True)
class AssembledForm:
    name: str
    items: tuple[FormItem, ...]  # in order, 1-based positions

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(fi.item_id for fi in self.items)

    def draft(self) -> FormDraft:
        return FormDraft(self.name, self.item_ids, tuple(fi.is_pretest for fi in self.items))


@dataclass(frozen=True)
class AssemblyResult:
    blueprint_name: str
    blueprint_hash: str
    forms: tuple[AssembledForm, ...]
    solver: SolverStats
    verification: Verification
    targets: tuple[ResolvedTarget, ...] = ()
    notes: tuple[str, ...] = ()
    item_details: pd.DataFrame = field(default=None, compare=False, hash=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.verification.ok

    def to_frame(self) -> pd.DataFrame:
        """One row per item per form: form, position, item_id, version, is_pretest, area, key, ..."""
        rows = [(f.name, fi.position, fi.item_id, fi.version, fi.is_pretest) for f in self.forms for fi in f.items]
        frame = pd.DataFrame(rows, columns=["form", "position", "item_id", "version", "is_pretest"])
        if self.item_details is not None and len(frame):
            extra = [c for c in ("area", "primary_competency", "cognitive_level", "key", "p_value",
                                 "point_biserial", "a", "b", "c") if c in self.item_details.columns]
            frame = frame.merge(self.item_details[["item_id"] + extra], on="item_id", how="left")
        return frame

    def rules_frame(self) -> pd.DataFrame:
        """What every rule achieved on every form (the independent verification)."""
        return self.verification.to_frame()

    def summary(self) -> str:
        s = self.solver
        lines = [f"{len(self.forms)} form(s) from blueprint {self.blueprint_name!r}: solver {s.status} in "
                 f"{s.seconds:.2f} s (objective {_fmt(s.objective)}, bound {_fmt(s.bound)}, gap {_fmt(s.gap)}).",
                 f"Verification: {'every rule holds on every form' if self.ok else 'FAILED'}."]
        lines += [c.message for c in self.verification.failures]
        lines += list(self.notes)
        return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# ---- the model --------------------------------------------------------------------------------------------------


class _Model:
    """Sparse rows and extra columns for milp; with ``elastic`` every tagged row gets penalised slack."""

    def __init__(self, n_x: int, elastic: bool):
        self.n = n_x
        self.elastic = elastic
        self.scale = 1.0  # the objective is reported divided by this
        self.cost: list[float] = [0.0] * n_x
        self.col_lb: list[float] = [0.0] * n_x
        self.col_ub: list[float] = [1.0] * n_x
        self.integer: list[int] = [1] * n_x
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def column(self, lb=0.0, ub=np.inf, cost=0.0, integer=False) -> int:
        self.cost.append(cost)
        self.col_lb.append(lb)
        self.col_ub.append(ub)
        self.integer.append(int(integer))
        self.n += 1
        return self.n - 1

    def row(self, cols, coefs, lo=-np.inf, hi=np.inf, penalty: float | None = None) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        coefs = np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape)
        if self.elastic and penalty is not None:
            extra_c, extra_v = [], []
            if np.isfinite(lo):
                extra_c.append(self.column(cost=penalty))
                extra_v.append(1.0)
            if np.isfinite(hi):
                extra_c.append(self.column(cost=penalty))
                extra_v.append(-1.0)
            cols = np.concatenate([cols, extra_c]).astype(np.int64)
            coefs = np.concatenate([coefs, extra_v])
        index = len(self.lo)
        self.r.append(np.full(len(cols), index, dtype=np.int64))
        self.c.append(cols)
        self.v.append(np.asarray(coefs, dtype=float))
        self.lo.append(lo)
        self.hi.append(hi)

    def solve(self, time_limit: float, gap: float, log: bool = False):
        matrix = sparse.csr_array((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                                  shape=(len(self.lo), self.n))
        constraints = LinearConstraint(matrix, np.asarray(self.lo), np.asarray(self.hi))
        started = time.perf_counter()
        res = milp(np.asarray(self.cost), integrality=np.asarray(self.integer), bounds=Bounds(self.col_lb, self.col_ub),
                   constraints=constraints,
                   options={"time_limit": float(time_limit), "mip_rel_gap": float(gap), "disp": bool(log)})
        seconds = time.perf_counter() - started
        stats = SolverStats(
            status=_STATUS_TEXT.get(res.status, "solver error"), message=str(res.message),
            objective=None if res.x is None else float(res.fun) / self.scale,
            bound=None if getattr(res, "mip_dual_bound", None) is None else float(res.mip_dual_bound) / self.scale,
            gap=getattr(res, "mip_gap", None),
            seconds=seconds, n_variables=self.n, n_constraints=len(self.lo),
            nodes=getattr(res, "mip_node_count", None))
        return res, stats


def build_model(bp: Blueprint, view: PoolView, enemy_pairs, n_forms: int, *, elastic: bool = False,
                symmetry_breaking: bool = False, rng: np.random.Generator | None = None):
    """The MIP for ``n_forms`` forms over ``view``'s eligible items. Returns (model, items frame)."""
    items = pd.concat([view.scored, view.pretest], ignore_index=True)
    if rng is not None:  # a seed changes which of many equally good solutions HiGHS meets first
        items = items.iloc[rng.permutation(len(items))].reset_index(drop=True)
    n, F = len(items), n_forms
    scored = (items["role"] == "scored").to_numpy()
    model = _Model(n * F, elastic)
    idx = np.arange(n)

    def cols(mask_or_idx, f):
        sel = idx[mask_or_idx] if np.asarray(mask_or_idx).dtype == bool else np.asarray(mask_or_idx)
        return sel + f * n

    L, P = bp.exam.length, bp.exam.pretest_slots
    for f in range(F):
        model.row(cols(scored, f), 1.0, L, L, PENALTY["length"])
        model.row(cols(~scored, f), 1.0, P, P, PENALTY["pretest"])
        for rule in bp.active_counts:
            members = scored & items[rule.attribute].astype(str).isin(rule.values).to_numpy()
            lo = -np.inf if rule.lower is None else rule.lower
            hi = np.inf if rule.upper is None else rule.upper
            model.row(cols(members, f), 1.0, lo, hi, PENALTY["count"])
        for rule in view.means:
            values = items[rule.attribute].to_numpy(float)[scored]
            if rule.lower is not None:
                model.row(cols(scored, f), values - rule.lower, 0.0, np.inf, PENALTY["mean"])
            if rule.upper is not None:
                model.row(cols(scored, f), values - rule.upper, -np.inf, 0.0, PENALTY["mean"])

    if bp.enemies and enemy_pairs:
        position = pd.Series(idx, index=items["item_id"])
        pairs = [(position[a], position[b]) for a, b in enemy_pairs
                 if a in position.index and b in position.index and a != b]
        for i, j in sorted(set(tuple(sorted(p)) for p in pairs)):
            for f in range(F):
                model.row([i + f * n, j + f * n], 1.0, -np.inf, 1.0, PENALTY["enemies"])

    K = bp.max_overlap
    if F > 1 and K is not None:
        if K == 0:
            # Disjoint forms: one row per item is all it takes; no pairwise variables.
            for i in range(n):
                model.row(i + np.arange(F) * n, 1.0, -np.inf, 1.0, PENALTY["overlap"])
        elif K < L + P:
            for f in range(F):
                for g in range(f + 1, F):
                    w = [model.column(0.0, 1.0) for _ in range(n)]
                    for i in range(n):  # w ≥ x_if + x_ig − 1: w is 1 when item i is on both forms
                        model.row([i + f * n, i + g * n, w[i]], [1.0, 1.0, -1.0], -np.inf, 1.0)
                    model.row(w, 1.0, -np.inf, K, PENALTY["overlap"])

    if not elastic and view.targets:
        model.scale = OBJECTIVE_SCALE
        deviation = maximin = None
        has_maximin = any(t.mode == "maximin" for t in view.targets)
        for target in view.targets:
            matrix = _function_matrix(items, np.asarray(target.theta), target.function)
            matrix = np.where(scored[None, :], matrix, 0.0)
            for k in range(len(target.theta)):
                T, tol = target.values[k], target.tolerance[k]
                for f in range(F):
                    if target.mode == "maximin":
                        if maximin is None:
                            maximin = model.column(0.0, np.inf, cost=-OBJECTIVE_SCALE)
                        # T·t ≤ Σ I x ≤ T·t + tol: raise the floor, keep forms within tol of each other.
                        model.row(np.append(cols(scored, f), maximin), np.append(matrix[k, scored], -T), 0.0, tol)
                    else:
                        if deviation is None:
                            # With maximin the TCC bands are hard (d fixed at 0): a soft band mixed into
                            # "−t" would make the relative gap meaningless (the objective nears zero).
                            deviation = model.column(0.0, 0.0 if has_maximin else np.inf, cost=OBJECTIVE_SCALE)
                            if not has_maximin:
                                # The floor: a column fixed at 1 costs 1, so the objective is 1 + d and a
                                # relative gap g stops the solver once forms are within g tolerances of band.
                                model.column(1.0, 1.0, cost=OBJECTIVE_SCALE)
                        excess = deviation
                        row_cols = np.append(cols(scored, f), excess)
                        model.row(row_cols, np.append(matrix[k, scored], -tol), -np.inf, T + tol)
                        model.row(row_cols, np.append(matrix[k, scored], tol), T - tol, np.inf)

    if TIE_BREAK and (not elastic) and view.targets:
        # A tiny cost on each x (total < half the gap on the floor of 1) gives the LP relaxation a vertex
        # optimum — few fractional variables, so HiGHS's rounding heuristics find in-band forms quickly —
        # and prefers less-exposed items. It cannot change which forms count as good enough.
        tie_rng = rng if rng is not None else np.random.default_rng(0)
        exposure = items["exposure_count"].to_numpy(float)
        # Weights in [0.5, 1]: none so small that HiGHS's dual tolerance would read it as zero. They differ
        # by form, so the LP's favourite items differ by form and overlap caps are rarely in the way.
        spread = exposure / (1.0 + exposure.max())
        scale = OBJECTIVE_SCALE * TIE_BREAK / (F * (L + P))
        for f in range(F):
            base = 0.5 + (tie_rng.random(n) + spread) / 4.0
            model.cost[f * n:(f + 1) * n] = (base * scale).tolist()

    if symmetry_breaking and F > 1:
        weights = (idx + 1.0) / n  # distinct weights: any labelling of forms can be sorted by Σ w x
        for f in range(F - 1):
            model.row(np.concatenate([idx + f * n, idx + (f + 1) * n]),
                      np.concatenate([weights, -weights]), 0.0, np.inf)
    return model, items


# ---- assembly ---------------------------------------------------------------------------------------------------


def _order_items(bp: Blueprint, chosen: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    if bp.order == "random":
        return chosen.iloc[rng.permutation(len(chosen))]
    if bp.order == "area":
        area_order = {}
        for rule in bp.counts:
            if rule.attribute == "area":
                for code in rule.values:
                    area_order.setdefault(code, len(area_order))
        rank = chosen["area"].map(lambda a: area_order.get(a, len(area_order)))
        return chosen.assign(_rank=rank).sort_values(["_rank", "area", "item_id"]).drop(columns="_rank")
    return chosen.sort_values("item_id")


def form_names(name: str, n_forms: int) -> list[str]:
    """"<name> A", "<name> B", ... (numbers beyond 26 forms)."""
    return [f"{name} {chr(ord('A') + f)}" if n_forms <= 26 else f"{name} {f + 1}" for f in range(n_forms)]


def assemble(
    blueprint: Blueprint,
    pool: pd.DataFrame,
    enemy_pairs: Sequence[tuple[str, str]] = (),
    *,
    n_forms: int = 1,
    seed: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    gap: float = DEFAULT_GAP,
    recent_forms: Sequence[str] = (),
    name: str | None = None,
    reference_items: Sequence[str] | None = None,
    symmetry_breaking: bool = False,
    log: bool = False,
) -> AssemblyResult:
    """Build ``n_forms`` forms meeting ``blueprint`` from ``pool`` (the frame of ``Bank.item_pool()``).

    ``recent_forms`` lists form ids newest first (for ``exclude_last_forms``); ``reference_items`` are the
    scored items of the reference form when ``targets.reference = "form:<id>"``. Raises AssemblyError with plain
    sentences when the bank cannot supply the forms (counting check) or the rules conflict (elastic re-solve).
    The result always carries :func:`verify_forms`' independent check of every rule.
    """
    from .diagnose import counting_shortfalls, explain_violations

    if n_forms < 1:
        raise AssemblyError("the number of forms must be at least 1")
    view = eligible_pool(blueprint, pool, recent_forms, reference_items)
    shortfalls = counting_shortfalls(blueprint, view, n_forms)
    if shortfalls:
        raise AssemblyError("The bank cannot supply these forms:\n" + "\n".join(shortfalls))
    rng = np.random.default_rng(seed)
    names = form_names(name or blueprint.exam.name, n_forms)
    model, items = build_model(blueprint, view, enemy_pairs, n_forms, symmetry_breaking=symmetry_breaking,
                               rng=None if seed is None else rng)
    res, stats = model.solve(time_limit, gap, log)
    if res.x is None:
        if res.status == 2:
            elastic, e_items = build_model(blueprint, view, enemy_pairs, n_forms, elastic=True,
                                           symmetry_breaking=False)
            e_res, _ = elastic.solve(time_limit, gap)
            if e_res.x is None:
                raise AssemblyError("The blueprint's rules cannot all hold together, and the diagnostic re-solve "
                                    f"found no answer within {time_limit:g} s.")
            drafts = _extract(blueprint, e_res.x, e_items, n_forms, names, rng)
            check = verify_forms(blueprint, view.pool, [d.draft() for d in drafts], enemy_pairs,
                                 recent_forms=recent_forms)
            raise AssemblyError("The blueprint's rules cannot all hold together. The closest forms bend them "
                                "like this:\n" + "\n".join(explain_violations(check)))
        raise AssemblyError(f"No forms found: the solver stopped ({stats.status}) after {stats.seconds:.1f} s "
                            "without a feasible answer; allow more time (--time-limit).")
    forms = _extract(blueprint, res.x, items, n_forms, names, rng)
    verification = verify_forms(blueprint, view.pool, [f.draft() for f in forms], enemy_pairs,
                                recent_forms=recent_forms, targets=view.targets)
    notes = list(view.notes)
    if stats.status != "optimal":
        notes.append(f"The solver stopped at its time limit with gap {_fmt(stats.gap)}; forms are feasible but "
                     "may not be the most parallel possible.")
    return AssemblyResult(blueprint.exam.name, blueprint.hash(), tuple(forms), stats, verification,
                          view.targets, tuple(notes), item_details=view.pool)


def _extract(bp: Blueprint, x: np.ndarray, items: pd.DataFrame, n_forms: int, names: list[str],
             rng: np.random.Generator) -> list[AssembledForm]:
    n = len(items)
    order_rng = np.random.default_rng(bp.order_seed) if bp.order_seed is not None else rng
    forms = []
    for f in range(n_forms):
        chosen = items[x[f * n:(f + 1) * n] > 0.5]
        chosen = _order_items(bp, chosen, order_rng)
        forms.append(AssembledForm(names[f], tuple(
            FormItem(position=p + 1, item_id=row.item_id, version=int(row.version), is_pretest=row.role == "pretest")
            for p, row in enumerate(chosen.itertuples(index=False)))))
    return forms
