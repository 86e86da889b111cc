"""Item flags: the one home for "this item needs a look", whatever statistic raised it (CTT, IRT, DIF).

A ``Flag`` says which item, what (``code``), how bad (``severity``: review < severe < critical), why (one
plain-English sentence with the numbers, for a board), and what to do (``suggested_action``: keep, revise,
retire, check key). CTT flags come from ``ctt_flags``; IRT and DIF code build ``Flag`` objects of their own
and everything is combined with ``merge_flags``.

Default thresholds (``Thresholds``; every one configurable and written out with the results) follow common
certification practice: P < .30 or > .90 review, P ≤ .20 or ≥ .95 severe (an item almost nobody or almost
everybody answers is a decision, not a note);
corrected point-biserial < .20 review, < .10 severe, ≤ 0 critical; key check when a distractor's
point-biserial is at least the key's, or a distractor draws more of the top score group than the key;
omit rate > 5%; a distractor chosen by < 2% is not functioning.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

#: Severities from mildest to worst.
SEVERITIES = ("review", "severe", "critical")
#: Suggested actions, from the one that wins least to the one that wins most when an item has several flags.
ACTIONS = ("keep", "revise", "retire", "check key")
SOURCES = ("ctt", "irt", "dif")

# Flag codes raised by classical analysis.
P_LOW = "P_LOW"
P_HIGH = "P_HIGH"
DISCRIMINATION_LOW = "RPBIS_LOW"
DISCRIMINATION_NEGATIVE = "RPBIS_NEGATIVE"
NO_VARIANCE = "NO_VARIANCE"
NO_DATA = "NO_DATA"
SMALL_N = "SMALL_N"
KEY_CHECK_RPBIS = "KEY_CHECK_RPBIS"
KEY_CHECK_TOP_GROUP = "KEY_CHECK_TOP_GROUP"
OMIT_RATE = "OMIT_RATE"
NONFUNCTIONING_DISTRACTOR = "NONFUNCTIONING_DISTRACTOR"


#: Rows of option tables that are not options (ctt.OMIT_LABEL, ctt.NOT_REACHED_LABEL).
NON_OPTION_ROWS = ("omit", "not reached")
#: A correlation within this of a limit counts as on it (floating-point noise must not decide a severity).
ROUNDING_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds. P bounds are proportions correct; discrimination is the corrected point-biserial."""

    p_review_low: float = 0.30
    p_review_high: float = 0.90
    p_severe_low: float = 0.20  # P ≤ this is severe
    p_severe_high: float = 0.95  # P ≥ this is severe
    rpbis_review: float = 0.20
    rpbis_severe: float = 0.10
    rpbis_critical: float = 0.0  # r ≤ this is critical
    omit_rate: float = 0.05
    distractor_min_proportion: float = 0.02
    min_n: int = 30  # fewer candidates than this: statistics unstable

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Flag:
    """One reason to look at one item.

    detail: what inside the item the flag is about (an option label), so several flags of one code can
    coexist; group: which candidates ('all', 'language=es', ...); value: the statistic that triggered it.
    """

    item_id: str
    code: str
    severity: str
    reason: str
    suggested_action: str
    source: str = "ctt"
    group: str = "all"
    detail: str = ""
    value: float = float("nan")

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.suggested_action not in ACTIONS:
            raise ValueError(f"suggested_action must be one of {ACTIONS}, not {self.suggested_action!r}")


def merge_flags(*flag_lists: Iterable[Flag]) -> list[Flag]:
    """Combine flag lists (CTT, IRT, DIF, ...) into one: duplicates (same item, code, source, group, detail)
    keep the worst severity; sorted by item, then worst severity first, then source and code.
    """
    best: dict[tuple, Flag] = {}
    for flags in flag_lists:
        for f in flags or ():
            k = (f.item_id, f.code, f.source, f.group, f.detail)
            if k not in best or SEVERITIES.index(f.severity) > SEVERITIES.index(best[k].severity):
                best[k] = f
    return sorted(best.values(), key=lambda f: (f.item_id, -SEVERITIES.index(f.severity), f.source, f.group,
                                                f.code, f.detail))


