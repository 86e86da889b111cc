"""Item flags (psychometrics.flags): thresholds at their boundaries, key checks, merging, plain-English reasons."""
from __future__ import annotations

import numpy as np
import pytest

from psychometrics.ctt import analyze
from psychometrics.flags import DEFAULT_THRESHOLDS, Flag, Thresholds, ctt_flags, flags_frame, item_summary, merge_flags
from psychometrics.responses.matrix import from_labels, from_scored


def codes_of(flags, item):
    return {(f.code, f.severity) for f in flags if f.item_id == item}


def guttman_scored(p_values, n=100):
    """Person i (0 = best) gets item j right iff i < n·P_j: every P exactly as asked, totals ordered by i."""
    i = np.arange(n)[:, None]
    return (i < np.round(np.asarray(p_values) * n)[None, :]).astype(float)


def test_difficulty_flags_at_their_boundaries():
    # P < .30 review, ≤ .20 severe; P > .90 review, ≥ .95 severe (the limits themselves as documented)
    p = [0.30, 0.29, 0.20, 0.19, 0.90, 0.91, 0.95, 0.96, 0.50]
    a = analyze(from_scored(guttman_scored(p)))
    np.testing.assert_allclose(a.items.p_value, p)
    flags = ctt_flags(a)
    difficulty = {f.item_id: f.severity for f in flags if f.code in ("P_LOW", "P_HIGH")}
    assert difficulty == {"item2": "review", "item3": "severe", "item4": "severe", "item6": "review",
                          "item7": "severe", "item8": "severe"}


def test_discrimination_flags_follow_configured_thresholds():
    rm = from_scored(guttman_scored([0.5, 0.4, 0.6, 0.7]))
    a = analyze(rm)
    r = float(a.items.point_biserial[0])
    assert 0 < r < 1
    review = ctt_flags(a, Thresholds(rpbis_review=r + 0.01, rpbis_severe=0.0, rpbis_critical=-1))
    assert ("RPBIS_LOW", "review") in codes_of(review, "item1")
    severe = ctt_flags(a, Thresholds(rpbis_review=r + 0.02, rpbis_severe=r + 0.01, rpbis_critical=-1))
    assert ("RPBIS_LOW", "severe") in codes_of(severe, "item1")
    critical = ctt_flags(a, Thresholds(rpbis_critical=r))  # r ≤ limit is critical
    assert ("RPBIS_NEGATIVE", "critical") in codes_of(critical, "item1")
    none = ctt_flags(a, Thresholds(rpbis_review=r - 0.01, rpbis_severe=-1, rpbis_critical=-1))
    assert not {c for c, _ in codes_of(none, "item1")} & {"RPBIS_LOW", "RPBIS_NEGATIVE"}


def test_omit_rate_and_non_functioning_distractor():
    n = 100
    rng = np.random.default_rng(0)
    raw = np.full((n, 4), "A", dtype="<U1")  # item4 is always answered, so no blank is "not reached"
    raw[50:, 0] = "B"                                   # item1: P = .50
    raw[:, 1] = np.array(list("ABC"))[rng.integers(0, 3, n)]
    raw[:6, 1] = ""                                     # item2: 6 of 100 omitted → 6% > 5%
    raw[5, 2] = "B"                                     # item3: B chosen by 1 (1% < 2%) → not functioning
    raw[6:8, 2] = "C"                                   #        C chosen by 2 (2%) → fine
    raw[10:15, 2] = ""                                  #        5 of 100 omitted → not "more than 5%"
    raw_items = raw
    a = analyze(from_labels(raw_items, ["A", "A", "A", "A"]))
    assert a.items.omits.tolist()[:3] == [0, 6, 5]
    flags = ctt_flags(a)
    assert ("OMIT_RATE", "review") in codes_of(flags, "item2")
    assert "OMIT_RATE" not in {c for c, _ in codes_of(flags, "item3")}
    nonfunctioning = {f.detail for f in flags if f.item_id == "item3" and f.code == "NONFUNCTIONING_DISTRACTOR"}
    assert nonfunctioning == {"B"}
    reason = next(f.reason for f in flags if f.item_id == "item2" and f.code == "OMIT_RATE")
    assert "6%" in reason and "6 of 100" in reason and "5%" in reason


