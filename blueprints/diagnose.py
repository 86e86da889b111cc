"""Say in plain language why a blueprint cannot be met by a bank.

Two steps, cheapest first:

1. :func:`counting_shortfalls` — before any optimisation, compare what the forms need with what the bank
   holds, rule by rule ("Category VIII needs 10 operational items with reviewed Spanish text; the bank has 7").
   With N forms and no shared items a rule needing L per form needs N·L distinct items; with at most K shared
   between any two forms it needs at least 2L − min(K, L) (a necessary, not sufficient, condition).
2. :func:`explain_violations` — when the rules conflict in combination, ``assemble`` re-solves an elastic
   model (every rule gets penalised slack) and verify's failures on those closest forms say which rules bend,
   by how much, on which form.

:func:`anchor_shortfalls` and :func:`recent_shortfalls` count the same way for the rules across years (the
anchor block with a reference form, the overlap cap with recent published forms).
``assemble.check_blueprint`` runs all of this against a bank for ``certbank blueprint check``; this module
imports nothing from ``assemble`` (it receives the eligible pool, a :class:`~blueprints.pool.PoolView`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .model import Blueprint, anchor_area_bounds
from .verify import Verification


def items_needed(per_form: int, n_forms: int, max_overlap: int | None) -> int:
    """Distinct items a rule needing ``per_form`` items on each of ``n_forms`` forms needs at least."""
    if per_form <= 0:
        return 0
    if n_forms == 1 or max_overlap is None:
        return per_form
    if max_overlap == 0:
        return n_forms * per_form
    return max(per_form, 2 * per_form - min(max_overlap, per_form))


def min_shared_items(places: int, items: int) -> int:
    """Fewest (item, pair of forms) coincidences when ``places`` slots over several forms are filled from
    ``items`` distinct items: spread as evenly as possible, an item on r forms is shared by C(r, 2) pairs, and
    C(r, 2) is convex, so even use is the minimum. The total over all pairs of forms can't exceed
    C(N, 2) · max_overlap (a necessary condition, in the spirit of the counting bounds above)."""
    if items <= 0:
        return 0
    q, r = divmod(places, items)
    return r * (q + 1) * q // 2 + (items - r) * q * (q - 1) // 2


def overlap_shortfall(bp: Blueprint, view, n_forms: int) -> str:
    """A sentence when the area counts together need more shared items than the overlap cap allows."""
    K = bp.max_overlap
    if n_forms < 2 or K is None:
        return ""
    pool = view.pool
    scored = pool["role"] == "scored"
    pairs = n_forms * (n_forms - 1) // 2
    budget = pairs * K
    # a common block on every form of the run: each of its items is shared by all C(N, 2) pairs. With b of an
    # area's L items in the block, the rest of its N·L places come from the other items, so the area needs
    # C(N, 2)·b + min_shared(N(L − b), E − b) coincidences; the fewest over the block's allowed spreads
    # (each area within its anchor bounds, at least m items in all) is a dynamic programme over areas
    anchor = bp.anchor
    in_block = anchor_area_bounds(bp) if anchor.active and anchor.shared_within_run else {}
    parts, areas, seen = [], [], set()
    for rule in bp.active_counts:  # area rules partition the items, so their needs add up
        if rule.attribute != "area" or not rule.lower or seen & set(rule.values):
            continue
        seen |= set(rule.values)
        eligible = int((pool["area"].astype(str).isin(rule.values) & scored).sum())
        if eligible < rule.lower:
            return ""  # already reported as a count shortfall
        lo = sum(in_block.get(code, (0, 0))[0] for code in rule.values)
        hi = sum(in_block.get(code, (0, 0))[1] for code in rule.values)
        costs = {b: pairs * b + min_shared_items(n_forms * (rule.lower - b), eligible - b)
                 for b in range(min(lo, rule.lower, eligible), min(hi, rule.lower, eligible) + 1)}
        areas.append((rule.name, costs))
    spread = _cheapest_block(areas, anchor.min_items if in_block else 0)
    total = 0
    for (name, costs), b in zip(areas, spread):
        total += costs[b]
        if costs[b]:
            parts.append(f"{name} {costs[b]}")
    block_total = pairs * anchor.min_items if in_block else 0
    if total <= budget:
        return ""
    block = (f"; the common block of {anchor.min_items} items on all {n_forms} forms alone takes "
             f"{pairs * anchor.min_items} of them" if block_total else "")
    fewer = "Assemble fewer forms, allow more overlap, shrink the common block, or add eligible items." \
        if block_total else "Assemble fewer forms, allow more overlap, or add eligible items."
    return (f"{n_forms} forms with at most {K} items shared by any two may share {budget} items in all, but the "
            f"area counts need at least {total} shared items ({', '.join(parts)}){block}. {fewer}")


def _cheapest_block(areas: list[tuple[str, dict[int, int]]], m: int) -> list[int]:
    """Block items per area (each from its ``costs`` keys) totalling at least ``m`` with the least summed
    cost; without a way to reach ``m``, each area's smallest allowed number (a weaker bound)."""
    best: dict[int, tuple[int, list[int]]] = {0: (0, [])}
    for _, costs in areas:
        step: dict[int, tuple[int, list[int]]] = {}
        for size, (cost, picks) in best.items():
            for b, c in costs.items():
                key = min(size + b, m)  # beyond m the block is just as good: keep the cheapest
                if key not in step or cost + c < step[key][0]:
                    step[key] = (cost + c, picks + [b])
        best = step
    if m in best:
        return best[m][1]
    return [min(costs) for _, costs in areas]


