"""Two-stage assembly of N disjoint forms: choose the union of their items, then split it into N forms.

The joint model (``constraints.py``) has n·N binaries, a row per item and N interchangeable copies of every
rule, so its LP relaxation is symmetric, its vertex has many fractional values, and HiGHS spends its time in
sub-MIPs (measured with the soft objective: 1,000 items and 4 forms 1.8 s, 4,000 items 12 s, against 0.6 s
and 8 s for four one-form MIPs in a row). For disjoint forms (overlap cap K = 0) the problem separates into
models with one binary per item. Stage 1 is the "dummy" form of van der Linden & Adema (1998, "Simultaneous
assembly of multiple test forms", *Journal of Educational Measurement* 35, 185–198), which stands for all
forms not yet assembled with their counts and targets summed, taken here for all N forms at once; instead of
peeling one real form off it at a time and re-solving over the whole pool (their method), stage 2 splits it
into the N forms.

Stage 1 (``build_model(..., copies=N, band=UNION_BAND)``): n binaries, length N·L (and N·P pretest items),
every count rule times N, the recent-form cap times N, mean rules unchanged (they are homogeneous), and each
target band N·T ± N·δ narrowed to UNION_BAND of its width. Every set of N forms that meets the rules has a
union that meets these rows (sum the per-form rows), except for the narrowed bands, which are soft; so a
stage-1 infeasibility proves the forms infeasible. The narrowing leaves room for stage 2: the union's average
form is within half a tolerance of target, so it can be divided into forms that are each within band.

Stage 2 halves the union recursively (recursive bisection): a group standing for a forms is split into ⌊a/2⌋
and ⌈a/2⌉ forms' worth, each side with its counts and (narrowed, unless it is one form) bands times its number
of forms, and enemy rows on a side that is a single form. A split is a partition, so it needs one binary per
item: the two-"form" model with x[i,1] = 1 − x[i,0] substituted (``complemented``). N forms take N − 1
splits of N·L, N·L/2, … items (4 forms from 1,000 items: 480 + 240 + 240 binaries instead of the joint
model's 4,000).

Every model is solved in-band first (``_Model.solve_in_band_first``: bands hard, stop at the first solution),
the soft model only when that finds nothing. Measured (bench/assembly.py): 4 forms from 1,000 items 0.06–0.09 s
of solver time, 4 from 4,000 items 0.3 s; whole ``assemble`` calls 0.71 and 0.56 × the time of one-form
MIPs in a row.

Not covered, and solved by the joint model: one form, overlap K > 0 or no cap, anchor blocks (reference and
common), and maximin targets. When a split finds no forms, or none inside every band within the gap, the
joint model runs (with the time left), so the decomposition never returns worse forms than the joint model
would have accepted; only its speed differs. A pair of enemies can make a split impossible (three mutual
enemies in a union for two forms); the fallback covers that too.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse

from .constraints import TIE_BREAK, SolverStats, _Model, build_model
from .model import Blueprint
from .pool import PoolView

#: Stage 1 aims the union's sums at the middle half of each N-fold band (see the module docstring).
UNION_BAND = 0.5
#: The splits' relative gap, as a fraction of the caller's (see two_stage).
SPLIT_GAP = 0.1
#: Stage 2 always gets at least this many seconds, even when stage 1 used the whole time limit.
MIN_SPLIT_SECONDS = 5.0


@dataclass(frozen=True)
class TwoStage:
    """What the decomposition produced: forms (``x`` over ``items``, as from the joint model), or why not."""

    x: np.ndarray | None
    items: object  # the stage-2 items frame (pd.DataFrame) when x is set
    stats: SolverStats | None
    note: str
    infeasible: bool = False  # stage 1 proved that no N forms meet the hard rules
    seconds: float = 0.0  # time spent, also when it gave up


def not_covered(bp: Blueprint, view: PoolView, n_forms: int) -> str | None:
    """Why the two-stage method does not apply (the joint model then runs), or None when it does."""
    if n_forms < 2:
        return "one form"
    if bp.max_overlap != 0:
        return "forms may share items"
    if bp.anchor.active:
        return "anchor blocks"
    if any(t.mode == "maximin" for t in view.targets):
        return "maximin targets"
    return None


def two_stage(bp: Blueprint, view: PoolView, enemy_pairs, n_forms: int, *, rng: np.random.Generator | None,
              time_limit: float, gap: float, log: bool = False) -> TwoStage:
    """Stage 1 (the union) then stage 2 (the splits); see the module docstring."""
    started = time.perf_counter()

    def gave_up(why: str, infeasible: bool = False) -> TwoStage:
        return TwoStage(None, None, None, why, infeasible=infeasible, seconds=time.perf_counter() - started)

    union, items = build_model(bp, view, enemy_pairs, 1, copies=n_forms, band=UNION_BAND, rng=rng)
    res, stats = union.solve_in_band_first(time_limit, gap, log)
    runs = [stats]
    if res.x is None:
        return gave_up(f"stage 1 found no union ({stats.status})", infeasible=stats.status == "infeasible")
    items = items[res.x[:len(items)] > 0.5].reset_index(drop=True)
    position = pd.Series(np.arange(len(items)), index=items["item_id"])
    groups = [(np.arange(len(items)), n_forms)]  # (rows of ``items``, forms they stand for); leaves stand for 1
    while any(a > 1 for _, a in groups):
        k = next(k for k, (_, a) in enumerate(groups) if a > 1)
        rows, a = groups[k]
        b = a // 2
        chosen = set(items["item_id"].iloc[rows])
        part = replace(view, scored=view.scored[view.scored["item_id"].isin(chosen)],
                       pretest=view.pretest[view.pretest["item_id"].isin(chosen)])
        model, part_items = build_model(bp, part, enemy_pairs, 2, copies=(b, a - b), band=UNION_BAND, rng=rng)
        m = len(part_items)
        left = max(time_limit - (time.perf_counter() - started), MIN_SPLIT_SECONDS)
        res, stats = complemented(model, m).solve_in_band_first(left, gap * SPLIT_GAP, log)
        runs.append(stats)
        if res.x is None:
            return gave_up(f"stage 2 could not split {a} forms' items ({stats.status})")
        if view.targets and stats.objective > (1.0 + TIE_BREAK) / (1.0 - gap):
            return gave_up(f"stage 2's best split of {a} forms' items is {stats.objective - 1:.3g} tolerances "
                           "outside a band")
        first = res.x[:m] > 0.5
        sides = [position[part_items["item_id"][side]].to_numpy() for side in (first, ~first)]
        groups[k:k + 1] = [(sides[0], b), (sides[1], a - b)]
    x = np.zeros(len(items) * n_forms)
    for f, (rows, _) in enumerate(groups):
        x[f * len(items) + rows] = 1.0
    return TwoStage(x, items, _combined(runs), _note(runs, len(items), n_forms),
                    seconds=time.perf_counter() - started)


def _combined(runs: list[SolverStats]) -> SolverStats:
    """One SolverStats for all the MIPs: times, sizes and nodes add up; the status is the first that is not
    optimal; objective, bound and gap are those of the split with the largest objective (the worst form)."""
    worst = max(runs[1:], key=lambda r: r.objective or 0.0)
    return SolverStats(
        status=next((r.status for r in runs if r.status != "optimal"), "optimal"),
        message="; ".join(r.message for r in runs[:2]) + ("; …" if len(runs) > 2 else ""),
        objective=worst.objective, bound=worst.bound, gap=worst.gap, seconds=sum(r.seconds for r in runs),
        n_variables=sum(r.n_variables for r in runs), n_constraints=sum(r.n_constraints for r in runs),
        nodes=None if any(r.nodes is None for r in runs) else sum(r.nodes for r in runs), method="two-stage")


def _note(runs: list[SolverStats], n_items: int, n_forms: int) -> str:
    split = sum(r.seconds for r in runs[1:])
    return (f"Two-stage assembly (disjoint forms): stage 1 chose the {n_items} items of the {n_forms} forms "
            f"({runs[0].seconds:.2f} s), stage 2 split them in {len(runs) - 1} MIPs ({split:.2f} s); objective, "
            "bound and gap are those of the split with the largest objective.")


def complemented(model: _Model, n_items: int) -> _Model:
    """The two-form model with x[i,1] = 1 − x[i,0] substituted: n_items binaries instead of 2·n_items.

    For a partition of the items between two forms (both lengths together equal to the items), this is the
    same problem: a row a0·x0 + a1·x1 in [lo, hi] becomes (a0 − a1)·x0 in [lo − Σa1, hi − Σa1], and the
    rows Σ_f x[i,f] ≤ 1 become empty and are dropped. The constant part of the cost sits on a column fixed
    at 1, so the objective is the same number.
    """
    n = n_items
    a = model.matrix().tocsc()
    a1 = a[:, n:2 * n]
    shift = np.asarray(a1.sum(axis=1)).ravel()
    folded = sparse.hstack([a[:, :n] - a1, a[:, 2 * n:]], format="csr")
    lo, hi = np.asarray(model.lo) - shift, np.asarray(model.hi) - shift
    # An empty row is dropped only when 0 satisfies it; one that 0 breaks stays, so HiGHS reports infeasible.
    keep = (np.diff(folded.indptr) > 0) | (lo > 1e-9) | (hi < -1e-9)
    folded = folded[keep].tocoo()
    out = _Model(n, False)
    out.scale = model.scale
    if model.deviation is not None:
        out.deviation = model.deviation - n if model.deviation >= 2 * n else None
    cost = np.asarray(model.cost)
    out.cost = (cost[:n] - cost[n:2 * n]).tolist() + model.cost[2 * n:]
    out.col_lb, out.col_ub = model.col_lb[:n] + model.col_lb[2 * n:], model.col_ub[:n] + model.col_ub[2 * n:]
    out.integer = model.integer[:n] + model.integer[2 * n:]
    out.n = len(out.cost)
    out.column(1.0, 1.0, cost=float(cost[n:2 * n].sum()))
    out.r, out.c, out.v = [folded.row.astype(np.int64)], [folded.col.astype(np.int64)], [folded.data.astype(float)]
    out.lo, out.hi = lo[keep].tolist(), hi[keep].tolist()
    return out