def flags_frame(flags: Sequence[Flag]) -> pd.DataFrame:
    """One row per flag (columns item_id, group, source, code, severity, detail, value, reason, suggested_action)."""
    cols = ["item_id", "group", "source", "code", "severity", "detail", "value", "reason", "suggested_action"]
    return pd.DataFrame([{c: getattr(f, c) for c in cols} for f in flags], columns=cols)


def item_summary(flags: Sequence[Flag], item_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Per item: number of flags, worst severity, codes ('; '-joined) and the suggested action that wins
    (check key > retire > revise > keep). Items without flags get action 'keep'.
    """
    rows = {}
    for i in item_ids or ():
        rows[i] = {"item_id": i, "n_flags": 0, "worst_severity": "", "flags": "", "suggested_action": "keep"}
    for f in merge_flags(flags):
        r = rows.setdefault(f.item_id, {"item_id": f.item_id, "n_flags": 0, "worst_severity": "", "flags": "",
                                        "suggested_action": "keep"})
        r["n_flags"] += 1
        if not r["worst_severity"] or SEVERITIES.index(f.severity) > SEVERITIES.index(r["worst_severity"]):
            r["worst_severity"] = f.severity
        codes = [c for c in r["flags"].split("; ") if c]
        if f.code not in codes:
            r["flags"] = "; ".join(codes + [f.code])
        if ACTIONS.index(f.suggested_action) > ACTIONS.index(r["suggested_action"]):
            r["suggested_action"] = f.suggested_action
    return pd.DataFrame(list(rows.values()),
                        columns=["item_id", "n_flags", "worst_severity", "flags", "suggested_action"])


# ------------------------------------------------------------------------------------------------------
# Classical flags
# ------------------------------------------------------------------------------------------------------

def _pct(x: float) -> str:
    """41% / 1.5% / 0%: whole percents unless below 10% and not whole."""
    v = 100 * x
    if v >= 9.95 or abs(v - round(v)) < 1e-9:
        return f"{v:.0f}%"
    return f"{v:.1f}%"


def ctt_flags(analysis, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Flag]:
    """Flags from one ``ctt.ItemAnalysis`` (difficulty, discrimination, key checks, omits, distractors).

    Degenerate items (nobody reached it, no variance, tiny N) get a flag instead of a number.
    """
    t = thresholds
    group = analysis.label
    items = analysis.items
    out: list[Flag] = []
    disc_name = "item–rest correlation" if analysis.corrected else "item–total correlation"
    disc = items.point_biserial if analysis.corrected else items.point_biserial_total

    def add(item, code, severity, reason, action, detail="", value=float("nan")):
        out.append(Flag(item, code, severity, reason, action, "ctt", group, detail, float(value)))

    for j, item in enumerate(items.item_ids):
        n, p, r = int(items.n[j]), float(items.p_value[j]), float(disc[j])
        if n == 0:
            add(item, NO_DATA, "severe", "No candidate is counted for this item (none reached or answered it), so it has no statistics.", "revise")
            continue
        if n < t.min_n:
            add(item, SMALL_N, "review", f"Only {n} candidate{'s' if n != 1 else ''} counted for this item; "
                "its statistics are unstable "
                f"below {t.min_n}.", "keep", value=n)
        if p <= t.p_severe_low + ROUNDING_TOLERANCE:
            add(item, P_LOW, "severe", f"Only {_pct(p)} answered correctly (P = {p:.2f}, at or below {t.p_severe_low:.2f}): "
                "very hard; check the key and the wording.", "revise", value=p)
        elif p < t.p_review_low:
            add(item, P_LOW, "review", f"{_pct(p)} answered correctly (P = {p:.2f}, below {t.p_review_low:.2f}): "
                "hard.", "keep", value=p)
        if p >= t.p_severe_high - ROUNDING_TOLERANCE:
            add(item, P_HIGH, "severe", f"{_pct(p)} answered correctly (P = {p:.2f}, at or above "
                f"{t.p_severe_high:.2f}): very easy; it tells candidates apart very little.", "revise", value=p)
        elif p > t.p_review_high:
            add(item, P_HIGH, "review", f"{_pct(p)} answered correctly (P = {p:.2f}, above {t.p_review_high:.2f}): "
                "easy.", "keep", value=p)
        if not np.isfinite(r):
            why = ("every candidate answered it correctly" if p == 1 else
                   "no candidate answered it correctly" if p == 0 else
                   "all candidates who reached it have the same rest score")
            add(item, NO_VARIANCE, "severe", f"Its discrimination cannot be computed: {why} (N = {n}).", "revise")
        elif r <= t.rpbis_critical + ROUNDING_TOLERANCE:
            add(item, DISCRIMINATION_NEGATIVE, "critical", f"The {disc_name} is {r:.2f} (at or below "
                f"{t.rpbis_critical:.2f}): candidates who did worse on the rest of the test did as well or better "
                "on this item. Check the key; retire the item if the key is right.", "check key", value=r)
        elif r < t.rpbis_severe:
            add(item, DISCRIMINATION_LOW, "severe", f"The {disc_name} is {r:.2f} (below {t.rpbis_severe:.2f}): "
                "the item barely separates stronger from weaker candidates.", "revise", value=r)
        elif r < t.rpbis_review:
            add(item, DISCRIMINATION_LOW, "review", f"The {disc_name} is {r:.2f} (below {t.rpbis_review:.2f}): "
                "weak discrimination.", "revise", value=r)
        reached = int(items.n_reached[j])
        omit_rate = items.omits[j] / reached if reached else 0.0
        if omit_rate > t.omit_rate:
            add(item, OMIT_RATE, "review", f"{_pct(omit_rate)} of the candidates who reached this item left it "
                f"blank ({int(items.omits[j])} of {reached}; more than {_pct(t.omit_rate)}): it may be unclear.",
                "revise", value=omit_rate)

    out += _option_flags(analysis, t, disc_name, group)
    return merge_flags(out)


def _option_flags(analysis, t: Thresholds, disc_name: str, group: str) -> list[Flag]:
    """Key checks and non-functioning distractors, found with array masks; text is built only for hits."""
    opts, quant, items = analysis.options, analysis.quantiles, analysis.items
    if set(items.key) <= {"0", "1"}:
        return []  # already-scored data: no real options to judge
    out: list[Flag] = []
    real = ~np.isin(opts.option.astype(str), NON_OPTION_ROWS)
    item_pos = {item: j for j, item in enumerate(items.item_ids)}
    key_r = {i: r for i, r, k, m in zip(opts.item_id, opts.point_biserial, opts.is_key, real) if k and m}
    top = quant.n_groups
    in_top = (quant.group == top) & ~np.isin(quant.option.astype(str), NON_OPTION_ROWS)
    top_prop = dict(zip(zip(quant.item_id[in_top], quant.option[in_top]), quant.proportion[in_top]))
    lo, hi = quant.group_score_min[top - 1], quant.group_score_max[top - 1]
    top_range = f"scores {lo:.0f}–{hi:.0f}" if np.isfinite(lo) else "top score group"
    key_of = dict(zip(items.item_ids, items.key))

    distractor = real & ~opts.is_key
    key_r_arr = np.array([key_r.get(i, np.nan) for i in opts.item_id], dtype=float)
    with np.errstate(invalid="ignore"):
        rpbis_hit = distractor & (opts.n > 0) & (opts.point_biserial >= key_r_arr)
        rare_hit = distractor & (opts.proportion < t.distractor_min_proportion)
    # one key-check flag per item and criterion, naming the strongest rival of the key (and any others)
    for item, (opt, rv), others in _strongest(opts.item_id, opts.option, opts.point_biserial, rpbis_hit):
        also = "".join(f" Option {o} ({v:.2f}) does too." for o, v in others)
        out.append(Flag(item, KEY_CHECK_RPBIS, "severe",
                        f"Option {opt} correlates {rv:.2f} with the rest score, at least as much as the key "
                        f"{key_of[item]} ({key_r[item]:.2f}): check the key.{also}", "check key", "ctt", group, opt,
                        rv))
    for r in np.flatnonzero(rare_hit):
        item, opt, prop, n = opts.item_id[r], opts.option[r], float(opts.proportion[r]), int(opts.n[r])
        n_item = int(items.n[item_pos[item]])
        out.append(Flag(item, NONFUNCTIONING_DISTRACTOR, "review",
                        f"Option {opt} was chosen by {_pct(prop)} of candidates ({n} of {n_item}; fewer than "
                        f"{_pct(t.distractor_min_proportion)}): it does not distract anyone; rewrite it.",
                        "revise", "ctt", group, opt, prop))
    dist_top = np.array([top_prop.get((i, o), np.nan) for i, o in zip(opts.item_id, opts.option)], dtype=float)
    key_top = np.array([top_prop.get((i, key_of[i]), np.nan) for i in opts.item_id], dtype=float)
    with np.errstate(invalid="ignore"):
        top_hit = distractor & (dist_top > key_top)
    for item, (opt, dt), others in _strongest(opts.item_id, opts.option, dist_top, top_hit):
        also = "".join(f" Option {o} ({_pct(v)}) does too." for o, v in others)
        kt = top_prop[(item, key_of[item])]
        out.append(Flag(item, KEY_CHECK_TOP_GROUP, "severe",
                        f"Option {opt} was chosen by {_pct(dt)} of top scorers ({top_range}), more than the "
                        f"key {key_of[item]} ({_pct(kt)}): check the key.{also}", "check key", "ctt", group, opt,
                        float(dt)))
    return out


def _strongest(item_ids, options, values, hit):
    """For each item with hits: (item, (option with the largest value, value), [(other option, value), ...])."""
    by_item: dict[str, list[tuple[float, str]]] = {}
    for r in np.flatnonzero(hit):
        by_item.setdefault(item_ids[r], []).append((float(values[r]), str(options[r])))
    for item, rows in by_item.items():
        rows.sort(key=lambda vo: (-vo[0], vo[1]))
        yield item, (rows[0][1], rows[0][0]), [(o, v) for v, o in rows[1:]]


# ------------------------------------------------------------------------------------------------------
# The action list: one decision per item, worst first
# ------------------------------------------------------------------------------------------------------

#: The decision of the action list for one item, from the mildest; "review" = look at it, probably keep.
DECISIONS = ("keep", "review", "revise", "retire", "check key")
#: Evidence that the key itself is wrong; when present it decides the item, whatever else is flagged.
KEY_CODES = (KEY_CHECK_TOP_GROUP, KEY_CHECK_RPBIS, DISCRIMINATION_NEGATIVE, "IRT_SLOPE_NEGATIVE")
#: How a group label reads in a sentence.
GROUP_WORDS = {"all": "all candidates", "language=en": "English takers", "language=es": "Spanish takers"}
#: Short evidence labels of each code: (label, number format).
EVIDENCE = {
    P_LOW: ("P", "{:.2f}"), P_HIGH: ("P", "{:.2f}"), DISCRIMINATION_LOW: ("item-rest r", "{:.2f}"),
    DISCRIMINATION_NEGATIVE: ("item-rest r", "{:.2f}"), KEY_CHECK_RPBIS: ("rival option's r", "{:.2f}"),
    KEY_CHECK_TOP_GROUP: ("top scorers choosing a rival option", "{:.0%}"), OMIT_RATE: ("omit rate", "{:.0%}"),
    NONFUNCTIONING_DISTRACTOR: ("least-chosen distractor", "{:.1%}"), SMALL_N: ("N", "{:.0f}"),
    "IRT_SLOPE_NEGATIVE": ("IRT a", "{:.2f}"), "IRT_SLOPE_LOW": ("IRT a", "{:.2f}"),
    "IRT_B_EXTREME": ("IRT b", "{:.2f}"), "IRT_C_HIGH": ("IRT c", "{:.2f}"), "IRT_MISFIT": ("S-X² adjusted p", "{:.3g}"),
    "IRT_LOCAL_DEPENDENCE": ("Q3", "{:.2f}"),
}
ACTION_COLUMNS = ["rank", "item_id", "severity", "action", "problem", "why", "evidence", "groups", "codes",
                  "n_problems"]


def group_words(group: str) -> str:
    """'language=es' → 'Spanish takers'; other 'name=value' labels read as 'name value'."""
    return GROUP_WORDS.get(group, group.replace("=", " "))


def _excess(f: Flag, t: Thresholds) -> float:
    """How far a flag's statistic lies beyond its threshold, on a rough 0–1 scale (orders items within a
    severity: the worst first)."""
    v, c = f.value, f.code
    if not np.isfinite(v):
        return 1.0
    rules = {
        P_HIGH: lambda: (v - t.p_review_high) / (1 - t.p_review_high),
        P_LOW: lambda: (t.p_review_low - v) / t.p_review_low,
        DISCRIMINATION_LOW: lambda: (t.rpbis_review - v) / (1 + t.rpbis_review),
        DISCRIMINATION_NEGATIVE: lambda: (t.rpbis_review - v) / (1 + t.rpbis_review),
        KEY_CHECK_TOP_GROUP: lambda: v, KEY_CHECK_RPBIS: lambda: (1 + v) / 2,
        NONFUNCTIONING_DISTRACTOR: lambda: (t.distractor_min_proportion - v) / t.distractor_min_proportion,
        OMIT_RATE: lambda: (v - t.omit_rate) / (1 - t.omit_rate),
        "IRT_B_EXTREME": lambda: (abs(v) - 3) / 3, "IRT_C_HIGH": lambda: (v - 0.35) / 0.65,
        "IRT_MISFIT": lambda: min(1.0, -np.log10(max(v, 1e-300)) / 20),
    }
    if c in rules:
        return float(rules[c]())
    if c.startswith("DIF_MH"):
        return (abs(v) - 1.0) / 2.0
    if c.startswith("DIF_LR"):
        return 10 * abs(v)
    return 0.0


def problems(flags: Sequence[Flag], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[dict]:
    """One problem per item × code (× option, except rare distractors, which are one problem per item), with
    the groups it holds in: the rows of the Flags sheet. Each carries the worst severity over its groups and
    the reason and value of the 'all' group when it holds there (else of its worst group)."""
    by_key: dict[tuple, list[Flag]] = {}
    for f in merge_flags(flags):
        detail = "" if f.code == NONFUNCTIONING_DISTRACTOR else f.detail
        by_key.setdefault((f.item_id, f.code, f.source, detail), []).append(f)
    out = []
    for (item, code, source, detail), fl in by_key.items():
        groups = list(dict.fromkeys(f.group for f in fl))
        worst = max(fl, key=lambda f: SEVERITIES.index(f.severity))
        main = [f for f in fl if f.group == "all"] or [f for f in fl if f.group == worst.group]
        lead = main[0]
        reason = lead.reason
        if code == NONFUNCTIONING_DISTRACTOR and len(main) > 1:
            opts = [f"{f.detail} ({_pct(f.value)})" for f in main]
            reason = (f"Options {', '.join(opts[:-1])} and {opts[-1]} were each chosen by fewer than "
                      f"{_pct(thresholds.distractor_min_proportion)} of candidates: they distract almost nobody; "
                      "rewrite them.")
        only = [g for g in groups if g != "all"]
        scope = f"{group_words(only[0])} only" if "all" not in groups and len(only) == 1 else ""
        out.append({"item_id": item, "code": code, "source": source,
                    "detail": ", ".join(f.detail for f in main) if code == NONFUNCTIONING_DISTRACTOR else detail,
                    "severity": worst.severity, "groups": ", ".join(group_words(g) for g in groups),
                    "scope": scope, "value": min(f.value for f in main) if code == NONFUNCTIONING_DISTRACTOR
                    else lead.value, "reason": reason, "suggested_action": worst.suggested_action,
                    "excess": max(_excess(f, thresholds) for f in fl)})
    return out


def _evidence(p: dict) -> str:
    label, fmt = EVIDENCE.get(p["code"], (None, None))
    if label is None:
        if p["code"].startswith("DIF_MH"):
            label, fmt = "MH Δ", "{:.1f}"
        elif p["code"].startswith("DIF_LR"):
            label, fmt = "ΔR²", "{:.3f}"
        else:
            return p["code"]
    v = p["value"]
    text = f"{label} {fmt.format(v).replace('-', '−')}" if np.isfinite(v) else label
    return text + (f" ({p['scope']})" if p["scope"] else "")


def action_list(flags: Sequence[Flag], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """One row per flagged item, worst first (critical, severe, review; within a level the statistic
    furthest beyond its threshold first): rank, item_id, severity, action (one of ``DECISIONS``), problem
    (the headline problem in one sentence; a problem that holds in one group only says so), why (how the
    action was chosen when flags disagree), evidence (one line), groups, codes, n_problems.

    Key evidence (a rival option drawing the top scorers or correlating as well as the key, a negative
    item–rest correlation or IRT slope) decides the item: the action is "check key", and P or IRT flags
    that a wrong key produces (hard, very easy b, misfit) do not count against it. Otherwise the most severe
    problem gives the action; a review-level problem whose flag says "keep" becomes "review".
    """
    by_item: dict[str, list[dict]] = {}
    for p in problems(flags, thresholds):
        by_item.setdefault(p["item_id"], []).append(p)
    rows = []
    for item, probs in by_item.items():
        probs.sort(key=lambda p: (-SEVERITIES.index(p["severity"]), -p["excess"]))
        severity = probs[0]["severity"]
        key = [p for p in probs if p["code"] in KEY_CODES]
        why = ""
        if key:
            key.sort(key=lambda p: (KEY_CODES.index(p["code"]), -SEVERITIES.index(p["severity"])))
            head, action = key[0], "check key"
            others = sorted({p["code"] for p in probs if p["code"] not in KEY_CODES})
            why = ("The key check decides: " + (f"the other flags ({', '.join(others)}) are what a wrong key "
                                                "produces; " if others else "")
                   + "confirm the key with the item writers, rescore, then judge the item again.")
        else:
            head = probs[0]
            top = [p for p in probs if p["severity"] == severity]
            actions = [p["suggested_action"] for p in top]
            action = max(actions, key=ACTIONS.index)
            if action == "keep":
                action = "review"
            if len({*actions}) > 1:
                firm = next(p for p in top if p["suggested_action"] == max(actions, key=ACTIONS.index))
                why = f"Its flags at this level disagree; the firmest action wins ({firm['code']}: {action})."
        problem = ("The key is probably wrong. " if key else "") + head["reason"]
        if head["scope"]:
            problem = f"{head['scope'][0].upper()}{head['scope'][1:]}: {problem}"
        rows.append({"item_id": item, "severity": severity, "action": action, "problem": problem, "why": why,
                     "evidence": "; ".join(_evidence(p) for p in ([head] + [p for p in probs if p is not head])[:4]),
                     "groups": head["groups"], "codes": "; ".join(dict.fromkeys(p["code"] for p in probs)),
                     "n_problems": len(probs), "_excess": max(p["excess"] for p in probs if p["severity"] == severity),
                     "_key": bool(key)})
    rows.sort(key=lambda r: (-SEVERITIES.index(r["severity"]), not r["_key"], -r["_excess"], r["item_id"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return pd.DataFrame(rows, columns=ACTION_COLUMNS)


def severity_counts(actions: pd.DataFrame) -> dict[str, int]:
    """Items of the action list by their severity: {'critical': n, 'severe': n, 'review': n}; the one count
    the terminal, the CSVs and every sheet give."""
    col = actions["severity"] if "severity" in actions.columns else pd.Series(dtype=str)
    return {s: int((col == s).sum()) for s in reversed(SEVERITIES)}


def counts_sentence(actions: pd.DataFrame) -> str:
    """'17 items need a decision (1 critical, 3 severe, 13 review)' or 'No item was flagged'."""
    n = len(actions)
    if n == 0:
        return "No item was flagged"
    c = severity_counts(actions)
    return (f"{n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} a decision "
            f"({c['critical']} critical, {c['severe']} severe, {c['review']} review)")
