"""Check a blueprint's internal consistency, collecting every problem (nothing is raised here).

These checks need no item bank: bounds in order, counts that can add up to the exam length, known
attributes, statuses and modes, targets with one value per θ point. Checks against a bank (enough eligible
items) are in ``diagnose.py``.
"""
from __future__ import annotations

from collections import defaultdict

from certbank_core.errors import Problem
from itembank.model import CognitiveLevel, ItemStatus

from .model import (
    CATEGORICAL_ATTRIBUTES,
    ITEM_ORDERS,
    MAX_PRETEST_SLOTS,
    NUMERIC_ATTRIBUTES,
    TARGET_MODES,
    WITHOUT_STATISTICS,
    Blueprint,
)

_STATUSES = {s.value for s in ItemStatus}
_LEVELS = {c.value for c in CognitiveLevel}


def validate_blueprint(bp: Blueprint) -> list[Problem]:
    """Every inconsistency in ``bp`` as a Problem whose message starts with the key it concerns."""
    out: list[Problem] = []

    def bad(where: str, message: str) -> None:
        out.append(Problem(f"{where}: {message}", file=bp.source or None))

    exam, el = bp.exam, bp.eligibility
    if not exam.name.strip():
        bad("exam.name", "is required")
    if exam.length < 1:
        bad("exam.length", f"must be at least 1, not {exam.length}")
    if not 0 <= exam.pretest_slots <= MAX_PRETEST_SLOTS:
        bad("exam.pretest_slots", f"must be between 0 and {MAX_PRETEST_SLOTS}, not {exam.pretest_slots}")
    if "en" not in exam.languages:
        bad("exam.languages", "must include 'en' (every item has English text)")
    for status in el.scored_statuses + el.pretest_statuses:
        if status not in _STATUSES:
            bad("eligibility", f"unknown item status {status!r} (expected one of: {', '.join(sorted(_STATUSES))})")
    if not el.scored_statuses:
        bad("eligibility.scored_statuses", "must list at least one status")
    shared = set(el.scored_statuses) & set(el.pretest_statuses)
    if shared:
        bad("eligibility", f"status {', '.join(sorted(shared))} cannot fill both scored and pretest slots")
    if exam.pretest_slots and not el.pretest_statuses:
        bad("eligibility.pretest_statuses", "must list a status when the exam has pretest slots")
    missing_lang = [lang for lang in exam.languages if lang not in el.reviewed_languages]
    if missing_lang:
        bad("eligibility.reviewed_languages",
            f"must include every exam language; missing {', '.join(missing_lang)}")
    if el.exclude_last_forms < 0:
        bad("eligibility.exclude_last_forms", "must be 0 or more")
    if el.max_exposure is not None and el.max_exposure < 0:
        bad("eligibility.max_exposure", "must be 0 or more")
    if el.without_statistics not in WITHOUT_STATISTICS:
        bad("eligibility.without_statistics",
            f"must be one of {', '.join(WITHOUT_STATISTICS)}, not {el.without_statistics!r}")
    if el.without_statistics == "pretest" and not exam.pretest_slots:
        bad("eligibility.without_statistics", "\"pretest\" needs pretest slots (exam.pretest_slots)")
    _validate_years(bp, bad)

    ids: set[str] = set()
    lower_sum: dict[str, int] = defaultdict(int)
    upper_sum: dict[str, int] = defaultdict(int)
    single_values: dict[str, set[str]] = defaultdict(set)
    for rule in bp.counts:
        where = f"rule {rule.id!r}"
        if rule.id in ids:
            bad(where, "is defined twice")
        ids.add(rule.id)
        if rule.attribute not in CATEGORICAL_ATTRIBUTES:
            bad(where, f"cannot count on {rule.attribute!r} (expected one of: {', '.join(CATEGORICAL_ATTRIBUTES)})")
        for bound in (rule.lower, rule.upper):
            if bound is not None and not 0 <= bound <= exam.length:
                bad(where, f"bound {bound} is outside 0..{exam.length} (the exam length)")
        if rule.lower is not None and rule.upper is not None and rule.lower > rule.upper:
            bad(where, f"lower bound {rule.lower} is above upper bound {rule.upper}")
        if exam.framework and rule.attribute in ("area", "primary_competency"):
            for code in rule.values:
                if not code.startswith(exam.framework + "."):
                    bad(where, f"code {code!r} is not in framework {exam.framework!r}")
        if rule.attribute == "cognitive_level":
            for value in rule.values:
                if value not in _LEVELS:
                    bad(where, f"unknown cognitive level {value!r} (expected one of: {', '.join(sorted(_LEVELS))})")
        if rule.on and len(rule.values) == 1 and rule.attribute in ("area", "key", "cognitive_level"):
            # Single-value rules on one attribute count disjoint sets of items: their minima must fit the exam.
            if rule.values[0] in single_values[rule.attribute]:
                bad(where, f"{rule.attribute} {rule.values[0]!r} already has a rule")
            single_values[rule.attribute].add(rule.values[0])
            lower_sum[rule.attribute] += rule.lower or 0
            upper_sum[rule.attribute] += rule.upper if rule.upper is not None else exam.length
    for attribute, total in lower_sum.items():
        if total > exam.length:
            bad(f"{attribute} rules", f"minimum counts add up to {total}, more than the exam length {exam.length}")
    if single_values["cognitive_level"] == _LEVELS and upper_sum["cognitive_level"] < exam.length:
        bad("cognitive_level rules",
            f"maximum counts add up to {upper_sum['cognitive_level']}, fewer than the exam length {exam.length}")

    for rule in bp.means + bp.item_bounds:
        where = f"rule {rule.id!r}"
        if rule.id in ids:
            bad(where, "is defined twice")
        ids.add(rule.id)
        if rule.attribute not in NUMERIC_ATTRIBUTES:
            bad(where, f"cannot bound {rule.attribute!r} (expected one of: {', '.join(NUMERIC_ATTRIBUTES)})")
        if rule.lower is not None and rule.upper is not None and rule.lower > rule.upper:
            bad(where, f"lower bound {rule.lower:g} is above upper bound {rule.upper:g}")
        if rule.attribute == "p_value":
            for bound in (rule.lower, rule.upper):
                if bound is not None and not 0.0 <= bound <= 1.0:
                    bad(where, f"a P value bound must be between 0 and 1, not {bound:g}")

    if bp.max_overlap is not None and not 0 <= bp.max_overlap <= exam.length + exam.pretest_slots:
        bad("rules.max_overlap", f"must be between 0 and the form length, not {bp.max_overlap}")
    if bp.order not in ITEM_ORDERS:
        bad("rules.order", f"must be one of {', '.join(ITEM_ORDERS)}, not {bp.order!r}")

    if bp.target_reference != "pool" and not (bp.reference_form or "").strip():
        bad("targets.reference", f"must be \"pool\" or \"form:<form id>\", not {bp.target_reference!r}")
    for name, target in (("targets.information", bp.information), ("targets.characteristic", bp.characteristic)):
        if target is None:
            continue
        if not target.theta:
            bad(f"{name}.theta", "needs at least one θ point")
        if len(set(target.theta)) != len(target.theta):
            bad(f"{name}.theta", "has a repeated θ point")
        if target.values and len(target.values) != len(target.theta):
            bad(f"{name}.values", f"needs one value per θ point ({len(target.theta)}), got {len(target.values)}")
        if any(v <= 0 for v in target.values):
            bad(f"{name}.values", "targets must be positive")
        if not target.tolerance > 0:
            bad(f"{name}.tolerance", "must be positive")
        if getattr(target, "mode", "target") not in TARGET_MODES:
            bad(f"{name}.mode", f"must be one of {', '.join(TARGET_MODES)}, not {target.mode!r}")
        if getattr(target, "mode", "target") == "maximin" and target.values:
            bad(f"{name}.values", "maximin uses the pool reference as relative weights; leave values out")
    return out


