"""Differential item functioning (DIF) between a reference and a focal group.

Three methods run on the same matching score (the number-correct total, optionally purified):

- Mantel–Haenszel (Mantel & Haenszel 1959; Holland & Thayer 1988) with the ETS A/B/C rule
  (Dorans & Holland 1993; Zwick 2012, ETS RR-12-08), its significance tests included.
- Logistic regression (Swaminathan & Rogers 1990) with likelihood-ratio tests and Nagelkerke ΔR², classified
  by Zumbo & Thomas (1997) and by Jodoin & Gierl (2001).
- Standardization STD P-DIF (Dorans & Kulick 1986), focal-group weighted, as a descriptive index.

Sign convention (the ETS one): the odds ratio α_MH is reference odds over focal odds, so α_MH > 1 and
**Δ_MH < 0 mean the item is harder for the focal group** than for reference takers of the same total score
(DIF against the focal group); STD P-DIF < 0 says the same on the proportion-correct scale.

Inputs are plain arrays: ``scored`` (n_persons, n_items) of 1/0 with NaN for not presented, and ``focal``
(n_persons,) bool, True for the focal group and False for the reference group. A person is left out of an
item's analysis when the item was not presented to them; their total counts the items they did take.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.dif.logistic import (JODOIN_GIERL_B, JODOIN_GIERL_C, ZUMBO_THOMAS_B, ZUMBO_THOMAS_C, LogisticDif,
                                        effect_size_class, fit_logistic_batch, logistic_dif, nagelkerke_r2)
from psychometrics.dif.mantel_haenszel import (DEFAULT_ALPHA, DELTA_PER_LOG_ODDS, ETS_B_MIN_ABS_DELTA,
                                               ETS_C_MIN_ABS_DELTA, MantelHaenszel, StratumTables, ets_classify,
                                               mantel_haenszel, matching_scores, std_p_dif, stratum_tables)

__all__ = [
    "DEFAULT_ALPHA", "DELTA_PER_LOG_ODDS", "ETS_B_MIN_ABS_DELTA", "ETS_C_MIN_ABS_DELTA", "JODOIN_GIERL_B",
    "JODOIN_GIERL_C", "ZUMBO_THOMAS_B", "ZUMBO_THOMAS_C", "MIN_REFERENCE_N", "MIN_FOCAL_N",
    "MAX_PURIFICATION_ITERATIONS", "ADJUST_METHODS", "FRAME_COLUMNS", "EXTRA_COLUMNS", "StratumTables",
    "MantelHaenszel", "LogisticDif", "DifResult", "split_groups", "matching_scores", "stratum_tables",
    "mantel_haenszel", "ets_classify", "fit_logistic_batch", "nagelkerke_r2", "logistic_dif",
    "effect_size_class", "std_p_dif", "adjust_p_values", "group_display_name", "analyze_dif",
    "analyze_responses",
]

# ---- named constants (one place; the method modules hold their own thresholds) ------------------------------
#: Group sizes below these give a warning (rules of thumb for stable MH/LR estimates; Zwick 2012 discusses
#: the instability of small focal groups). An empty group is an error.
MIN_REFERENCE_N = 200
MIN_FOCAL_N = 100
#: Purification stops when the DIF set repeats or after this many re-analyses (difR uses 10 as well).
MAX_PURIFICATION_ITERATIONS = 10
ADJUST_METHODS = ("bh", "holm")

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese",
                  "vi": "Vietnamese", "ko": "Korean", "ru": "Russian", "ar": "Arabic", "ht": "Haitian Creole"}


# ---- group handling ------------------------------------------------------------------------------------------
def split_groups(labels, focal, reference=None) -> tuple[np.ndarray, np.ndarray]:
    """Turn group labels into (included, focal_mask), both (n_persons,) bool.

    ``focal`` is the focal label; ``reference`` the reference label, or None for "everyone else".
    Persons with a missing label (NaN/None/'') are excluded. Labels are compared as stripped strings so
    that ``1`` and ``"1"`` match.
    """
    lab = pd.Series(np.asarray(labels, dtype=object))
    text = lab.astype(str).str.strip().to_numpy()
    missing = lab.isna().to_numpy() | (text == "")
    is_focal = (text == str(focal).strip()) & ~missing
    if reference is None:
        is_ref = ~is_focal & ~missing
    else:
        is_ref = (text == str(reference).strip()) & ~missing
    return is_focal | is_ref, is_focal


def _check_inputs(scored, focal) -> tuple[np.ndarray, np.ndarray]:
    scored = np.asarray(scored, dtype=float)
    focal = np.asarray(focal)
    if scored.ndim != 2:
        raise InputError(f"scored responses must be a persons × items table, got {scored.ndim} dimension(s).")
    if focal.shape != (scored.shape[0],):
        raise InputError(f"the group vector has {focal.size} entries but there are {scored.shape[0]} persons.")
    focal = focal.astype(bool)
    ok = np.isnan(scored) | (scored == 0) | (scored == 1)
    if not ok.all():
        raise InputError("scored responses must be 0, 1 or blank (not presented); found other values.")
    problems = []
    if not focal.any():
        problems.append("the focal group is empty: nobody has the focal group value.")
    if focal.all():
        problems.append("the reference group is empty: everyone is in the focal group.")
    if problems:
        raise InputError(problems)
    return scored, focal


# ---- multiple comparisons ------------------------------------------------------------------------------------
def adjust_p_values(p, method: str | None) -> np.ndarray:
    """Adjusted p-values; NaN entries are left out of the family and stay NaN.

    "bh": Benjamini & Hochberg (1995) step-up, p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j);
    "holm": Holm (1979) step-down, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)); None: unchanged.
    """
    p = np.asarray(p, float)
    if method is None:
        return p.copy()
    method = method.lower()
    if method not in ADJUST_METHODS:
        raise InputError(f"unknown p-value adjustment '{method}'; use one of: {', '.join(ADJUST_METHODS)}.")
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    ranked = vals[order]
    i = np.arange(1, m + 1)
    if method == "bh":
        adj = np.minimum.accumulate((m * ranked / i)[::-1])[::-1]
    else:
        adj = np.maximum.accumulate((m - i + 1) * ranked)
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


# ---- the whole analysis --------------------------------------------------------------------------------------
FRAME_COLUMNS = ("item_id", "n_ref", "n_focal", "mh_chi2", "mh_p", "alpha_mh", "delta_mh", "delta_se",
                 "ets_class", "lr_chi2_uniform", "lr_chi2_nonuniform", "lr_chi2_both", "lr_p", "delta_r2",
                 "zt_class", "jg_class", "std_p_dif", "flagged")
EXTRA_COLUMNS = ("ets_level", "mh_p_adjusted", "lr_p_adjusted", "lr_p_uniform", "lr_p_nonuniform",
                 "delta_r2_uniform", "delta_r2_nonuniform", "disadvantaged", "in_anchor")


def _frozen(a) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class DifResult:
    """DIF of every item between one reference and one focal group. Arrays are (n_items,).

    ``flagged`` is True for ETS class B or C, or a significant 2-df LR test with a Jodoin–Gierl class of B or C
    (significance after the requested p-value adjustment). ``warnings`` lists small groups, items that could not
    be analysed, and purification that did not converge.
    """

    item_ids: tuple[str, ...]
    reference_label: str
    focal_label: str
    n_reference: int
    n_focal_total: int
    n_ref: np.ndarray
    n_focal: np.ndarray
    mh_chi2: np.ndarray
    mh_p: np.ndarray
    mh_p_adjusted: np.ndarray
    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    delta_se: np.ndarray
    ets_level: np.ndarray
    ets_class: np.ndarray
    lr_chi2_uniform: np.ndarray
    lr_chi2_nonuniform: np.ndarray
    lr_chi2_both: np.ndarray
    lr_p: np.ndarray
    lr_p_adjusted: np.ndarray
    lr_p_uniform: np.ndarray
    lr_p_nonuniform: np.ndarray
    delta_r2: np.ndarray
    delta_r2_uniform: np.ndarray
    delta_r2_nonuniform: np.ndarray
    zt_class: np.ndarray
    jg_class: np.ndarray
    std_p_dif: np.ndarray
    flagged: np.ndarray
    in_anchor: np.ndarray
    alpha: float = DEFAULT_ALPHA
    adjust: str | None = None
    purified: bool = False
    purification_iterations: int = 0
    purification_converged: bool = True
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: which groups were compared, as the shared Flag.group ('language=es', 'gender=1', or 'focal').
    comparison: str = "focal"

    @property
    def disadvantaged(self) -> np.ndarray:
        """Which group the item works against, by the sign of Δ_MH ('' for ETS class A)."""
        out = np.where(self.delta_mh < 0, self.focal_label, self.reference_label).astype(object)
        out[(self.ets_level == "A") | (self.ets_level == "")] = ""
        return out

    def to_frame(self, texts: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per item: the FRAME_COLUMNS in order, then EXTRA_COLUMNS.

        ``texts`` (e.g. ``Bank.item_texts``: item_id, stem_en, stem_es, ...) adds its ``stem_*`` columns at the
        end, so reviewers read the two language versions side by side; items it lacks get ''.
        """
        data = {"item_id": list(self.item_ids)}
        for name in FRAME_COLUMNS[1:] + EXTRA_COLUMNS:
            data[name] = getattr(self, name)
        frame = pd.DataFrame(data)
        frame["flagged"] = frame["flagged"].astype(bool)
        frame["in_anchor"] = frame["in_anchor"].astype(bool)
        if texts is not None and len(texts):
            stems = [c for c in texts.columns if str(c).startswith("stem_")]
            by_id = texts.drop_duplicates("item_id").set_index("item_id")
            for col in stems:
                frame[col] = [str(by_id[col].get(i, "")) if i in by_id.index else "" for i in self.item_ids]
        return frame

    def flag_reasons(self) -> list[dict]:
        """One row per flagged item: item_id, code, severity, reason, suggested_action, value.

        MH classes B/C give codes DIF_MH_B / DIF_MH_C (value Δ_MH); items flagged by logistic regression only give
        DIF_LR_B / DIF_LR_C (value ΔR²). Severity (psychometrics.flags vocabulary): C → severe, B → review;
        action: C → revise (have bilingual experts compare the versions; revise or retire), B → keep (usable;
        prefer A items when assembling forms, Zwick 2012).
        """
        rows = []
        for j in np.flatnonzero(self.flagged):
            item = self.item_ids[j]
            level = self.ets_level[j]
            d = self.delta_mh[j]
            if level in ("B", "C"):
                harder_for, easier_for = ((self.focal_label, self.reference_label) if d < 0
                                          else (self.reference_label, self.focal_label))
                reason = (f"Item {item} is harder for {harder_for} takers than for {easier_for} takers of the same "
                          f"total score (ETS class {level}, Δ = {_fmt_signed(d)}).")
                code, value, grade = f"DIF_MH_{level}", float(d), level
            else:
                kind = "uniform" if self.lr_chi2_uniform[j] >= self.lr_chi2_nonuniform[j] else "nonuniform"
                reason = (f"Item {item} works differently for {self.reference_label} and {self.focal_label} takers "
                          f"of the same total score (logistic regression, mainly {kind} DIF, "
                          f"ΔR² = {self.delta_r2[j]:.3f}, Jodoin–Gierl class {self.jg_class[j]}).")
                code, value, grade = f"DIF_LR_{self.jg_class[j]}", float(self.delta_r2[j]), self.jg_class[j]
            severity, action = ("severe", "revise") if grade == "C" else ("review", "keep")
            rows.append({"item_id": item, "code": code, "severity": severity, "reason": reason,
                         "suggested_action": action, "value": value})
        return rows

    def flags(self):
        """DIF flags in the shared item-flag form: a list of ``psychometrics.flags.Flag`` when that type exists,
        else a DataFrame with item_id, code, severity, reason, suggested_action."""
        rows = self.flag_reasons()
        try:
            from psychometrics.flags import Flag
        except ImportError:  # pragma: no cover - the shared Flag type is optional for this module
            return pd.DataFrame(rows, columns=["item_id", "code", "severity", "reason", "suggested_action"])
        return [Flag(source="dif", group=self.comparison, **row) for row in rows]


