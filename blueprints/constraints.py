"""The joint mixed-integer program for N parallel forms, solved by HiGHS via ``scipy.optimize.milp``.

Decision variables (van der Linden 2005, *Linear Models for Optimal Test Design*, ch. 6 "multiple forms"):
x[i, f] = 1 when eligible item i is on form f. For every form f:

    Σ_{i scored} x[i,f] = L,   Σ_{i pretest} x[i,f] = P                         (length, pretest slots)
    lower_r ≤ Σ_{i ∈ S_r} x[i,f] ≤ upper_r                 for each count rule r (content, keys, levels)
    Σ_i (v_i − lower_m) x[i,f] ≥ 0,  Σ_i (v_i − upper_m) x[i,f] ≤ 0     for each mean rule m (mean P)
    x[i,f] + x[j,f] ≤ 1                                      for each enemy pair (i, j)
    Σ_{i on recent form r} x[i,f] ≤ K_recent            for each of the N most recent published forms r
    Σ_f x[i,f] ≤ max_exposure + 1 − exposure_i             (exposure cap across the run's forms)
anchor block with a reference form R (A = R's scored items with parameters and statistics), for each form f,
with z continuous in [0, 1] (the rows are an interval system over a partition of A plus one total, so the
matrix is totally unimodular and an integral block exists whenever a fractional one does):
    z[i,f] ≤ x[i,f],   Σ_{i∈A} z[i,f] ≥ m,   lo_a ≤ Σ_{i∈A∩a} z[i,f] ≤ hi_a  (Kolen & Brennan 2014, §8.1)
common block within a run: z[i] ≤ x[i,f] for every form f, Σ z ≥ m, the same area bounds;
overlap between new forms:
    K = 0:   Σ_f x[i,f] ≤ 1 for each item (no extra variables);
    K > 0:   w[i,f,g] ≥ x[i,f] + x[i,g] − 1 (w continuous in [0, 1]) and Σ_i w[i,f,g] ≤ K for f < g;
             with a common block, w[i,f,g] ≥ x[i,f] + x[i,g] − 1 − z[i] and Σ_i w[i,f,g] + Σ_i z[i] ≤ K (the
             block counted directly, w only beyond it: the same forms, a much tighter relaxation; see
             ``_pairwise_overlap``).
statistical targets (soft; van der Linden 2005, eq. 5.19 minimax deviation; TestDesign's ``obj_tol``):
with target T_k and absolute tolerance δ_k at θ_k, and d ≥ 0 the worst excess beyond the band, in
tolerances,

    T_k − δ_k − δ_k·d ≤ Σ_i v_k(i) x[i,f] ≤ T_k + δ_k + δ_k·d,     minimise 1 + d

The constant 1 is the floor: every set of forms inside its bands is optimal (it meets the LP bound), and a
relative gap g lets the solver stop once no form is more than g tolerances outside its band, instead of
chasing an exact hit. A tiny tie-break cost on x (total ≤ TIE_BREAK, random by seed and form, plus exposure) makes the
LP relaxation's optimum a vertex with few fractional values, which is what lets HiGHS's rounding find
in-band forms at the root (measured on the soft model: 1–4 s instead of 10–40 s on the 1,000-item benchmark).
Feasibility first (``_Model.solve_in_band_first``): d is fixed at 0, so every band is hard and the first
solution HiGHS finds is optimal up to the tie-break; the soft model runs only when that finds nothing. With
the soft objective HiGHS's rounding lands 10–50% above the bound and a sub-MIP does the rest; with hard bands
the rounding or the first sub-MIP stops the search (measured: one form from 4,000 items 0.7 s →
0.2 s).
maximin: R_k·t ≤ Σ_i I_k(i) x[i,f] ≤ R_k·t + δ_k, maximise t (R_k the reference information; δ_k keeps
forms parallel); any TCC band is then a hard constraint (d = 0), so the gap is the gap on t.
Symmetry: forms are interchangeable, so every solution has N! relabelled copies. HiGHS detects such
symmetry (orbitopes), and the tie-break costs differ by form, which gives the copies different costs so
bounding prunes them; several forms without targets (a pure feasibility model) get the same tie-break, and
their reported objective is the tie-break alone (≤ TIE_BREAK). An explicit ordering Σ_i w_i x[i,f] ≥ Σ_i w_i x[i,f+1] is available
(``symmetry_breaking``) but measured slower (bench/assembly.py).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .model import Blueprint, anchor_area_bounds
from .pool import PoolView, function_matrix

#: Elastic re-solve penalties per unit of slack: length and enemies (security) bend last, then content, then
#: overlap. An enemy pair costs more than moving one item between two content areas (2 × 100).
PENALTY = {"length": 1000.0, "pretest": 1000.0, "count": 100.0, "enemies": 500.0, "mean": 100.0,
           "overlap": 10.0, "recent": 10.0, "exposure": 50.0, "anchor": 100.0}
#: Target costs are multiplied by this (and reported divided by it) so the per-item tie-break costs stay well
#: above HiGHS's dual feasibility tolerance (1e-7); the relative gap does not depend on it.
OBJECTIVE_SCALE = 1000.0
#: Share of the time limit the in-band-first attempt may use before the soft model is solved.
IN_BAND_SHARE = 0.25
#: Total tie-break cost on item choices, well under the 1% gap on an objective floored at 1 (see build_model).
TIE_BREAK = 0.004
#: Count a run's common block against the pairwise overlap budget by its own columns (``_pairwise_overlap``);
#: False gives the plain rows, kept for bench/assembly.py's comparison.
BLOCK_IN_OVERLAP = True
#: HiGHS settings for every model here. Presolve finds almost nothing to remove (a few rows of a model that is
#: already tight) but its probing costs 1–2 s at 4,000 items (one form at 4,000 items: 2.8 s → 0.8 s without it);
#: the feasibility-jump heuristic never found a usable start on these models and costs 0.1–0.4 s before the
#: root. Measured with bench/assembly.py for every method, so the one-form peer gets the same gain.
HIGHS_OPTIONS = {"presolve": False, "mip_heuristic_run_feasibility_jump": False}
_STATUS_TEXT = {0: "optimal", 1: "time limit reached", 2: "infeasible", 3: "unbounded", 4: "solver error"}


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
    method: str = "joint"  # "joint" (one MIP for all forms) or "two-stage" (decompose.py: union, then split)


class _Model:
    """Sparse rows and extra columns for milp; with ``elastic`` every tagged row gets penalised slack."""

    def __init__(self, n_x: int, elastic: bool):
        self.n = n_x
        self.elastic = elastic
        self.scale = 1.0  # the objective is reported divided by this
        self.deviation: int | None = None  # the column d of soft target bands (None: no soft targets)
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

    def matrix(self) -> sparse.csr_array:
        return sparse.csr_array((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                                shape=(len(self.lo), self.n))

    def rows(self, cols: np.ndarray, coefs, lo, hi, penalty: float | None = None) -> None:
        """Many rows of the same width at once: row k holds columns cols[k] (lo and hi per row or shared)."""
        cols = np.asarray(cols, dtype=np.int64)
        k = len(cols)
        lo, hi = np.broadcast_to(np.asarray(lo, float), (k,)), np.broadcast_to(np.asarray(hi, float), (k,))
        if self.elastic and penalty is not None or k == 0:  # each row needs its own slack columns
            for c, a, b in zip(cols, lo, hi):
                self.row(c, coefs, a, b, penalty)
            return
        first = len(self.lo)
        self.r.append(np.repeat(np.arange(first, first + k, dtype=np.int64), cols.shape[1]))
        self.c.append(cols.ravel())
        self.v.append(np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape).ravel().copy())
        self.lo.extend(lo.tolist())
        self.hi.extend(hi.tolist())

    def solve_in_band_first(self, time_limit: float, gap: float, log: bool = False):
        """Feasibility first: with d fixed at 0 every band is hard and any solution HiGHS finds is optimal up to
        the tie-break (the floor), so it may stop at the first one (gap 100%); only when that finds nothing within
        IN_BAND_SHARE of the time limit (the bands cannot all hold, or not quickly) is the soft model solved.
        Measured: the three splits of 4 forms from 1,000 items 0.21 s → 0.05 s, one form from 4,000 items
        0.7 s → 0.2 s; with the soft objective the root rounding lands 10–50% above the bound and leaves the
        rest to a sub-MIP."""
        d = self.deviation
        if d is None:
            return self.solve(time_limit, gap, log)
        self.col_ub[d] = 0.0
        try:
            res, first = self.solve(time_limit * IN_BAND_SHARE, 1.0, log)
        finally:
            self.col_ub[d] = np.inf
        if res.x is not None:
            # HiGHS's bound is for the model with hard bands, a restriction. For the soft model the floor is a
            # proven bound: d ≥ 0 and every cost is ≥ 0, so no set of forms costs less than 1. The gap is then
            # at most the tie-break (TIE_BREAK).
            return res, replace(first, bound=1.0, gap=(first.objective - 1.0) / first.objective)
        res, stats = self.solve(max(time_limit - first.seconds, 1.0), gap, log)
        return res, replace(stats, seconds=stats.seconds + first.seconds,
                            nodes=None if stats.nodes is None or first.nodes is None else stats.nodes + first.nodes)

    def solve(self, time_limit: float, gap: float, log: bool = False, highs: dict | None = None):
        matrix = self.matrix()
        constraints = LinearConstraint(matrix, np.asarray(self.lo), np.asarray(self.hi))
        options = {"time_limit": float(time_limit), "mip_rel_gap": float(gap), "disp": bool(log), **HIGHS_OPTIONS}
        options.update(highs or {})
        started = time.perf_counter()
        with warnings.catch_warnings():
            # milp passes options it does not know to HiGHS verbatim, with a warning that they are not its own.
            warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
            res = milp(np.asarray(self.cost), integrality=np.asarray(self.integer),
                       bounds=Bounds(self.col_lb, self.col_ub), constraints=constraints, options=options)
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
                symmetry_breaking: bool = False, rng: np.random.Generator | None = None,
                copies: int | tuple[int, ...] = 1, band: float = 1.0):
    """The MIP for ``n_forms`` forms over ``view``'s eligible items. Returns (model, items frame).

    ``copies`` (one number, or one per form) builds the models of the two-stage decomposition
    (``decompose.py``): a "form" f with copies c_f > 1 stands for c_f disjoint forms, so every per-form bound
    on it is times c_f (length, pretest, counts, recent-form overlap, targets), its target bands are narrowed
    to ``band`` of their width (so it can still be split into c_f forms that are each within band), and it
    has no enemy rows (a pair in it can go to different forms).
    """
    copies = (copies,) * n_forms if isinstance(copies, int) else tuple(copies)
    if len(copies) != n_forms:
        raise ValueError("copies needs one number per form")
    if max(copies) > 1 and (bp.max_overlap != 0 and n_forms > 1 or bp.anchor.active
                            or any(t.mode == "maximin" for t in view.targets)):
        raise ValueError("forms standing for several forms need disjoint forms without anchors or maximin")
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
        model.row(cols(scored, f), 1.0, L * copies[f], L * copies[f], PENALTY["length"])
        model.row(cols(~scored, f), 1.0, P * copies[f], P * copies[f], PENALTY["pretest"])
        for rule in bp.active_counts:
            members = scored & items[rule.attribute].astype(str).isin(rule.values).to_numpy()
            lo = -np.inf if rule.lower is None else rule.lower * copies[f]
            hi = np.inf if rule.upper is None else rule.upper * copies[f]
            model.row(cols(members, f), 1.0, lo, hi, PENALTY["count"])
        for rule in view.means:
            values = items[rule.attribute].to_numpy(float)[scored]
            if rule.lower is not None:
                model.row(cols(scored, f), values - rule.lower, 0.0, np.inf, PENALTY["mean"])
            if rule.upper is not None:
                model.row(cols(scored, f), values - rule.upper, -np.inf, 0.0, PENALTY["mean"])

    if bp.enemies and enemy_pairs:
        position = dict(zip(items["item_id"], idx.tolist()))
        pairs = [(position[a], position[b]) for a, b in enemy_pairs if a in position and b in position and a != b]
        pairs = np.asarray(sorted(set(tuple(sorted(p)) for p in pairs)), dtype=np.int64).reshape(-1, 2)
        for f in (f for f in range(F) if copies[f] == 1):
            model.rows(pairs + f * n, 1.0, -np.inf, 1.0, PENALTY["enemies"])

    _across_years(bp, view, items, model, F, cols, copies)
    common = _anchor_blocks(bp, view, items, model, F)

    K = bp.max_overlap
    if F > 1 and K is not None:
        if K == 0:
            # Disjoint forms: one row per item is all it takes; no pairwise variables.
            model.rows(idx[:, None] + np.arange(F)[None, :] * n, 1.0, -np.inf, 1.0, PENALTY["overlap"])
        elif K < L + P:
            _pairwise_overlap(model, n, F, K, common if BLOCK_IN_OVERLAP else None)

    if not elastic and view.targets:
        model.scale = OBJECTIVE_SCALE
        deviation = maximin = None
        has_maximin = any(t.mode == "maximin" for t in view.targets)
        calibrated = (items["a"].notna() & items["b"].notna()).to_numpy(float)
        for target in view.targets:
            matrix = function_matrix(items, np.asarray(target.theta), target.function)
            matrix = np.where(scored[None, :], matrix, 0.0)
            for k in range(len(target.theta)):
                for f in range(F):
                    c = copies[f]
                    T, tol = target.values[k] * c, target.tolerance[k] * c * (band if c > 1 else 1.0)
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
                            model.deviation = None if has_maximin else deviation
                            if not has_maximin:
                                # The floor: a column fixed at 1 costs 1, so the objective is 1 + d and a
                                # relative gap g stops the solver once forms are within g tolerances of band.
                                model.column(1.0, 1.0, cost=OBJECTIVE_SCALE)
                        excess = deviation
                        row_cols = np.append(cols(scored, f), excess)
                        if target.per_item:
                            # Items without parameters are not in the sum, so the band scales with the
                            # calibrated items n on the form: (T − δ)·n/L ≤ Σ I x ≤ (T + δ)·n/L, linear in x.
                            has = calibrated[scored]
                            v = matrix[k, scored]
                            model.row(row_cols, np.append(v - has * (T + tol) / (L * c), -tol), -np.inf, 0.0)
                            model.row(row_cols, np.append(v - has * (T - tol) / (L * c), tol), 0.0, np.inf)
                            continue
                        model.row(row_cols, np.append(matrix[k, scored], -tol), -np.inf, T + tol)
                        model.row(row_cols, np.append(matrix[k, scored], tol), T - tol, np.inf)

    # Without targets the model is a pure feasibility problem, and for several interchangeable forms HiGHS's
    # LP then stops at a highly fractional, symmetric point; the same tie-break costs (different by form) make
    # its optimum a vertex and give relabelled copies different costs (3 sample forms: 0.8 s → 0.3 s,
    # bench/assembly.py). One form and the two-stage splits keep the zero objective.
    feasibility_tie = not view.targets and F > 1 and max(copies) == 1
    if feasibility_tie and TIE_BREAK and not elastic:
        model.scale = OBJECTIVE_SCALE  # the reported objective is then the tie-break alone, ≤ TIE_BREAK
    if TIE_BREAK and (not elastic) and (view.targets or feasibility_tie):
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



def _across_years(bp: Blueprint, view: PoolView, items: pd.DataFrame, model: _Model, F: int, cols,
                  copies: tuple[int, ...]) -> None:
    """Overlap with recent published forms, and the exposure cap counted over the run's forms."""
    K = bp.max_shared_with_recent
    if K is not None:
        for earlier in view.earlier_forms[: bp.recent_forms]:
            on_it = items["item_id"].isin(set(earlier.item_ids)).to_numpy()
            for f in range(F):
                if on_it.sum() > K * copies[f]:  # otherwise the row can never bind
                    model.row(cols(on_it, f), 1.0, -np.inf, K * copies[f], PENALTY["recent"])
    cap = bp.eligibility.max_exposure
    if cap is not None and F > 1:
        # Eligible items have exposure ≤ cap; once the run is published none may exceed cap + 1 forms.
        room = cap + 1 - items["exposure_count"].to_numpy(float)
        n = len(items)
        tight = np.flatnonzero(room < F)
        model.rows(tight[:, None] + np.arange(F)[None, :] * n, 1.0, -np.inf, np.maximum(room[tight], 0.0),
                   PENALTY["exposure"])