def _validate_years(bp: Blueprint, bad) -> None:
    """The rules across years: overlap with recent forms and the anchor block."""
    exam, anchor, K = bp.exam, bp.anchor, bp.max_shared_with_recent
    if K is not None and not 0 <= K <= exam.length + exam.pretest_slots:
        bad("rules.max_shared_with_recent", f"must be between 0 and the form length, not {K}")
    if bp.recent_forms < 1:
        bad("rules.recent_forms", f"must be at least 1, not {bp.recent_forms}")
    if anchor.reference not in ("", "latest") and not (anchor.reference_form or "").strip():
        bad("anchor.reference", f"must be \"latest\" or \"form:<form id>\", not {anchor.reference!r}")
    if not 0 <= anchor.min_items <= exam.length:
        bad("anchor.min_items", f"must be between 0 and the exam length {exam.length}, not {anchor.min_items}")
    if (anchor.reference or anchor.shared_within_run) and anchor.min_items < 1:
        bad("anchor.min_items", "must be at least 1 when the blueprint has an anchor block")
    if anchor.reference == "latest" and K is not None and anchor.min_items > K:
        bad("anchor.min_items", f"{anchor.min_items} is more than rules.max_shared_with_recent ({K}): the anchor "
            "items are shared with the latest published form, so the cap must leave room for them")
    if anchor.shared_within_run and bp.max_overlap is not None and anchor.min_items > bp.max_overlap:
        bad("anchor.min_items", f"{anchor.min_items} is more than rules.max_overlap ({bp.max_overlap}): the forms of "
            "a run share the common block, so the cap must leave room for it")
    if anchor.min_items and not any(r.attribute == "area" for r in bp.active_counts):
        bad("anchor", "the anchor block is spread over content areas; the blueprint needs [[content.areas]]")


def unknown_codes(bp: Blueprint, area_codes: set[str], competency_codes: set[str]) -> list[Problem]:
    """Area / competency codes in ``bp``'s rules that the bank's frameworks do not hold (likely typos).
    Checked only when the bank holds the blueprint's framework at all."""
    out = []
    prefix = bp.exam.framework + "." if bp.exam.framework else ""
    known_here = {c for c in area_codes | competency_codes if c.startswith(prefix)}
    if not known_here:
        return out
    for rule in bp.active_counts:
        known = area_codes if rule.attribute == "area" else competency_codes \
            if rule.attribute == "primary_competency" else None
        if known is None:
            continue
        for code in rule.values:
            if code not in known:
                kind = "area" if rule.attribute == "area" else "competency"
                out.append(Problem(f"rule {rule.id!r}: the bank's frameworks have no {kind} {code!r}",
                                   file=bp.source or None))
    return out