def _fmt_signed(x: float) -> str:
    return f"{x:.1f}".replace("-", "−")


def group_display_name(value) -> str:
    """'es' → 'Spanish'; anything else as given."""
    text = str(value).strip()
    return LANGUAGE_NAMES.get(text.lower(), text)


def analyze_dif(scored, focal, item_ids=None, *, purify: bool = False, adjust: str | None = None,
                alpha: float = DEFAULT_ALPHA, reference_label: str = "reference", focal_label: str = "focal",
                correct: bool | str = True, pretest=()) -> DifResult:
    """Mantel–Haenszel, logistic-regression and standardization DIF for every item.

    scored: (n_persons, n_items) 1/0/NaN; focal: (n_persons,) bool (True = focal group).
    purify: iteratively drop items with a significant MH χ² (p < alpha) from the matching score, re-analyse,
    and stop when the DIF set repeats (Holland & Thayer 1988; Zwick 2012, §2.3; at most
    MAX_PURIFICATION_ITERATIONS re-analyses). All three methods then use the purified matching score.
    pretest: item ids that do not count in the candidates' score. They are studied but never part of the
    matching score of other items (the criterion is the operational score, as in the CTT total; a pretest item
    is matched on the operational total plus itself, Holland & Thayer 1988), and purification never adds them.
    adjust: None, "bh" or "holm"; the adjusted MH p decides "significant" in the ETS A test and the adjusted
    LR p in the ΔR² classes and flags (the one-sided C test stays at alpha).
    Raises InputError when a group is empty or the data are not 0/1/NaN.
    """
    scored, focal = _check_inputs(scored, focal)
    n_persons, n_items = scored.shape
    item_ids = tuple(str(i) for i in (item_ids if item_ids is not None else [f"item{j + 1}" for j in range(n_items)]))
    if len(item_ids) != n_items:
        raise InputError(f"{len(item_ids)} item ids given for {n_items} items.")
    if adjust is not None and adjust.lower() not in ADJUST_METHODS:
        raise InputError(f"unknown p-value adjustment '{adjust}'; use one of: {', '.join(ADJUST_METHODS)}.")
    adjust = adjust.lower() if adjust else None
    warnings: list[str] = []

    pretest_set = {str(i) for i in pretest}
    unknown = sorted(pretest_set - set(item_ids))
    if unknown:
        raise InputError(f"pretest item(s) {', '.join(unknown[:10])} are not in the responses.")
    operational = np.array([i not in pretest_set for i in item_ids], bool)
    if not operational.any():
        raise InputError("every item is a pretest item: there is no operational score to match candidates on.")
    anchor = operational.copy()
    iterations, converged = 0, True
    tables = stratum_tables(scored, focal, matching_scores(scored, anchor))
    mh = mantel_haenszel(tables, correct)
    if purify:
        seen = {tuple(anchor)}
        converged = False
        for iterations in range(1, MAX_PURIFICATION_ITERATIONS + 1):
            dif = mh.p_value < alpha
            new_anchor = ~dif & operational
            if new_anchor.sum() == 0:
                warnings.append("Purification stopped: every item showed DIF, so no anchor items were left.")
                break
            if np.array_equal(new_anchor, anchor):
                converged = True
                break
            if tuple(new_anchor) in seen:
                warnings.append("Purification stopped: the set of DIF items started to cycle.")
                break
            seen.add(tuple(new_anchor))
            anchor = new_anchor
            tables = stratum_tables(scored, focal, matching_scores(scored, anchor))
            mh = mantel_haenszel(tables, correct)
        if not converged and not warnings:
            warnings.append(f"Purification did not converge in {MAX_PURIFICATION_ITERATIONS} iterations; "
                            "results use the last matching score.")
    match = matching_scores(scored, anchor)
    lr = logistic_dif(scored, focal, match)

    mh_p_adj = adjust_p_values(mh.p_value, adjust)
    lr_p_adj = adjust_p_values(lr.p_both, adjust)
    level, signed = ets_classify(mh.delta_mh, mh.delta_se, mh_p_adj, alpha)
    lr_sig = lr_p_adj < alpha
    zt = effect_size_class(lr.delta_r2_both, lr_sig, ZUMBO_THOMAS_B, ZUMBO_THOMAS_C)
    jg = effect_size_class(lr.delta_r2_both, lr_sig, JODOIN_GIERL_B, JODOIN_GIERL_C)
    flagged = np.isin(level, ["B", "C"]) | (lr_sig & np.isin(jg, ["B", "C"]))

    presented = ~np.isnan(scored)
    n_ref = (presented & ~focal[:, None]).sum(0)
    n_foc = (presented & focal[:, None]).sum(0)
    n_reference, n_focal_total = int((~focal).sum()), int(focal.sum())
    if n_reference < MIN_REFERENCE_N:
        warnings.append(f"The {reference_label} group has only {n_reference} takers (fewer than "
                        f"{MIN_REFERENCE_N}); DIF statistics are unstable at this size.")
    if n_focal_total < MIN_FOCAL_N:
        warnings.append(f"The {focal_label} group has only {n_focal_total} takers (fewer than {MIN_FOCAL_N}); "
                        "DIF statistics are unstable at this size.")
    if n_reference >= MIN_REFERENCE_N and n_focal_total >= MIN_FOCAL_N:
        thin = [item_ids[j] for j in np.flatnonzero((n_ref < MIN_REFERENCE_N) | (n_foc < MIN_FOCAL_N))]
        if thin:
            warnings.append(f"Fewer than {MIN_REFERENCE_N} {reference_label} or {MIN_FOCAL_N} {focal_label} takers "
                            "saw " + ", ".join(thin) + "; their DIF statistics are unstable.")
    bad = [item_ids[j] for j in np.flatnonzero(~np.isfinite(mh.delta_mh) | ~np.isfinite(lr.chi2_both))]
    if bad:
        warnings.append("DIF could not be estimated for " + ", ".join(bad) + " (everyone in a group or in every "
                        "score level got it right, or wrong, or it was not presented to both groups).")

    return DifResult(
        item_ids=item_ids, reference_label=reference_label, focal_label=focal_label, n_reference=n_reference,
        n_focal_total=n_focal_total, n_ref=_frozen(n_ref), n_focal=_frozen(n_foc), mh_chi2=_frozen(mh.chi2),
        mh_p=_frozen(mh.p_value), mh_p_adjusted=_frozen(mh_p_adj), alpha_mh=_frozen(mh.alpha_mh),
        delta_mh=_frozen(mh.delta_mh), delta_se=_frozen(mh.delta_se), ets_level=_frozen(level),
        ets_class=_frozen(signed), lr_chi2_uniform=_frozen(lr.chi2_uniform),
        lr_chi2_nonuniform=_frozen(lr.chi2_nonuniform), lr_chi2_both=_frozen(lr.chi2_both),
        lr_p=_frozen(lr.p_both), lr_p_adjusted=_frozen(lr_p_adj), lr_p_uniform=_frozen(lr.p_uniform),
        lr_p_nonuniform=_frozen(lr.p_nonuniform), delta_r2=_frozen(lr.delta_r2_both),
        delta_r2_uniform=_frozen(lr.delta_r2_uniform), delta_r2_nonuniform=_frozen(lr.delta_r2_nonuniform),
        zt_class=_frozen(zt), jg_class=_frozen(jg), std_p_dif=_frozen(std_p_dif(tables)),
        flagged=_frozen(flagged), in_anchor=_frozen(anchor), alpha=alpha, adjust=adjust, purified=purify,
        purification_iterations=iterations, purification_converged=converged, warnings=tuple(warnings))