def simulate_miskeyed(n=400, k=10, seed=7):
    """Items whose true answer is A; item 3 is keyed B (a miskey): the able pick A, the weak pick B or C."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    right = rng.random((n, k)) < 1 / (1 + np.exp(-1.7 * theta[:, None]))
    raw = np.where(right, "A", np.where(rng.random((n, k)) < 0.5, "B", "C"))
    key = ["A"] * k
    key[2] = "B"
    return from_labels(raw, key, options={f"item{j + 1}": ("A", "B", "C") for j in range(k)})


def test_miskeyed_item_gets_key_checks_with_numbers():
    a = analyze(simulate_miskeyed())
    flags = ctt_flags(a)
    item3 = {f.code for f in flags if f.item_id == "item3"}
    assert {"KEY_CHECK_TOP_GROUP", "KEY_CHECK_RPBIS", "RPBIS_NEGATIVE"} <= item3
    top = next(f for f in flags if f.item_id == "item3" and f.code == "KEY_CHECK_TOP_GROUP" and f.detail == "A")
    q = a.quantiles
    pa, pb = q.proportion_of("item3", "A", 5), q.proportion_of("item3", "B", 5)
    assert pa > pb
    assert top.reason.startswith(f"Option A was chosen by {100 * pa:.0f}% of top scorers")
    assert f"more than the key B ({100 * pb:.0f}%): check the key" in top.reason
    assert top.suggested_action == "check key" and top.severity == "severe"
    # one flag per criterion, naming the strongest rival of the key
    assert sum(f.code == "KEY_CHECK_TOP_GROUP" for f in flags if f.item_id == "item3") == 1
    assert sum(f.code == "KEY_CHECK_RPBIS" for f in flags if f.item_id == "item3") == 1
    # the correctly keyed items raise no key checks
    assert not [f for f in flags if f.code.startswith("KEY_CHECK") and f.item_id != "item3"]
    assert item_summary(flags, a.items.item_ids).set_index("item_id").loc["item3", "suggested_action"] == "check key"


def test_merge_keeps_worst_duplicate_and_sorts():
    a = Flag("I2", "DIF_C", "review", "ETS B", "keep", source="dif")
    b = Flag("I2", "DIF_C", "critical", "ETS C", "revise", source="dif")
    c = Flag("I1", "P_LOW", "review", "hard", "keep")
    d = Flag("I2", "P_HIGH", "severe", "easy", "revise")
    merged = merge_flags([a, c], [b, d], [])
    assert [(f.item_id, f.code, f.severity) for f in merged] == [
        ("I1", "P_LOW", "review"), ("I2", "DIF_C", "critical"), ("I2", "P_HIGH", "severe")]
    frame = flags_frame(merged)
    assert list(frame.columns[:5]) == ["item_id", "group", "source", "code", "severity"]
    summary = item_summary(merged, ["I1", "I2", "I3"]).set_index("item_id")
    assert summary.loc["I2", "worst_severity"] == "critical" and summary.loc["I2", "suggested_action"] == "revise"
    assert summary.loc["I3", "n_flags"] == 0 and summary.loc["I3", "suggested_action"] == "keep"


def test_flag_rejects_unknown_severity_or_action():
    with pytest.raises(ValueError):
        Flag("I1", "X", "bad", "r", "keep")
    with pytest.raises(ValueError):
        Flag("I1", "X", "review", "r", "burn")


def test_default_thresholds_are_the_documented_ones():
    t = DEFAULT_THRESHOLDS.to_dict()
    assert (t["p_review_low"], t["p_review_high"], t["p_severe_low"], t["p_severe_high"]) == (0.3, 0.9, 0.2, 0.95)
    assert (t["rpbis_review"], t["rpbis_severe"], t["rpbis_critical"]) == (0.2, 0.1, 0.0)
    assert (t["omit_rate"], t["distractor_min_proportion"]) == (0.05, 0.02)


def test_flags_do_not_depend_on_row_order():
    rm = simulate_miskeyed(n=200, seed=3)
    perm = np.random.default_rng(1).permutation(rm.n_persons)
    a, b = ctt_flags(analyze(rm)), ctt_flags(analyze(rm.subset(perm)))
    assert [(f.item_id, f.code, f.severity, f.detail, f.reason) for f in a] == \
        [(f.item_id, f.code, f.severity, f.detail, f.reason) for f in b]
