"""Re-check assembled forms against every blueprint rule, from scratch — never trust the solver.

This module shares no code with the optimisation model in ``assemble.py``: it counts items with pandas,
walks enemy pairs and form pairs directly, and recomputes information and TCC with
``psychometrics.irt.models``. A form that the MIP claims is feasible but breaks a rule shows up here.

Every check is a :class:`RuleCheck` with the achieved value, its bounds, and a plain-language sentence when it
fails ("Form 2: Category VIII has 7 items; the blueprint asks for at least 10 (short by 3).").
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from psychometrics.irt import models

from .model import Blueprint, anchor_area_bounds, language_name

#: Numerical slack when comparing sums of floats with bounds.
EPSILON = 1e-9


@dataclass(frozen=True)
class FormDraft:
    """A form as a list of item ids with pretest flags, in order: what verify checks."""

    name: str
    item_ids: tuple[str, ...]
    pretest: tuple[bool, ...]
    positions: tuple[int, ...] = ()  # 1-based; empty means 1, 2, ... in list order

    def position_of(self) -> dict[str, int]:
        return dict(zip(self.item_ids, self.positions or range(1, len(self.item_ids) + 1)))

    @property
    def scored_ids(self) -> tuple[str, ...]:
        return tuple(i for i, p in zip(self.item_ids, self.pretest) if not p)


@dataclass(frozen=True)
class ResolvedTarget:
    """A statistical target made concrete: the function ("information" or "characteristic"), θ points, the
    target value at each point and the absolute tolerance (maximin: the reference and the spread)."""

    function: str
    theta: tuple[float, ...]
    values: tuple[float, ...]
    tolerance: tuple[float, ...]
    mode: str = "target"
    #: values are for a full-length form; the band scales with the calibrated scored items n on the form
    #: (target × n / length), because items without parameters are not in the sum.
    per_item: bool = False


@dataclass(frozen=True)
class RuleCheck:
    rule: str  # rule id
    kind: str  # length, pretest, eligibility, count, mean, enemies, overlap, duplicates, information, characteristic
    form: str  # form name, or "Form 1 & Form 2" for overlap
    achieved: float
    lower: float | None
    upper: float | None
    passed: bool
    hard: bool = True  # statistical targets are soft: reported, not required
    message: str = ""


@dataclass(frozen=True)
class Verification:
    checks: tuple[RuleCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every hard rule holds on every form."""
        return all(c.passed for c in self.checks if c.hard)

    @property
    def failures(self) -> tuple[RuleCheck, ...]:
        return tuple(c for c in self.checks if c.hard and not c.passed)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(c.rule, c.kind, c.form, c.achieved, c.lower, c.upper, c.passed, c.hard, c.message) for c in self.checks],
            columns=["rule", "kind", "form", "achieved", "lower", "upper", "passed", "hard", "message"],
        )


def _bounded(value: float, lower, upper) -> bool:
    return (lower is None or value >= lower - EPSILON) and (upper is None or value <= upper + EPSILON)


def _count_message(form: str, name: str, value: int, lower, upper) -> str:
    if lower is not None and value < lower:
        return f"{form}: {name} has {value} items; the blueprint asks for at least {lower} (short by {lower - value})."
    return f"{form}: {name} has {value} items; the blueprint allows at most {upper} ({value - upper} too many)."


def _reviewed(row: pd.Series, language: str) -> bool:
    languages = [s.strip() for s in str(row.get("languages", "") or "").split(";")]
    if language not in languages:
        return False
    column = f"{language}_status"
    if column in row.index:
        return str(row[column]) == "reviewed"
    return True  # the source language carries no translation status


