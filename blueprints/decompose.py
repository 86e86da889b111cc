"""Two-stage assembly of N disjoint forms: choose the union of their items, then split it into N forms.

The joint model (``constraints.py``) has n·N binaries and N interchangeable copies of every rule, so its LP
relaxation is weak in the way symmetric models are and HiGHS spends its time in sub-MIPs (measured: 1,000
items and 4 forms 1.8 s, 4,000 items 12 s, against 0.6 s and 8 s for four one-form MIPs in a row). For
disjoint forms (overlap cap K = 0) the problem separates into two much smaller ones. Stage 1 is the "dummy"
form of van der Linden & Adema (1998, "Simultaneous assembly of multiple test forms", *Journal of
Educational Measurement* 35, 185–198), which stands for all forms not yet assembled with their counts and
targets summed, taken here for all N forms at once; instead of peeling one real form off it at a time and
re-solving (their method), stage 2 splits it into the N forms in one small MIP.

Stage 1 (``build_model(..., copies=N, band=UNION_BAND)``): n binaries, length N·L (and N·P pretest items),
every count rule times N, the recent-form cap times N, mean rules unchanged (they are homogeneous), and each
target band N·T ± N·δ narrowed to UNION_BAND of its width. Every set of N forms that meets the rules has a
union that meets these rows (sum the per-form rows), except for the narrowed bands, which are soft; so a
stage-1 infeasibility proves the forms infeasible. The narrowing leaves room for stage 2: forms whose average
is half a tolerance from target can each be put inside the band by moving a few items between them.

Stage 2: the joint model over the N·L + N·P chosen items only. Length rows and Σ_f x[i,f] ≤ 1 make it a
partition; every per-form rule (counts, means, enemies, recent forms, targets) is checked per form. It has
N·L·N binaries instead of n·N (1,920 instead of 16,000 at 4,000 items and 4 forms).

Not covered, and solved by the joint model: one form, overlap K > 0 or no cap, anchor blocks (reference and
common), and maximin targets. When stage 2 finds no forms, or none inside every band within the gap, the
joint model runs (with the time left), so the decomposition never returns worse forms than the joint model
would have accepted; only its speed differs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from .constraints import TIE_BREAK, SolverStats, build_model
from .model import Blueprint
from .pool import PoolView

#: Stage 1 aims the union's sums at the middle half of each N-fold band (see the module docstring).
UNION_BAND = 0.5
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
    """Stage 1 (the union) then stage 2 (the split); see the module docstring."""
    started = time.perf_counter()
    union, items1 = build_model(bp, view, enemy_pairs, 1, copies=n_forms, band=UNION_BAND, rng=rng)
    res1, stats1 = union.solve(time_limit, gap, log)
    if res1.x is None:
        return TwoStage(None, None, None, f"stage 1 found no union ({stats1.status})",
                        infeasible=stats1.status == "infeasible", seconds=time.perf_counter() - started)
    n = len(items1)
    chosen = set(items1["item_id"][res1.x[:n] > 0.5])
    split_view = replace(view, scored=view.scored[view.scored["item_id"].isin(chosen)],
                         pretest=view.pretest[view.pretest["item_id"].isin(chosen)])
    split, items2 = build_model(bp, split_view, enemy_pairs, n_forms, rng=rng)
    res2, stats2 = split.solve(max(time_limit - stats1.seconds, MIN_SPLIT_SECONDS), gap, log)
    seconds = time.perf_counter() - started
    if res2.x is None:
        return TwoStage(None, None, None, f"stage 2 could not split the union ({stats2.status})",
                        seconds=seconds)
    if view.targets and stats2.objective > (1.0 + TIE_BREAK) * (1.0 + gap):
        return TwoStage(None, None, None, f"stage 2's best split is {stats2.objective - 1:.3g} tolerances "
                        "outside a band", seconds=seconds)
    status = stats2.status if stats1.status == "optimal" else stats1.status
    stats = SolverStats(
        status=status, message=f"stage 1: {stats1.message}; stage 2: {stats2.message}",
        objective=stats2.objective, bound=stats2.bound, gap=stats2.gap, seconds=stats1.seconds + stats2.seconds,
        n_variables=stats1.n_variables + stats2.n_variables,
        n_constraints=stats1.n_constraints + stats2.n_constraints,
        nodes=None if stats1.nodes is None or stats2.nodes is None else stats1.nodes + stats2.nodes,
        method="two-stage")
    note = (f"Two-stage assembly (disjoint forms): stage 1 chose the {len(chosen)} items of the {n_forms} forms "
            f"({stats1.n_variables} variables, {stats1.seconds:.2f} s), stage 2 split them "
            f"({stats2.n_variables} variables, {stats2.seconds:.2f} s); objective, bound and gap are the split's.")
    return TwoStage(res2.x, items2, stats, note, seconds=seconds)