def _pairwise_overlap(model: _Model, n: int, F: int, K: int, common: dict[int, int] | None) -> None:
    """At most K items shared by each pair of forms f < g (van der Linden 2005, §6.3 item overlap):
    w[i,f,g] ≥ x[i,f] + x[i,g] − 1 with w continuous in [0, 1] and Σ_i w[i,f,g] ≤ K.

    With a common block (``common``: item → its column z_i, z_i ≤ x[i,f] on every form) the block's items are
    on both forms of every pair, so they are counted by z directly and w only counts sharing beyond the block:
    w[i,f,g] ≥ x[i,f] + x[i,g] − 1 − z_i and Σ_i w[i,f,g] + Σ_i z_i ≤ K. For integral x this is the same
    rule (z_i > 0 only for an item on all forms, where w + z then covers its one shared slot), but the LP
    relaxation is much tighter: with the plain rows x = z = ½ gives w = 0, so the relaxation never sees that
    the block uses up most of the budget (a block of 24 under K = 30 leaves 6 items per pair), and branching
    has to find it out. It is also the same row count, so nothing is added (a separate row w ≥ z per item and
    pair does the same in the relaxation with n·C(F, 2) more rows and was slower: 1.3–1.8 s against
    0.7–0.9 s over 6 seeds on 3 sample forms without the tie-break, where the plain rows took 5–58 s;
    bench/assembly.py compares the plain rows, ``BLOCK_IN_OVERLAP = False``)."""
    for f in range(F):
        for g in range(f + 1, F):
            w = [model.column(0.0, 1.0) for _ in range(n)]
            for i in range(n):  # w ≥ x_if + x_ig − 1 (− z_i): w is 1 when item i is on both forms (beyond the block)
                z = None if common is None else common.get(i)
                if z is None:
                    model.row([i + f * n, i + g * n, w[i]], [1.0, 1.0, -1.0], -np.inf, 1.0)
                else:
                    model.row([i + f * n, i + g * n, w[i], z], [1.0, 1.0, -1.0, -1.0], -np.inf, 1.0)
            block = [] if common is None else list(common.values())
            model.row(w + block, 1.0, -np.inf, K, PENALTY["overlap"])