def _has(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def verify_forms(
    blueprint: Blueprint,
    pool: pd.DataFrame,
    forms: Sequence[FormDraft],
    enemy_pairs: Sequence[tuple[str, str]] = (),
    *,
    recent_forms: Sequence[str] = (),
    targets: Sequence[ResolvedTarget] = (),
    earlier_forms: Sequence[FormDraft] = (),
    anchor_form: FormDraft | None = None,
) -> Verification:
    """Check every form against every rule of ``blueprint``; pool is ``Bank.item_pool()``'s frame.

    ``earlier_forms``: the published forms, newest first (overlap with recent forms; the anchor reference
    "latest"); ``anchor_form``: the anchor's reference form when it is named ("form:<id>").
    """
    bp, el = blueprint, blueprint.eligibility
    if not recent_forms and earlier_forms:
        recent_forms = [f.name for f in earlier_forms]
    rows = pool.set_index("item_id", drop=False)
    allow = el.without_statistics == "allow"
    needs_irt = bool(targets)
    checks: list[RuleCheck] = []
    recent = set(recent_forms[: el.exclude_last_forms]) if el.exclude_last_forms else set()
    status_scored = pool[pool["status"].isin(el.scored_statuses)]
    # A statistic rule applies only when the pool has that statistic at all (same convention as assembly).
    applicable = [r for r in bp.active_means + bp.active_item_bounds
                  if r.attribute in pool.columns and status_scored[r.attribute].notna().any()]

    for form in forms:
        name = form.name
        ids = list(form.item_ids)
        scored = [i for i, p in zip(ids, form.pretest) if not p]
        pretest = [i for i, p in zip(ids, form.pretest) if p]
        n_scored, n_pre = len(scored), len(pretest)
        checks.append(RuleCheck("length", "length", name, n_scored, bp.exam.length, bp.exam.length,
                                n_scored == bp.exam.length,
                                message=f"{name} has {n_scored} scored items; the exam needs {bp.exam.length}."))
        checks.append(RuleCheck("pretest_slots", "pretest", name, n_pre, bp.exam.pretest_slots,
                                bp.exam.pretest_slots, n_pre == bp.exam.pretest_slots,
                                message=f"{name} has {n_pre} pretest items; the exam has "
                                        f"{bp.exam.pretest_slots} pretest slots."))
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        checks.append(RuleCheck("no_duplicates", "duplicates", name, len(dupes), None, 0, not dupes,
                                message=(f"{name} lists {', '.join(dupes)} more than once." if dupes
                                         else f"{name} lists no item more than once.")))

        problems = []
        for item_id, is_pre in zip(ids, form.pretest):
            if item_id not in rows.index:
                problems.append(f"{item_id} is not in the bank")
                continue
            row = rows.loc[item_id]
            allowed = el.pretest_statuses if is_pre else el.scored_statuses
            if is_pre and el.without_statistics == "pretest" and row["status"] in el.scored_statuses and (
                    any(not _has(row.get(r.attribute)) for r in applicable)
                    or (needs_irt and not (_has(row.get("a")) and _has(row.get("b"))))):
                allowed = el.scored_statuses  # not ready for a scored slot: a pretest slot is where it belongs
            if row["status"] not in allowed:
                problems.append(f"{item_id} has status {row['status']} "
                                f"(a {'pretest' if is_pre else 'scored'} slot needs {' or '.join(allowed)})")
            for language in el.reviewed_languages:
                if not _reviewed(row, language):
                    problems.append(f"{item_id} has no reviewed {language_name(language)} text")
            if recent and str(row.get("last_used_form", "") or "") in recent:
                problems.append(f"{item_id} was used on one of the last {el.exclude_last_forms} forms")
            exposure = row.get("exposure_count", 0)
            if el.max_exposure is not None and _has(exposure) and exposure > el.max_exposure:
                problems.append(f"{item_id} has been exposed on {int(exposure)} forms (limit {el.max_exposure})")
            if not is_pre:
                for rule in applicable:
                    if rule in bp.active_item_bounds:
                        value = row.get(rule.attribute)
                        if allow and not _has(value):
                            continue  # the setting lets items without the statistic fill scored slots
                        if not _has(value) or not _bounded(float(value), rule.lower, rule.upper):
                            shown = f"{float(value):.3f}" if _has(value) else "none"
                            problems.append(f"{item_id} fails {rule.name} ({rule.attribute} {shown})")
                if needs_irt and el.without_statistics == "exclude" and not (_has(row.get("a")) and _has(row.get("b"))):
                    problems.append(f"{item_id} has no IRT parameters")
        checks.append(RuleCheck("eligibility", "eligibility", name, len(problems), None, 0, not problems,
                                message=f"{name}: " + "; ".join(problems) + "." if problems else ""))

        scored_rows = rows.loc[[i for i in scored if i in rows.index]]
        for rule in bp.active_counts:
            value = int(scored_rows[rule.attribute].astype(str).isin(rule.values).sum()) \
                if rule.attribute in scored_rows.columns else 0
            ok = _bounded(value, rule.lower, rule.upper)
            checks.append(RuleCheck(rule.id, "count", name, value, rule.lower, rule.upper, ok,
                                    message="" if ok else _count_message(name, rule.name, value, rule.lower,
                                                                         rule.upper)))
        for rule in bp.active_means:
            if rule not in applicable:
                continue
            values = pd.to_numeric(scored_rows[rule.attribute], errors="coerce")
            over = ""
            if allow:  # the mean over the items that have the statistic
                have = values.dropna()
                over = f" over the {len(have)} of {len(values)} scored items with a {rule.attribute}"
                mean = float(have.mean()) if len(have) else float("nan")
                ok = not len(have) or _bounded(mean, rule.lower, rule.upper)
            else:
                mean = float(values.mean()) if len(values) and values.notna().all() else float("nan")
                ok = bool(np.isfinite(mean)) and _bounded(mean, rule.lower, rule.upper)
            bounds = " and ".join(f"{w} {b:g}" for w, b in (("at least", rule.lower), ("at most", rule.upper))
                                  if b is not None)
            shown = f"{mean:.3f}" if np.isfinite(mean) else "undefined"
            checks.append(RuleCheck(rule.id, "mean", name, mean, rule.lower, rule.upper, ok,
                                    message=(f"{name}: {rule.name} is {shown}{over}"
                                             + ("." if ok else f"; the blueprint asks for {bounds}."))
                                    if (over or not ok) else ""))

        if bp.enemies:
            on_form = set(ids)
            clashes = sorted({tuple(sorted(p)) for p in enemy_pairs if p[0] in on_form and p[1] in on_form})
            text = "; ".join(f"{a} and {b}" for a, b in clashes)
            checks.append(RuleCheck("enemies", "enemies", name, len(clashes), None, 0, not clashes,
                                    message=f"{name} holds enemies {text}." if clashes else ""))

        for target in targets:
            params = scored_rows[["a", "b", "c", "D"]].apply(pd.to_numeric, errors="coerce")
            theta = np.asarray(target.theta)
            a = params["a"].to_numpy() * params["D"].fillna(1.0).to_numpy()  # D folded into the slope
            b, c = params["b"].to_numpy(), params["c"].fillna(0.0).to_numpy()
            has = np.isfinite(a + b)  # items without parameters are not in the sums
            a, b, c = a[has], b[has], c[has]
            if not has.any():
                achieved = np.zeros(len(theta))
            elif target.function == "information":
                achieved = models.test_information(theta, a, b, c)
            else:
                achieved = models.test_characteristic_curve(theta, a, b, c)
            n_cal = int(has.sum())
            scale = n_cal / bp.exam.length if target.per_item else 1.0
            for k, th in enumerate(target.theta):
                value = float(achieved[k])
                if target.mode == "maximin":
                    lower, upper = None, None
                    ok = True
                else:
                    lower = (target.values[k] - target.tolerance[k]) * scale
                    upper = (target.values[k] + target.tolerance[k]) * scale
                    ok = _bounded(value, lower, upper)
                label = "test information" if target.function == "information" else "TCC"
                checks.append(RuleCheck(f"{target.function}@{th:g}", target.function, name, value, lower, upper,
                                        ok, hard=False,
                                        message="" if ok and scale == 1.0 else
                                        f"{name}: {label} at θ = {th:g} is {value:.2f}; target "
                                        f"{target.values[k] * scale:.2f} ± {target.tolerance[k] * scale:.2f}"
                                        + (f" (over the {n_cal} calibrated scored items, target × {n_cal}/"
                                           f"{bp.exam.length})" if scale != 1.0 else "") + "."))

    if bp.max_overlap is not None:
        for f, g in combinations(forms, 2):
            shared = len(set(f.item_ids) & set(g.item_ids))
            ok = shared <= bp.max_overlap
            checks.append(RuleCheck("max_overlap", "overlap", f"{f.name} & {g.name}", shared, None, bp.max_overlap,
                                    ok, message="" if ok else f"{f.name} and {g.name} share {shared} items; the "
                                                              f"blueprint allows at most {bp.max_overlap}."))
    checks += _across_years(bp, rows, forms, earlier_forms, anchor_form)
    return Verification(tuple(checks))


def _proportional_block(rows: pd.DataFrame, shared: set[str], bp: Blueprint) -> tuple[int, list[str]]:
    """The largest anchor block drawable from ``shared`` within the per-area bounds, and the areas short of
    their minimum (as "Category III 0 of at least 1")."""
    bounds = anchor_area_bounds(bp)
    areas = rows.loc[sorted(shared), "area"].astype(str).value_counts() if shared else pd.Series(dtype=int)
    size = sum(min(int(areas.get(code, 0)), hi) for code, (lo, hi) in bounds.items()) if bounds else len(shared)
    short = []
    for code, (lo, hi) in bounds.items():
        have = int(areas.get(code, 0))
        if have < lo:
            label = next((r.name for r in bp.active_counts if r.attribute == "area" and r.values == (code,)), code)
            short.append(f"{label} {have} of at least {lo}")
    return size, short


def _across_years(bp: Blueprint, rows: pd.DataFrame, forms: Sequence[FormDraft],
                  earlier_forms: Sequence[FormDraft], anchor_form: FormDraft | None) -> list[RuleCheck]:
    """Overlap with recent published forms, the exposure cap over the run, anchor and common blocks."""
    out: list[RuleCheck] = []
    K = bp.max_shared_with_recent
    if K is not None:
        for form in forms:
            for earlier in list(earlier_forms)[: bp.recent_forms]:
                shared = len(set(form.item_ids) & set(earlier.item_ids))
                ok = shared <= K
                out.append(RuleCheck("max_shared_with_recent", "recent_overlap", f"{form.name} & {earlier.name}",
                                     shared, None, K, ok, message="" if ok else
                                     f"{form.name} shares {shared} items with the published form {earlier.name}; "
                                     f"the blueprint allows at most {K}."))
    cap = bp.eligibility.max_exposure
    if cap is not None and forms:
        uses: dict[str, int] = {}
        for form in forms:
            for item_id in set(form.item_ids):
                uses[item_id] = uses.get(item_id, 0) + 1
        over = sorted(i for i, k in uses.items() if i in rows.index and
                      float(rows.loc[i].get("exposure_count", 0) or 0) + k > cap + 1)
        out.append(RuleCheck("max_exposure", "exposure", " & ".join(f.name for f in forms), len(over), None, 0,
                             not over, message="" if not over else
                             f"{', '.join(over)} would be on more than {cap + 1} published forms once these forms "
                             f"are published (max_exposure = {cap})."))
    anchor, m = bp.anchor, bp.anchor.min_items
    if not anchor.active:
        return out
    reference = anchor_form if anchor_form is not None else (
        earlier_forms[0] if anchor.reference == "latest" and earlier_forms else None)
    if anchor.reference and reference is not None:
        ref_scored = set(reference.scored_ids)
        ref_pos = reference.position_of()
        for form in forms:
            shared = {i for i in set(form.scored_ids) & ref_scored if i in rows.index and all(
                _has(rows.loc[i].get(c)) for c in ("a", "b", "p_value", "point_biserial"))}
            size, short = _proportional_block(rows, shared, bp)
            ok = size >= m and not short
            out.append(RuleCheck("anchor.min_items", "anchor", form.name, size, m, None, ok, message="" if ok else
                                 f"{form.name} has an anchor block of {size} calibrated items shared with "
                                 f"{reference.name} (spread in proportion to the blueprint); the blueprint asks "
                                 f"for at least {m}" + (f" ({', '.join(short)})" if short else "") + "."))
            if anchor.keep_positions:
                mine = form.position_of()
                length = len(form.item_ids)
                moved = sorted(i for i in set(form.scored_ids) & ref_scored
                               if ref_pos[i] <= length and mine[i] != ref_pos[i])
                out.append(RuleCheck("anchor.keep_positions", "anchor_positions", form.name, len(moved), None, 0,
                                     not moved, message="" if not moved else
                                     f"{form.name}: {', '.join(moved)} are not at their positions on "
                                     f"{reference.name}."))
    if anchor.shared_within_run and len(forms) > 1:
        names = " & ".join(f.name for f in forms)
        common = set.intersection(*(set(f.scored_ids) for f in forms)) & set(rows.index)
        size, short = _proportional_block(rows, common, bp)
        ok = size >= m and not short
        out.append(RuleCheck("anchor.shared_within_run", "common_anchor", names, size, m, None, ok,
                             message="" if ok else f"{names} share a common block of {size} scored items (spread "
                             f"in proportion to the blueprint); the blueprint asks for at least {m}"
                             + (f" ({', '.join(short)})" if short else "") + "."))
        if anchor.keep_positions:
            every = set.intersection(*(set(f.item_ids) for f in forms))
            places = [f.position_of() for f in forms]
            moved = sorted(i for i in every if len({p[i] for p in places}) > 1)
            out.append(RuleCheck("anchor.keep_positions", "common_positions", names, len(moved), None, 0,
                                 not moved, message="" if not moved else
                                 f"{', '.join(moved)} sit at different positions on {names}."))
    return out