# ---- from a response file --------------------------------------------------------------------------------------
#: The default grouping: language, English as reference and Spanish as focal, when both are present.
DEFAULT_GROUP_COLUMN = "language"
DEFAULT_REFERENCE, DEFAULT_FOCAL = "en", "es"


def analyze_responses(matrix, group: str | None = None, focal=None, reference=None, *, purify: bool = False,
                      adjust: str | None = None, alpha: float = DEFAULT_ALPHA, pretest=()) -> DifResult:
    """DIF for a ``psychometrics.responses.matrix.ResponseMatrix``, grouping persons by one of its group columns.

    Without ``group``: the ``language`` column with ``en`` as reference and ``es`` as focal, which must both be
    present. With ``group`` and no ``focal``: allowed only for ``language`` (focal ``es``). ``reference`` None
    means everyone not in the focal group (persons with a blank group value are left out).
    pretest: item ids left out of the matching score (see ``analyze_dif``).
    Raises InputError with every problem found (unknown column, missing focal value, empty group).
    """
    groups = matrix.groups
    columns = {str(c).lower(): c for c in groups.columns}
    problems = []
    if group is None:
        col = columns.get(DEFAULT_GROUP_COLUMN)
        if col is None:
            raise InputError("The response file has no 'language' column; choose the groups with --group COLUMN "
                             "--focal VALUE.")
        values = set(groups[col].astype(str).str.strip().str.lower())
        missing = [v for v in (DEFAULT_REFERENCE, DEFAULT_FOCAL) if v not in values]
        if missing:
            raise InputError(f"DIF by language needs both 'en' and 'es' takers, but the language column has no "
                             f"{' or '.join(repr(m) for m in missing)}; choose the groups with --group COLUMN "
                             "--focal VALUE.")
        group, focal, reference = col, DEFAULT_FOCAL, DEFAULT_REFERENCE
    else:
        col = columns.get(str(group).lower())
        if col is None:
            names = ", ".join(map(str, groups.columns)) or "none"
            raise InputError(f"The response file has no column '{group}' (group columns: {names}).")
        if focal is None:
            if str(col).lower() != DEFAULT_GROUP_COLUMN:
                raise InputError(f"Say which value of '{col}' is the focal group (--focal VALUE).")
            focal, reference = DEFAULT_FOCAL, DEFAULT_REFERENCE if reference is None else reference
        group = col
    labels = groups[group].astype(str).str.strip()
    is_language = str(group).lower() == DEFAULT_GROUP_COLUMN
    if is_language:
        labels = labels.str.lower()
        focal = str(focal).strip().lower()
        reference = None if reference is None else str(reference).strip().lower()
    included, is_focal = split_groups(labels.to_numpy(), focal, reference)
    if not is_focal.any():
        problems.append(f"No taker has {group} = '{focal}', so the focal group is empty.")
    if not (included & ~is_focal).any():
        what = f"{group} = '{reference}'" if reference is not None else f"{group} other than '{focal}'"
        problems.append(f"No taker has {what}, so the reference group is empty.")
    if problems:
        raise InputError(problems)
    if is_language:
        focal_label = group_display_name(focal)
        reference_label = group_display_name(reference) if reference is not None else f"non-{focal_label}"
    else:
        focal_label = f"{group} {focal}"
        reference_label = f"{group} {reference}" if reference is not None else f"{group} other than {focal}"
    result = analyze_dif(matrix.scored[included], is_focal[included], matrix.item_ids, purify=purify,
                         adjust=adjust, alpha=alpha, reference_label=reference_label, focal_label=focal_label,
                         pretest=pretest)
    extra = []
    form_col = columns.get("form_id")
    if form_col is not None:
        n_forms = groups.loc[included, form_col].astype(str).nunique()
        if n_forms > 1:
            extra.append(f"The file holds {n_forms} forms: total scores from different forms are not on one "
                         "scale, so run DIF one form at a time (--form).")
    return replace(result, warnings=result.warnings + tuple(extra), comparison=f"{group}={focal}")