def _per_form_words(per_form: int, n_forms: int, max_overlap: int | None) -> str:
    if n_forms == 1 or max_overlap is None:
        return ""
    if max_overlap == 0:
        return f" ({per_form} on each of {n_forms} forms with no shared items)"
    return f" ({per_form} per form, at most {max_overlap} shared by any two forms)"


def _excluded_words(candidates: pd.DataFrame) -> str:
    """'; 3 more are excluded (2 without reviewed Spanish text, 1 used on the last 2 forms)'."""
    held = candidates[candidates["reason"] != ""]
    if held.empty:
        return ""
    parts = [f"{n} {reason}" for reason, n in held["reason"].value_counts().items()]
    return f" ({len(held)} more are excluded: {', '.join(parts)})"


@dataclass(frozen=True)
class CountingLine:
    rule: str
    label: str
    per_form: int
    needed: int
    eligible: int

    @property
    def ok(self) -> bool:
        return self.eligible >= self.needed


def counting_lines(bp: Blueprint, view, n_forms: int) -> list[tuple[CountingLine, str]]:
    """Each rule with a minimum: (line, sentence if short else '')."""
    el, K = bp.eligibility, bp.max_overlap
    pool = view.pool
    scored_status = pool["status"].isin(el.scored_statuses)
    statuses = " or ".join(el.scored_statuses)
    words = f" {view.eligibility_words}" if view.eligibility_words else ""
    out = []

    def line(rule_id: str, label: str, per_form: int, eligible: int, candidates: pd.DataFrame, kind: str,
             words: str = words):
        needed = items_needed(per_form, n_forms, K)
        entry = CountingLine(rule_id, label, per_form, needed, eligible)
        sentence = ""
        if not entry.ok:
            sentence = (f"{label} needs {needed} {kind} items{words}{_per_form_words(per_form, n_forms, K)}; "
                        f"the bank has {eligible}{_excluded_words(candidates)}.")
        out.append((entry, sentence))

    line("length", "The exam", bp.exam.length, len(view.scored), pool[scored_status], statuses)
    if bp.exam.pretest_slots:
        pre_status = pool["status"].isin(el.pretest_statuses)
        line("pretest_slots", "The pretest part of each form", bp.exam.pretest_slots, len(view.pretest),
             pool[pre_status], " or ".join(el.pretest_statuses),
             words.replace(", with IRT parameters", "").replace(" with IRT parameters", ""))  # not needed to pretest
    for rule in bp.active_counts:
        if not rule.lower:
            continue
        match = pool[rule.attribute].astype(str).isin(rule.values)
        eligible = int((match & (pool["role"] == "scored")).sum())
        line(rule.id, rule.name, rule.lower, eligible, pool[scored_status & match], statuses)
    return out


def counting_shortfalls(bp: Blueprint, view, n_forms: int) -> list[str]:
    """Plain sentences for every rule the bank cannot supply by counting alone; empty when counts suffice."""
    sentences = [sentence for _, sentence in counting_lines(bp, view, n_forms) if sentence]
    sentences += anchor_shortfalls(bp, view) + recent_shortfalls(bp, view)
    return sentences or [s for s in (overlap_shortfall(bp, view, n_forms),) if s]


def anchor_shortfalls(bp: Blueprint, view) -> list[str]:
    """One sentence when the reference form cannot supply a proportional anchor block of min_items."""
    anchor = bp.anchor
    if not (anchor.reference and anchor.min_items and view.anchor_form is not None):
        return []
    m, bounds = anchor.min_items, anchor_area_bounds(bp)
    pool = view.pool
    available = pool[pool["item_id"].isin(view.anchor_ids)]["area"].value_counts()
    size = sum(min(int(available.get(c, 0)), hi) for c, (lo, hi) in bounds.items()) if bounds else len(view.anchor_ids)
    short = [f"{c} {int(available.get(c, 0))} of {lo}"
             for c, (lo, hi) in bounds.items() if available.get(c, 0) < lo]
    if size >= m and not short:
        return []
    ref = view.anchor_form.name
    return [f"The anchor rule (anchor.min_items = {m}, spread over the areas in proportion to the blueprint) "
            f"needs {m} scored items of form {ref} that have IRT parameters and statistics and are eligible now; "
            f"form {ref} can supply {size}" + (f" (per area, have of need: {', '.join(short)})" if short else "")
            + ". Calibrate that form's items, lower anchor.min_items, or choose another anchor.reference."]


def recent_shortfalls(bp: Blueprint, view) -> list[str]:
    """A sentence per recent form when too few eligible items lie off it for a form within the overlap cap."""
    K = bp.max_shared_with_recent
    if K is None:
        return []
    out = []
    scored, pretest = view.scored, view.pretest
    for earlier in view.earlier_forms[: bp.recent_forms]:
        on = set(earlier.item_ids)
        off = int((~scored["item_id"].isin(on)).sum()) + int((~pretest["item_id"].isin(on)).sum())
        need = bp.exam.length + bp.exam.pretest_slots - K
        if off < need:
            out.append(f"Each new form may share at most {K} items with the published form {earlier.name} "
                       f"(rules.max_shared_with_recent), so it needs {need} eligible items that are not on it; the "
                       f"bank has {off}.")
    return out


def explain_violations(check: Verification) -> list[str]:
    """The failed rules of the elastic (closest) forms, one sentence each."""
    return [c.message for c in check.failures] or ["(the diagnostic forms break no single rule; the conflict "
                                                   "is between statistical targets and the other rules)"]


@dataclass(frozen=True)
class FeasibilityReport:
    blueprint_name: str
    n_forms: int
    lines: tuple[CountingLine, ...]
    feasible: bool
    message: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(ln.rule, ln.label, ln.per_form, ln.needed, ln.eligible, ln.ok) for ln in self.lines],
                            columns=["rule", "label", "per_form", "needed", "eligible", "ok"])
