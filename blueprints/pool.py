"""The eligible pool: which items may fill scored, pretest and anchor places, and why the others may not.

Shared by the optimiser (``constraints.py``), the counting diagnosis (``diagnose.py``) and ``assemble.py``, so
neither of those needs the other. Statistical rules apply to the items that have the statistic; what happens
to items without it is the blueprint's ``eligibility.without_statistics`` setting ("exclude", "allow",
"pretest"), never a silent exclusion: with "allow" an item without a p-value may fill a scored slot and the
mean-P rule is computed over the form's items that have one; an item without IRT parameters adds nothing to
the form's information and TCC, and the targets are scaled to the number of calibrated items on the form
(van der Linden 2005, ch. 5: targets are sums over items, so a per-item target times the items that enter
the sum is the same target).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from certbank_core.errors import AssemblyError
from psychometrics.irt import models

from .model import Blueprint, ItemBoundRule, language_name
from .verify import FormDraft, ResolvedTarget

NUMERIC_COLUMNS = ("p_value", "point_biserial", "a", "b", "c", "D", "exposure_count")
TEXT_COLUMNS = ("status", "primary_competency", "area", "cognitive_level", "key", "languages", "es_status",
                "last_used_form")


@dataclass(frozen=True)
class PoolView:
    """The pool after eligibility: which items may fill scored / pretest slots, and why others may not.

    ``reason`` holds, for every pool row, '' if eligible for its role or the first reason it is not, in words
    that complete "items ..." ("without reviewed Spanish text", "used on the last 2 forms").
    ``anchor_ids``: the reference form's scored items that may be anchors now (eligible for scored slots,
    with IRT parameters and classical statistics); ``anchor_form`` is that form (None: no reference anchor).
    """

    pool: pd.DataFrame  # normalised pool, all rows, with columns role ('scored'|'pretest'|'') and reason
    scored: pd.DataFrame
    pretest: pd.DataFrame
    item_bounds: tuple[ItemBoundRule, ...]
    means: tuple
    targets: tuple[ResolvedTarget, ...]
    notes: tuple[str, ...]
    eligibility_words: str  # e.g. "with reviewed Spanish text"
    anchor_form: FormDraft | None = None
    anchor_ids: frozenset = frozenset()
    earlier_forms: tuple[FormDraft, ...] = ()  # the recent published forms the overlap cap applies to


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


def function_matrix(items: pd.DataFrame, theta: np.ndarray, function: str) -> np.ndarray:
    """Item information or item P(θ) for each θ point: (n_theta, n_items). D is folded into the slope;
    items without parameters contribute 0 (they are not in the sums; see the module docstring)."""
    a = items["a"].to_numpy(float) * items["D"].fillna(1.0).to_numpy(float)
    b, c = items["b"].to_numpy(float), items["c"].fillna(0.0).to_numpy(float)
    if function == "information":
        out = models.item_information(theta, a, b, c)
    else:
        out = models.probability(theta, a, b, c)
    return np.nan_to_num(np.asarray(out, dtype=float), nan=0.0)


def eligible_pool(blueprint: Blueprint, pool: pd.DataFrame, recent_forms: Sequence[str] = (),
                  reference_items: Sequence[str] | None = None, *, earlier_forms: Sequence[FormDraft] = (),
                  anchor_form: FormDraft | None = None) -> PoolView:
    """Decide each item's role and, if it cannot serve, the first reason why; resolve statistical targets
    and the anchor reference.

    ``reference_items``: the scored items of the reference form when the blueprint's targets are relative
    to a form (``targets.reference = "form:<id>"``); they may be ineligible themselves (e.g. just used).
    ``earlier_forms``: published forms, newest first; ``anchor_form``: the anchor's reference form (default:
    the newest earlier form for ``anchor.reference = "latest"``).
    """
    bp, el = blueprint, blueprint.eligibility
    pool = normalize_pool(pool)
    earlier_forms = tuple(earlier_forms)
    if not recent_forms and earlier_forms:
        recent_forms = [f.name for f in earlier_forms]
    notes: list[str] = []
    role = pd.Series(np.where(pool["status"].isin(el.scored_statuses), "scored",
                              np.where(pool["status"].isin(el.pretest_statuses), "pretest", "")), index=pool.index)
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
    if not el.pretest_repeat:
        # Pretested once, with statistics: it waits for promotion instead of taking another pretest slot.
        exclude((role == "pretest") & (pool["exposure_count"] > 0) & pool["p_value"].notna(),
                "already pretested on a published form")

    scored_status = role == "scored"
    lacking = pd.Series(False, index=pool.index)  # scored-status items that lack a statistic a rule needs
    applicable_bounds, applicable_means = [], []
    for rule in bp.active_item_bounds + bp.active_means:
        values = pool[rule.attribute] if rule.attribute in pool.columns else pd.Series(np.nan, index=pool.index)
        if not values[scored_status].notna().any():
            notes.append(f"Rule {rule.name!r} skipped: no item for scored slots has a {rule.attribute} yet.")
            continue
        if el.without_statistics == "exclude":
            exclude(scored_status & values.isna(), f"without a {rule.attribute}")
        lacking |= scored_status & values.isna()
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
    if wanted:
        if not has_irt[scored_status].any():
            notes.append("Statistical targets skipped: no item for scored slots has IRT parameters yet "
                         "(calibrate, then assemble again).")
            wanted = []
        else:
            lacking |= scored_status & ~has_irt
            if el.without_statistics == "exclude":
                exclude(scored_status & ~has_irt, "without IRT parameters")
                eligibility_words += f"{', ' if eligibility_words else ''}with IRT parameters"
    if el.without_statistics == "pretest":
        # Not yet fit for a scored slot, but a pretest slot is exactly how it gets its statistics.
        role[lacking & (reason == "")] = "pretest"
    if el.without_statistics != "exclude" and lacking[reason == ""].any() and (applicable_means or
                                                                               applicable_bounds or wanted):
        n = int((lacking & (reason == "")).sum())
        notes.append(f"{n} eligible item(s) lack statistics or IRT parameters (eligibility.without_statistics = "
                     f"\"{el.without_statistics}\"): "
                     + ("they may fill scored slots; mean rules are computed over the form's items that have the "
                        "statistic, per-item bounds apply to items that have it, and information/TCC targets are "
                        "scaled to the number of calibrated items on each form (target × n / length)."
                        if el.without_statistics == "allow" else "they may fill pretest slots only."))
    pool["role"] = np.where(reason == "", role, "")
    pool["reason"] = reason
    scored = pool[pool["role"] == "scored"]
    pretest = pool[pool["role"] == "pretest"]
    targets = _resolve_targets(bp, pool, scored, wanted, reference_items, notes)

    anchor_ids: frozenset = frozenset()
    if bp.anchor.reference and bp.anchor.min_items > 0:
        if anchor_form is None and bp.anchor.reference == "latest":
            anchor_form = earlier_forms[0] if earlier_forms else None
        if anchor_form is None and bp.anchor.reference == "latest":
            notes.append("Anchor block with an earlier form skipped: no form has been published yet.")
        elif anchor_form is None:
            raise AssemblyError(f"The anchor block is taken from form {bp.anchor.reference_form}, but that form's "
                                "items were not given.")
        else:
            on_ref = {i for i, p in zip(anchor_form.item_ids, anchor_form.pretest) if not p}
            calibrated = has_irt & pool["p_value"].notna() & pool["point_biserial"].notna()
            anchor_ids = frozenset(scored.loc[scored["item_id"].isin(on_ref) & calibrated[scored.index],
                                              "item_id"])
    return PoolView(pool, scored, pretest, tuple(applicable_bounds), tuple(applicable_means), tuple(targets),
                    tuple(notes), eligibility_words, anchor_form, anchor_ids, earlier_forms)


def _resolve_targets(bp: Blueprint, pool: pd.DataFrame, scored: pd.DataFrame, wanted: list,
                     reference_items: Sequence[str] | None, notes: list[str]) -> list[ResolvedTarget]:
    """Concrete target values and tolerances; without values, the pool (or reference form) reference."""
    per_item = bp.eligibility.without_statistics == "allow"
    calibrated = scored[scored["a"].notna() & scored["b"].notna()]
    reference_rows, reference_words = calibrated, f"{bp.exam.length} × the mean over eligible items"
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
    targets = []
    for target in wanted:
        function = "characteristic" if not hasattr(target, "mode") else "information"
        theta = np.asarray(target.theta, dtype=float)
        matrix = function_matrix(reference_rows, theta, function)  # (n_theta, n_reference_items)
        reference = bp.exam.length * matrix.mean(axis=1) if matrix.shape[1] else np.zeros(len(theta))
        mode = getattr(target, "mode", "target")
        values = np.asarray(target.values, dtype=float) if target.values else reference
        tolerance = values * target.tolerance if function == "information" else np.full(len(theta), target.tolerance)
        if not target.values:
            notes.append(f"{'Information' if function == 'information' else 'TCC'} "
                         f"{'weights' if mode == 'maximin' else 'targets'} at θ = "
                         f"{', '.join(f'{t:g}' for t in theta)}: "
                         f"{', '.join(f'{v:.2f}' for v in values)} ({reference_words}).")
        # maximin has no per-item form (t × n would be bilinear): it stays a sum over calibrated items.
        targets.append(ResolvedTarget(function, tuple(theta.tolist()), tuple(values.tolist()),
                                      tuple(tolerance.tolist()), mode, per_item and mode != "maximin"))
    return targets