def _anchor_blocks(bp: Blueprint, view: PoolView, items: pd.DataFrame, model: _Model, F: int
                   ) -> dict[int, int] | None:
    """The anchor block with the reference form, per form, and the common block of the run (see the module
    docstring): continuous z ≤ x, a total of at least m, proportional area bounds. Returns the common block's
    columns (item index → z column) for the overlap rows, or None without a common block."""
    anchor = bp.anchor
    if not anchor.active:
        return None
    n, m = len(items), anchor.min_items
    bounds = anchor_area_bounds(bp)
    scored = (items["role"] == "scored").to_numpy()
    areas = items["area"].to_numpy()

    def block(members: np.ndarray, forms: list[int]) -> list[int]:
        z = [model.column(0.0, 1.0) for _ in members]
        for zi, i in zip(z, members):
            for f in forms:
                model.row([zi, i + f * n], [1.0, -1.0], -np.inf, 0.0)
        model.row(z, 1.0, m, np.inf, PENALTY["anchor"])
        for code, (lo, hi) in bounds.items():
            inside = [zi for zi, i in zip(z, members) if areas[i] == code]
            model.row(inside, 1.0, lo, hi, PENALTY["anchor"])
        return z

    if anchor.reference and view.anchor_form is not None:
        members = np.flatnonzero(scored & items["item_id"].isin(view.anchor_ids).to_numpy())
        for f in range(F):
            block(members, [f])
    if anchor.shared_within_run and F > 1:
        members = np.flatnonzero(scored)
        return dict(zip(members.tolist(), block(members, list(range(F)))))
    return None
