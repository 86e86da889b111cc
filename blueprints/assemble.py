"""Assemble N parallel forms with mixed-integer programs, solved by HiGHS via ``scipy.optimize.milp``.

The joint model for all forms is in ``constraints.py`` (van der Linden 2005, *Linear Models for Optimal Test
Design*, ch. 6); disjoint forms go through the two-stage method of ``decompose.py`` (choose their union, then
split it) with the joint model as its fallback; eligibility in ``pool.py``; the counting diagnosis in
``diagnose.py``; the independent check in ``verify.py``.
This module runs them in order, puts the chosen items in order (anchor items at their reference positions,
Kolen & Brennan 2014, §8.1: a common item should sit where it sat, so context effects do not move its
statistics), and checks a blueprint against a bank (:func:`check_blueprint`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from certbank_core.errors import AssemblyError
from itembank.model import FormItem

from .constraints import SolverStats, build_model
from .decompose import not_covered, two_stage
from .diagnose import FeasibilityReport, counting_lines, counting_shortfalls, explain_violations
from .model import Blueprint, anchor_area_bounds
from .pool import PoolView, eligible_pool, normalize_pool
from .verify import FormDraft, ResolvedTarget, Verification, verify_forms

__all__ = ["AssembledForm", "AssemblyResult", "PoolView", "SolverStats", "assemble", "build_model",
           "check_blueprint", "eligible_pool", "form_names", "normalize_pool"]

#: Default relative MIP gap at which HiGHS may stop (1%).
DEFAULT_GAP = 0.01
#: Default solver time limit in seconds.
DEFAULT_TIME_LIMIT = 60.0


# ---- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssembledForm:
    name: str
    items: tuple[FormItem, ...]  # in order, 1-based positions
    anchor_items: tuple[str, ...] = ()  # the anchor block with the reference form (a proportional subset)
    common_items: tuple[str, ...] = ()  # the block every form of the run shares

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(fi.item_id for fi in self.items)

    def draft(self) -> FormDraft:
        return FormDraft(self.name, self.item_ids, tuple(fi.is_pretest for fi in self.items),
                         tuple(fi.position for fi in self.items))


@dataclass(frozen=True)
class AssemblyResult:
    blueprint_name: str
    blueprint_hash: str
    forms: tuple[AssembledForm, ...]
    solver: SolverStats
    verification: Verification
    targets: tuple[ResolvedTarget, ...] = ()
    notes: tuple[str, ...] = ()
    anchor_reference: str | None = None  # the form the anchor blocks are shared with
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
        lines = [f"{len(self.forms)} form(s) from blueprint {self.blueprint_name!r} ({s.method} MIP): solver "
                 f"{s.status} in {s.seconds:.2f} s (objective {_fmt(s.objective)}, bound {_fmt(s.bound)}, "
                 f"gap {_fmt(s.gap)}).",
                 f"Verification: {'every rule holds on every form' if self.ok else 'FAILED'}."]
        lines += [c.message for c in self.verification.failures]
        lines += list(self.notes)
        return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"



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
    earlier_forms: Sequence[FormDraft] = (),
    anchor_form: FormDraft | None = None,
    symmetry_breaking: bool = False,
    method: str = "auto",
    log: bool = False,
) -> AssemblyResult:
    """Build ``n_forms`` forms meeting ``blueprint`` from ``pool`` (the frame of ``Bank.item_pool()``).

    ``recent_forms`` lists form ids newest first (for ``exclude_last_forms``; derived from ``earlier_forms``
    when empty); ``reference_items`` are the scored items of the reference form when
    ``targets.reference = "form:<id>"``. ``earlier_forms``: the published forms, newest first, as
    :class:`FormDraft` (name = form id, items in position order): the overlap cap with recent forms and the
    anchor reference "latest" use them. ``anchor_form``: the anchor's reference form when the blueprint names
    one (``anchor.reference = "form:<id>"``). Raises AssemblyError with plain sentences when the bank cannot
    supply the forms (counting check) or the rules conflict (elastic re-solve). The result always carries
    :func:`verify_forms`' independent check of every rule. ``method``: "auto" (the two-stage decomposition of
    ``decompose.py`` for disjoint forms without anchor blocks or maximin, else the joint model), "joint" (always
    the one MIP for all forms; also what "auto" means with ``symmetry_breaking``) or "two-stage" (an error when
    the blueprint is outside what it covers; the joint model still runs if a split fails).
    """
    if method not in ("auto", "joint", "two-stage"):
        raise AssemblyError(f"unknown assembly method {method!r}: use auto, joint or two-stage")
    if n_forms < 1:
        raise AssemblyError("the number of forms must be at least 1")
    view = eligible_pool(blueprint, pool, recent_forms, reference_items, earlier_forms=earlier_forms,
                         anchor_form=anchor_form)
    shortfalls = counting_shortfalls(blueprint, view, n_forms)
    if shortfalls:
        raise AssemblyError("The bank cannot supply these forms:\n" + "\n".join(shortfalls))
    rng = np.random.default_rng(seed)
    names = form_names(name or blueprint.exam.name, n_forms)
    check_args = dict(recent_forms=recent_forms, earlier_forms=view.earlier_forms, anchor_form=view.anchor_form)
    notes = list(view.notes)
    x, items, stats, infeasible = _solve(blueprint, view, enemy_pairs, n_forms, method, notes,
                                         rng=None if seed is None else rng, time_limit=time_limit, gap=gap,
                                         symmetry_breaking=symmetry_breaking, log=log)
    if x is None:
        if infeasible:
            elastic, e_items = build_model(blueprint, view, enemy_pairs, n_forms, elastic=True,
                                           symmetry_breaking=False)
            e_res, _ = elastic.solve(time_limit, gap)
            if e_res.x is None:
                raise AssemblyError("The blueprint's rules cannot all hold together, and the diagnostic re-solve "
                                    f"found no answer within {time_limit:g} s.")
            drafts = _extract(blueprint, view, e_res.x, e_items, n_forms, names, rng)
            check = verify_forms(blueprint, view.pool, [d.draft() for d in drafts], enemy_pairs, **check_args)
            raise AssemblyError("The blueprint's rules cannot all hold together. The closest forms bend them "
                                "like this:\n" + "\n".join(explain_violations(check)))
        raise AssemblyError(f"No forms found: the solver stopped ({stats.status}) after {stats.seconds:.1f} s "
                            "without a feasible answer; allow more time (--time-limit).")
    forms = _extract(blueprint, view, x, items, n_forms, names, rng)
    verification = verify_forms(blueprint, view.pool, [f.draft() for f in forms], enemy_pairs,
                                targets=view.targets, **check_args)
    if stats.status != "optimal":
        notes.append(f"The solver stopped at its time limit with gap {_fmt(stats.gap)}; forms are feasible but "
                     "may not be the most parallel possible.")
    reference = view.anchor_form.name if view.anchor_form is not None else None
    if reference:
        notes.append(f"Anchor block with form {reference}: " + "; ".join(
            f"{f.name} {len(f.anchor_items)} items" for f in forms) + ".")
    if forms and forms[0].common_items:
        notes.append(f"Common block shared by the {n_forms} forms of this run: {len(forms[0].common_items)} items.")
    return AssemblyResult(blueprint.exam.name, blueprint.hash(), tuple(forms), stats, verification,
                          view.targets, tuple(notes), reference, item_details=view.pool)


def _solve(bp: Blueprint, view: PoolView, enemy_pairs, n_forms: int, method: str, notes: list[str], *,
           rng: np.random.Generator | None, time_limit: float, gap: float, symmetry_breaking: bool, log: bool):
    """The two-stage method where it applies and is asked for, else (or when it gives up) the joint model.
    Returns (x, items, stats, infeasible); x is None when there are no forms, and ``infeasible`` says the rules
    were proven unable to hold together. Adds to ``notes`` which method ran."""
    if method == "auto" and symmetry_breaking:  # explicit symmetry-breaking rows belong to the joint model
        method = "joint"
    why_not = not_covered(bp, view, n_forms)
    if method == "two-stage" and why_not is not None:
        raise AssemblyError(f"the two-stage method does not cover {why_not}; use method='joint' or 'auto'")
    spent = 0.0
    if method != "joint" and why_not is None:
        staged = two_stage(bp, view, enemy_pairs, n_forms, rng=rng, time_limit=time_limit, gap=gap, log=log)
        if staged.x is not None:
            notes.append(staged.note)
            return staged.x, staged.items, staged.stats, False
        if staged.infeasible:  # stage 1 relaxes the forms' hard rules: they cannot hold either
            return None, None, None, True
        notes.append(f"Two-stage assembly gave way to the joint model after {staged.seconds:.2f} s: {staged.note}.")
        spent = staged.seconds
    model, items = build_model(bp, view, enemy_pairs, n_forms, symmetry_breaking=symmetry_breaking, rng=rng)
    res, stats = model.solve_in_band_first(max(time_limit - spent, 1.0), gap, log)
    return res.x, items, stats, res.status == 2


def proportional_block(bp: Blueprint, items: pd.DataFrame, shared: set[str]) -> tuple[str, ...]:
    """A block of at most min_items from ``shared`` within each area's anchor bounds: every area's minimum
    first, then the rest up to each maximum (in item order, so the choice is reproducible)."""
    m, bounds = bp.anchor.min_items, anchor_area_bounds(bp)
    rows = items[items["item_id"].isin(shared)].sort_values("item_id")
    if not bounds:
        return tuple(rows["item_id"].head(m))
    groups = {code: list(g["item_id"]) for code, g in rows.groupby("area")}
    chosen = {code: groups.get(code, [])[:lo] for code, (lo, _) in bounds.items()}
    for code, (lo, hi) in bounds.items():
        for item_id in groups.get(code, [])[lo:hi]:
            if sum(map(len, chosen.values())) >= m:
                break
            chosen[code].append(item_id)
    return tuple(i for code in bounds for i in chosen[code])


def _extract(bp: Blueprint, view: PoolView, x: np.ndarray, items: pd.DataFrame, n_forms: int, names: list[str],
             rng: np.random.Generator) -> list[AssembledForm]:
    """The chosen items of each form in order. With ``anchor.keep_positions`` items shared with the reference
    form take their reference positions and the run's common items one position on every form; the others
    fill the free positions in blueprint order."""
    n = len(items)
    order_rng = np.random.default_rng(bp.order_seed) if bp.order_seed is not None else rng
    ordered = []
    for f in range(n_forms):
        chosen = items[x[f * n:(f + 1) * n] > 0.5]
        ordered.append(_order_items(bp, chosen, order_rng))
    anchor = bp.anchor
    ref = view.anchor_form
    ref_scored = set(ref.scored_ids) if ref is not None else set()
    scored_sets = [set(o.loc[o["role"] == "scored", "item_id"]) for o in ordered]
    common_all = set.intersection(*(set(o["item_id"]) for o in ordered)) if n_forms > 1 else set()
    fixed: list[dict[str, int]] = [{} for _ in ordered]
    if anchor.keep_positions and anchor.active:
        length = len(ordered[0])
        if ref is not None and anchor.reference:
            ref_pos = ref.position_of()
            for f, chosen in enumerate(scored_sets):
                fixed[f] = {i: ref_pos[i] for i in chosen & ref_scored if ref_pos[i] <= length}
        if anchor.shared_within_run and n_forms > 1:
            taken = set().union(*(set(d.values()) for d in fixed))
            first = {i: p + 1 for p, i in enumerate(ordered[0]["item_id"])}
            for item_id in sorted(common_all - set().union(*(set(d) for d in fixed)), key=first.get):
                p = first[item_id]
                free = sorted((q for q in range(1, length + 1) if q not in taken), key=lambda q: (abs(q - p), q))
                taken.add(free[0])
                for d in fixed:
                    d[item_id] = free[0]
    forms = []
    for f, chosen in enumerate(ordered):
        slots: list = [None] * len(chosen)
        for item_id, p in fixed[f].items():
            slots[p - 1] = item_id
        rest = iter(i for i in chosen["item_id"] if i not in fixed[f])
        slots = [s if s is not None else next(rest) for s in slots]
        by_id = chosen.set_index("item_id")
        anchors = proportional_block(bp, chosen, scored_sets[f] & view.anchor_ids) if ref is not None else ()
        common = proportional_block(bp, chosen, set.intersection(*scored_sets)) \
            if anchor.shared_within_run and n_forms > 1 else ()
        forms.append(AssembledForm(names[f], tuple(
            FormItem(position=p + 1, item_id=i, version=int(by_id.at[i, "version"]),
                     is_pretest=by_id.at[i, "role"] == "pretest") for p, i in enumerate(slots)), anchors, common))
    return forms


# ---- checking a blueprint against a bank ------------------------------------------------------------------------


def check_blueprint(bp: Blueprint, pool: pd.DataFrame, enemy_pairs: Sequence[tuple[str, str]] = (), *,
                    n_forms: int = 1, recent_forms: Sequence[str] = (), time_limit: float = 20.0,
                    reference_items: Sequence[str] | None = None, earlier_forms: Sequence[FormDraft] = (),
                    anchor_form: FormDraft | None = None) -> FeasibilityReport:
    """Counting check, then a trial assembly (targets included) within ``time_limit`` seconds."""
    try:
        view = eligible_pool(bp, pool, recent_forms, reference_items, earlier_forms=earlier_forms,
                             anchor_form=anchor_form)
    except AssemblyError as err:
        return FeasibilityReport(bp.exam.name, n_forms, (), False, str(err))
    lines = counting_lines(bp, view, n_forms)
    shortfalls = counting_shortfalls(bp, view, n_forms)
    if shortfalls:
        return FeasibilityReport(bp.exam.name, n_forms, tuple(ln for ln, _ in lines), False,
                                 "\n".join(shortfalls), view.notes)
    try:
        result = assemble(bp, pool, enemy_pairs, n_forms=n_forms, recent_forms=recent_forms, time_limit=time_limit,
                          reference_items=reference_items, earlier_forms=earlier_forms, anchor_form=anchor_form)
    except AssemblyError as err:
        return FeasibilityReport(bp.exam.name, n_forms, tuple(ln for ln, _ in lines), False, str(err), view.notes)
    message = (f"Feasible: {n_forms} form(s) assembled in {result.solver.seconds:.2f} s "
               f"({result.solver.status}); every rule verified." if result.ok else result.summary())
    return FeasibilityReport(bp.exam.name, n_forms, tuple(ln for ln, _ in lines), result.ok, message, view.notes)
