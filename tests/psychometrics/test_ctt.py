"""Classical item analysis (psychometrics.ctt): hand-worked values, a pandas reference, invariances, degenerate
data, and the `certbank analyze` command."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from certbank_core.errors import InputError
from psychometrics.ctt import (alpha_from_scores, analyze, analyze_by_group, binomial_csem,
                               biserial_from_point_biserial, feldt_interval, score_groups, spearman_brown)
from psychometrics.flags import ctt_flags
from psychometrics.responses.matrix import from_labels, from_scored

# ---------------------------------------------------------------------------------------------------------
# The hand-worked example: 6 candidates × 4 items, keys A B C D
#
#            item1 item2 item3 item4   scored      total t
#   c1         A     B     C     D     1 1 1 1      4
#   c2         A     B     C     A     1 1 1 0      3
#   c3         A    (omit) C     A     1 0 1 0      2
#   c4         A     B     A     B     1 1 0 0      2
#   c5         B     A     B     D     0 0 0 1      1
#   c6         C     A     B     C     0 0 0 0      0
#
# t = 4,3,2,2,1,0: mean 2, deviations 2,1,0,0,−1,−2, SS = 10, population variance 10/6, sample SD √2.
# P = 4/6, 3/6, 3/6, 2/6; item variances pq = 2/9, 1/4, 1/4, 2/9 (sum 17/18).
# KR-20 α = 4/3 · (1 − (17/18)/(10/6)) = 4/3 · 13/30 = 52/90 = 0.57778.
#
# item1: x = 1,1,1,1,0,0. cov(x,t) = Σxt/6 − p·t̄ = 11/6 − (2/3)(2) = 1/2.
#   item–total r = (1/2)/√(2/9 · 10/6) = 0.821584.
#   rest r = t − x = 3,2,1,1,1,0: cov(x,r) = 1/2 − 2/9 = 5/18; var(r) = 10/6 − 1 + 2/9 = 8/9;
#   item–rest r = (5/18)/√(2/9 · 8/9) = (5/18)/(4/9) = 0.625.
#   biserial = 0.625 · √(2/9) / φ(Φ⁻¹(2/3)) = 0.625 · 0.471405 / 0.363602 = 0.810308.
# item4: x = 1,0,0,0,1,0. cov(x,t) = 5/6 − (1/3)(2) = 1/6; item–total r = (1/6)/0.608581 = 0.273861.
#   cov(x,r) = 1/6 − 2/9 = −1/18; var(r) = 10/6 − 2/6 + 2/9 = 14/9; item–rest r = (−1/18)/√(28/81) = −0.094491.
#   α without item4: items 1–3 variances 2/9 + 1/4 + 1/4 = 0.72222 over var(rest) = 14/9:
#   3/2 · (1 − 0.72222/1.55556) = 0.803571.
# item1 option B (chosen by c5 only, rest score 1): d = 0,0,0,0,1,0; cov(d,r) = 1/6 − (1/6)(4/3) = −1/18;
#   var(d) = 5/36; r = (−1/18)/√(5/36 · 8/9) = −1/√40 = −0.158114.
# item1 option C (c6, rest 0): cov = 0 − (1/6)(4/3) = −2/9; r = −4/√40 = −0.632456.
# item1 key A: mean total of choosers (4+3+2+2)/4 = 2.75; sample SD √(2.75/3) = 0.957427.
# Odd–even halves: h1 = item1+item3 = 2,2,2,1,0,0 (var 29/36), h2 = item2+item4 = 2,1,0,1,1,0 (var 17/36),
#   cov = 7/6 − (7/6)(5/6) = 7/36; r = 7/√(29·17) = 0.315264; Spearman–Brown 2r/(1+r) = 0.479393;
#   Guttman 2(1 − (29/36 + 17/36)/(60/36)) = 2 · 14/60 = 0.466667.
# SEM = √2 · √(1 − 52/90) = 0.918937. Skew: third moment of ±2, ±1, 0, 0 is 0. Excess kurtosis:
#   m4 = 34/6, m2² = (10/6)²: 5.6667/2.7778 − 3 = −0.96. Median of 0,1,2,2,3,4 = 2.
# Three score groups: midpoint percentile ranks of scores 0..4 are .083, .25, .50, .75, .917;
#   ⌊3·PR⌋ = 0,0,1,2,2, so groups {0,1} = c6,c5, {2} = c3,c4, {3,4} = c2,c1.
# ---------------------------------------------------------------------------------------------------------
HAND_RAW = [list("ABCD"), list("ABCA"), ["A", "", "C", "A"], list("ABAB"), list("BABD"), list("CABC")]


@pytest.fixture
def hand():
    options = {f"item{j}": tuple("ABCD") for j in range(1, 5)}
    return analyze(from_labels(HAND_RAW, list("ABCD"), options=options), quantiles=3)


def test_hand_item_statistics(hand):
    items = hand.items
    np.testing.assert_allclose(items.p_value, [4 / 6, 3 / 6, 3 / 6, 2 / 6])
    assert items.n.tolist() == [6, 6, 6, 6]
    assert items.omits.tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(items.point_biserial[[0, 3]], [0.625, -0.094491], atol=1e-6)
    np.testing.assert_allclose(items.point_biserial_total[[0, 3]], [0.821584, 0.273861], atol=1e-6)
    assert items.biserial[0] == pytest.approx(0.810308, abs=1e-6)
    assert items.alpha_if_deleted[3] == pytest.approx(0.803571, abs=1e-6)


def test_hand_option_statistics(hand):
    o = hand.options.to_frame()
    one = o[o.item_id == "item1"].set_index("option")
    assert list(one.index) == ["A", "B", "C", "D", "omit"]
    assert one.loc["A", "is_key"] and not one.loc["B", "is_key"]
    assert one["n"].tolist() == [4, 1, 1, 0, 0]
    np.testing.assert_allclose(one.loc[["B", "C"], "point_biserial"], [-1 / math.sqrt(40), -4 / math.sqrt(40)])
    assert one.loc["A", "point_biserial"] == pytest.approx(0.625)
    assert one.loc["A", "mean_total"] == 2.75
    assert one.loc["A", "sd_total"] == pytest.approx(0.957427, abs=1e-6)
    assert math.isnan(one.loc["D", "point_biserial"])  # nobody chose D
    omit2 = o[(o.item_id == "item2") & (o.option == "omit")]
    assert omit2["n"].item() == 1 and omit2["mean_total"].item() == 2.0


def test_hand_test_statistics(hand):
    t = hand.test
    assert (t.n_persons, t.n_items, t.mean, t.minimum, t.maximum, t.median) == (6, 4, 2.0, 0.0, 4.0, 2.0)
    assert t.sd == pytest.approx(math.sqrt(2))
    assert t.alpha == pytest.approx(52 / 90)
    assert t.sem == pytest.approx(0.918937, abs=1e-6)
    assert t.skew == pytest.approx(0.0, abs=1e-12)
    assert t.kurtosis == pytest.approx(-0.96)
    odd_even = next(s for s in t.split_halves if s.method == "odd_even")
    assert odd_even.correlation == pytest.approx(7 / math.sqrt(29 * 17))
    assert odd_even.spearman_brown == pytest.approx(0.479393, abs=1e-6)
    assert odd_even.guttman == pytest.approx(14 / 30)
    assert t.frequency.tolist() == [1, 1, 2, 1, 1]


def test_hand_quantile_table(hand):
    q = hand.quantiles
    assert q.group_score_min.tolist() == [0, 2, 3] and q.group_score_max.tolist() == [1, 2, 4]
    assert q.group_n.tolist() == [2, 2, 2]
    assert q.proportion_of("item1", "A", 3) == 1.0
    assert q.proportion_of("item1", "B", 1) == 0.5 and q.proportion_of("item1", "C", 1) == 0.5
    # item4 key D: chosen by c1 (top group) and c5 (bottom group)
    assert q.proportion_of("item4", "D", 1) == 0.5 and q.proportion_of("item4", "D", 3) == 0.5


def test_hand_pretest_item_is_left_out_of_the_total():
    # item4 as a pretest item: the total is items 1–3 = 3,3,2,2,0,0 (frequency over 0..3: 2,0,2,2).
    # item4's "rest" is that whole total, which is what its rest score was above: r = −0.094491 again,
    # and its item–total r is the same number. α is the α of items 1–3, i.e. the 0.803571 "if deleted" above.
    # item1: rest = 2,2,1,1,0,0 (mean 1), E[x·rest] = 6/6 = 1, cov = 1 − (2/3)(1) = 1/3, var(rest) = 10/6 − 1
    #   = 2/3, so r = (1/3)/√(2/9 · 2/3) = √3/2 = 0.866025.
    a = analyze(from_labels(HAND_RAW, list("ABCD")), pretest=["item4"])
    assert a.items.pretest.tolist() == [False, False, False, True]
    assert a.items.point_biserial[3] == pytest.approx(-0.094491, abs=1e-6)
    assert a.items.point_biserial_total[3] == pytest.approx(-0.094491, abs=1e-6)
    assert a.items.point_biserial[0] == pytest.approx(math.sqrt(3) / 2)
    assert a.test.alpha == pytest.approx(0.803571, abs=1e-6) and a.test.n_items == 3
    assert a.test.frequency.tolist() == [2, 0, 2, 2]
    assert np.isnan(a.items.alpha_if_deleted[3]) and np.isfinite(a.items.alpha_if_deleted[0])
    with pytest.raises(InputError, match="not in the responses"):
        analyze(from_labels(HAND_RAW, list("ABCD")), pretest=["nope"])


def test_score_groups_keep_ties_together():
    # 10 persons all with score 2 except one 0: a tie cannot be split between groups
    groups = score_groups(np.array([1, 0, 9, 0]), 5)
    assert groups[0] < groups[2]
    assert groups.tolist()[2] == 2  # midpoint PR of score 2 = (1 + 4.5)/10 = .55 → ⌊5 · .55⌋ = 2


@pytest.mark.parametrize("k", [1, 63, 64, 65, 130])
def test_part_sums_equal_plain_sums(k):
    from psychometrics.ctt import part_sums

    rng = np.random.default_rng(k)
    correct = rng.random((50, k)) < 0.6
    parts = rng.random((k, 5)) < 0.5
    parts[:, 0] = True
    expected = correct.astype(int) @ parts.astype(int)  # integer product, no packing involved
    np.testing.assert_array_equal(part_sums(correct, parts.astype(np.float32)), expected)


def test_feldt_interval_against_f_table():
    # F tables: F.975(5, 15) = 3.5764 and F.975(15, 5) = 6.4277, so F.025(5, 15) = 1/6.4277 = 0.15558.
    # α̂ = 52/90, N = 6, k = 4: lower = 1 − (38/90)·3.5764 = −0.51004, upper = 1 − (38/90)·0.15558 = 0.93431.
    lo, hi = feldt_interval(52 / 90, 6, 4, 0.95)
    assert lo == pytest.approx(-0.51004, abs=2e-4) and hi == pytest.approx(0.93431, abs=2e-4)


def test_binomial_csem_by_hand():
    # k = 4: √(x(4 − x)/3) = 0, 1, √(4/3), 1, 0
    np.testing.assert_allclose(binomial_csem(4), [0, 1, math.sqrt(4 / 3), 1, 0])


def test_formula_helpers_by_hand():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)  # 2·.5/(1+.5)
    assert spearman_brown(0.5, 3) == pytest.approx(0.75)  # 3·.5/(1+2·.5)
    # p = .5: z = 0, φ(0) = 0.398942; r_bis = .4 · .5 / .398942 = 0.501326
    assert biserial_from_point_biserial(0.4, 0.5) == pytest.approx(0.501326, abs=1e-6)
    assert np.isnan(biserial_from_point_biserial(0.4, 1.0))
    # alpha of the hand example from its scores
    scored = from_labels(HAND_RAW, list("ABCD")).scored
    assert alpha_from_scores(scored) == pytest.approx(52 / 90)


def test_not_reached_leaves_the_item_n():
    # c3 did not reach item 3: item 3's N is 2 and P = 1/2; the total counts it as wrong
    rm = from_labels([["A", "A", "A"], ["A", "B", "B"], ["B", "A", ""]], ["A", "A", "A"])
    a = analyze(rm)
    assert a.items.n.tolist() == [3, 3, 2]
    assert a.items.not_reached.tolist() == [0, 0, 1]
    assert a.items.p_value[2] == 0.5
    assert a.test.frequency.tolist() == [0, 2, 0, 1]  # totals 3, 1, 1
    o = a.options.to_frame()
    assert o[(o.item_id == "item3")]["n"].sum() == 2  # not-reached are in no option row


def test_switches_for_omits_and_not_reached_in_n():
    # Omits left out of N: item2 loses c3 (total 2). x = 1,1,1,0,0 over totals 4,3,2,1,0 (c1,c2,c4,c5,c6):
    #   P = 3/5; rest = 3,2,1,1,0 (mean 1.4, E[r²] = 15/5 = 3, var 1.04); E[x·r] = 6/5;
    #   cov = 1.2 − .6·1.4 = .36; r = .36/√(.24 · 1.04) = 0.720577.
    a = analyze(from_labels(HAND_RAW, list("ABCD")), omits_in_n=False)
    assert a.items.n[1] == 5 and a.items.p_value[1] == pytest.approx(0.6)
    assert a.items.point_biserial[1] == pytest.approx(0.720577, abs=1e-6)
    assert a.items.omits[1] == 1 and a.items.to_frame()["omit_rate"][1] == pytest.approx(1 / 6)
    omit = a.options.to_frame().query("item_id == 'item2' and option == 'omit'")
    assert omit["n"].item() == 1 and np.isnan(omit["proportion"].item()) and omit["mean_total"].item() == 2
    # Not-reached counted as wrong: item3 of the not-reached example has N = 3 and P = 1/3, and a
    # "not reached" row holding the third candidate.
    rm = from_labels([["A", "A", "A"], ["A", "B", "B"], ["B", "A", ""]], ["A", "A", "A"])
    b = analyze(rm, not_reached_in_n=True)
    assert b.items.n.tolist() == [3, 3, 3] and b.items.p_value[2] == pytest.approx(1 / 3)
    nr = b.options.to_frame().query("item_id == 'item3' and option == 'not reached'")
    assert nr["n"].item() == 1 and nr["proportion"].item() == pytest.approx(1 / 3)
    assert "not reached" not in set(analyze(rm).options.option)  # not shown when not counted


# ---------------------------------------------------------------------------------------------------------
# An independent, straightforward pandas computation on random data
# ---------------------------------------------------------------------------------------------------------

def simulate(n=400, k=12, seed=3, omit=0.03):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    b = rng.normal(size=k)
    right = rng.random((n, k)) < 1 / (1 + np.exp(-(theta[:, None] - b)))
    key = rng.integers(0, 4, k)
    wrong = (key[None, :] + rng.integers(1, 4, (n, k))) % 4
    codes = np.where(right, key[None, :], wrong)
    labels = np.array(list("ABCD"))[codes]
    labels[rng.random((n, k)) < omit] = ""
    labels[:, -1][:5] = ""  # a few not-reached at the end
    return from_labels(labels, ["ABCD"[c] for c in key]), labels, key


def pandas_reference(labels, key_labels, n_groups=5):
    df = pd.DataFrame(labels, columns=[f"item{j + 1}" for j in range(labels.shape[1])])
    nr = pd.DataFrame(np.fliplr(np.cumprod(np.fliplr(labels == ""), axis=1)).astype(bool), columns=df.columns)
    x = pd.DataFrame({c: (df[c] == k).astype(float) for c, k in zip(df.columns, key_labels)})
    total = x.sum(axis=1)
    items, options, quant = [], [], []
    pr = (total.rank(method="average") - 0.5) / len(total)
    group = np.minimum(np.floor(n_groups * pr), n_groups - 1).astype(int) + 1
    for c, k in zip(df.columns, key_labels):
        m = ~nr[c]
        xc, tc = x.loc[m, c], total[m]
        rest = tc - xc
        items.append({"item_id": c, "n": int(m.sum()), "p_value": xc.mean(), "point_biserial": xc.corr(rest),
                      "point_biserial_total": xc.corr(tc),
                      "alpha_if_deleted": alpha_from_pandas(x.drop(columns=c))})
        for opt in ["A", "B", "C", "D", ""]:
            d = (df.loc[m, c] == opt).astype(float)
            options.append({"item_id": c, "option": opt or "omit", "n": int(d.sum()), "proportion": d.mean(),
                            "point_biserial": d.corr(rest) if 0 < d.sum() < len(d) else np.nan,
                            "mean_total": tc[d == 1].mean() if d.sum() else np.nan})
            for g in range(1, n_groups + 1):
                in_g = group[m] == g
                quant.append({"item_id": c, "option": opt or "omit", "score_group": g,
                              "proportion": d[in_g].mean() if in_g.any() else np.nan})
    return pd.DataFrame(items), pd.DataFrame(options), pd.DataFrame(quant), total


def alpha_from_pandas(x: pd.DataFrame) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_agrees_with_pandas_reference():
    rm, labels, key = simulate()
    a = analyze(rm)
    items_ref, options_ref, quant_ref, total = pandas_reference(labels, ["ABCD"[c] for c in key])
    items = a.items.to_frame()
    for col in ["n", "p_value", "point_biserial", "point_biserial_total", "alpha_if_deleted"]:
        np.testing.assert_allclose(items[col], items_ref[col], rtol=1e-9, atol=1e-12, err_msg=col)
    ours = a.options.to_frame().merge(options_ref, on=["item_id", "option"], suffixes=("", "_ref"))
    assert len(ours) == len(options_ref)
    for col in ["n", "proportion", "point_biserial", "mean_total"]:
        np.testing.assert_allclose(ours[col], ours[f"{col}_ref"], rtol=1e-9, atol=1e-12, err_msg=col)
    q = a.quantiles.to_frame().merge(quant_ref, on=["item_id", "option", "score_group"], suffixes=("", "_ref"))
    assert len(q) == len(quant_ref)
    np.testing.assert_allclose(q["proportion"], q["proportion_ref"], atol=1e-12)
    t = a.test
    assert t.mean == pytest.approx(total.mean()) and t.sd == pytest.approx(total.std(ddof=1))
    assert t.median == total.median() and t.skew == pytest.approx(stats.skew(total))
    assert t.kurtosis == pytest.approx(stats.kurtosis(total))
    x = pd.DataFrame(np.nan_to_num(rm.scored))
    assert t.alpha == pytest.approx(alpha_from_pandas(x))
    halves = {s.method: s for s in t.split_halves}
    odd = x.iloc[:, 0::2].sum(axis=1)
    r = odd.corr(total - odd)
    assert halves["odd_even"].correlation == pytest.approx(r)
    assert halves["odd_even"].spearman_brown == pytest.approx(2 * r / (1 + r))


def test_subscores_and_groups_agree_with_direct_computation():
    rm, labels, key = simulate(n=300, k=10, seed=5)
    areas = {f"item{j + 1}": ("AREA.I" if j < 6 else "AREA.II") for j in range(10)}
    rm = from_labels(labels, ["ABCD"[c] for c in key],
                     groups=pd.DataFrame({"language": np.where(np.arange(300) % 3 == 0, "es", "en")}))
    g = analyze_by_group(rm, "language", areas=areas)
    s = g.combined.subscores
    assert s.areas == ("AREA.I", "AREA.II") and s.n_items.tolist() == [6, 4]
    x = np.nan_to_num(rm.scored)
    assert s.alpha[0] == pytest.approx(alpha_from_scores(x[:, :6]))
    assert s.alpha[1] == pytest.approx(alpha_from_scores(x[:, 6:]))
    assert s.correlations[0, 1] == pytest.approx(np.corrcoef(x[:, :6].sum(1), x[:, 6:].sum(1))[0, 1])
    assert s.disattenuated[0, 1] == pytest.approx(s.correlations[0, 1] / math.sqrt(s.alpha[0] * s.alpha[1]))
    # each group's analysis is the analysis of that subset
    es = next(a for a in g.groups if a.label == "language=es")
    direct = analyze(rm.subset(rm.groups["language"].to_numpy() == "es"))
    np.testing.assert_allclose(es.items.point_biserial, direct.items.point_biserial)
    assert es.test.n_persons == 100
    assert set(g.items_frame()["group"]) == {"all", "language=en", "language=es"}


# ---------------------------------------------------------------------------------------------------------
# Invariances and bounds
# ---------------------------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40), st.integers(3, 8))
def test_row_order_invariance_and_bounds(seed, n, k):
    rm, labels, key = simulate(n=n, k=k, seed=seed, omit=0.1)
    perm = np.random.default_rng(seed).permutation(n)
    a, b = analyze(rm), analyze(rm.subset(perm))
    for col in ["p_value", "point_biserial", "point_biserial_total", "biserial", "alpha_if_deleted"]:
        np.testing.assert_allclose(getattr(a.items, col), getattr(b.items, col), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.options.point_biserial, b.options.point_biserial, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.quantiles.proportion, b.quantiles.proportion)
    assert a.test.alpha == pytest.approx(b.test.alpha, nan_ok=True)
    p = a.items.p_value
    assert np.all((p[np.isfinite(p)] >= 0) & (p[np.isfinite(p)] <= 1))
    for r in (a.items.point_biserial, a.items.point_biserial_total, a.options.point_biserial):
        assert np.all(np.abs(r[np.isfinite(r)]) <= 1)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_item_order_invariance(seed):
    rm, labels, key = simulate(n=60, k=7, seed=seed)
    order = list(np.random.default_rng(seed).permutation(rm.item_ids))
    a, b = analyze(rm), analyze(rm.select_items(order))
    fa = a.items.to_frame().set_index("item_id").loc[order]
    fb = b.items.to_frame().set_index("item_id")
    pd.testing.assert_frame_equal(fa, fb, check_exact=False, rtol=1e-9)
    assert a.test.alpha == pytest.approx(b.test.alpha)


# ---------------------------------------------------------------------------------------------------------
# Degenerate data: NaN and a flag, never a crash or a warning
# ---------------------------------------------------------------------------------------------------------

def test_degenerate_items_give_nan_and_flags():
    raw = [["A", "B", "A"], ["A", "B", "B"], ["A", "B", "C"], ["A", "B", "A"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = analyze(from_labels(raw, ["A", "C", "A"]))  # item1 all right, item2 all wrong
        flags = ctt_flags(a)
    assert np.isnan(a.items.point_biserial[0]) and np.isnan(a.items.point_biserial[1])
    assert np.isnan(a.items.biserial[0]) and a.items.p_value.tolist()[:2] == [1.0, 0.0]
    codes = {(f.item_id, f.code) for f in flags}
    assert ("item1", "NO_VARIANCE") in codes and ("item1", "P_HIGH") in codes
    assert ("item2", "NO_VARIANCE") in codes and ("item2", "P_LOW") in codes


@pytest.mark.parametrize("raw", [[["A", "B"]], [["A", "B"], ["A", "B"]]])
def test_one_candidate_or_identical_candidates(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = analyze(from_labels(raw, ["A", "A"]))
        flags = ctt_flags(a)
    assert np.isnan(a.test.alpha) and all(np.isnan(v) for v in a.test.alpha_ci)
    assert np.isnan(a.items.point_biserial).all()
    assert {f.code for f in flags} >= {"NO_VARIANCE", "SMALL_N"}
    assert json.dumps(a.test.to_dict())  # NaN become null, so test.json stays valid JSON


def test_array_input_and_everyone_not_reaching_an_item():
    a = analyze(np.array([[1.0, np.nan], [0.0, np.nan], [1.0, np.nan]]))
    assert a.items.n.tolist() == [3, 0] and np.isnan(a.items.p_value[1])
    assert "NO_DATA" in {f.code for f in ctt_flags(a)}


def test_quantile_bounds_are_checked():
    with pytest.raises(InputError, match="3–9"):
        analyze(from_scored([[1, 0], [0, 1]]), quantiles=2)


# ---------------------------------------------------------------------------------------------------------
# certbank analyze
# ---------------------------------------------------------------------------------------------------------

OUTPUTS = {"items.csv", "options.csv", "quantiles.csv", "test.json", "flags.csv", "actions.csv"}


def write_responses(path, rm_labels, item_ids, groups=None):
    frame = pd.DataFrame(rm_labels, columns=item_ids)
    frame.insert(0, "candidate_id", [f"C{i:04d}" for i in range(len(frame))])
    if groups is not None:
        frame.insert(1, "language", groups)
    frame.to_csv(path, index=False)
    return path


def test_cli_analyze_with_key_file(tmp_path):
    from cli import main

    rm, labels, key = simulate(n=200, k=8, seed=11)
    resp = write_responses(tmp_path / "resp.csv", labels, list(rm.item_ids),
                           np.where(np.arange(200) % 2 == 0, "en", "es"))
    pd.DataFrame({"item_id": rm.item_ids, "key": ["ABCD"[c] for c in key],
                  "area": ["X"] * 4 + ["Y"] * 4}).to_csv(tmp_path / "key.csv", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", str(resp), "--key", str(tmp_path / "key.csv"), "--out",
                                       str(out), "--group", "language", "--quantiles", "4",
                                       "--threshold", "rpbis_review=0.5", "--areas", str(tmp_path / "key.csv")])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == OUTPUTS
    items = pd.read_csv(out / "items.csv")
    assert set(items["group"]) == {"all", "language=en", "language=es"} and len(items) == 24
    for col in ["item_id", "n", "p_value", "point_biserial", "point_biserial_total", "biserial",
                "alpha_if_deleted", "omits", "not_reached", "flags"]:
        assert col in items.columns
    all_items = items[items.group == "all"].reset_index(drop=True)
    np.testing.assert_allclose(all_items["point_biserial"], analyze(rm).items.point_biserial)
    test = json.loads((out / "test.json").read_text())
    assert test["combined"]["n"] == 200 and test["flag_thresholds"]["rpbis_review"] == 0.5
    assert test["subscores"]["areas"] == ["X", "Y"] and test["subscores"]["n_items"] == [4, 4]
    assert set(test["groups"]) == {"language=en", "language=es"}
    assert len(test["combined"]["csem"]) == 9 and len(test["combined"]["split_halves"]) == 3
    assert pd.read_csv(out / "quantiles.csv")["score_group"].max() == 4
    flags = pd.read_csv(out / "flags.csv")
    assert {"item_id", "code", "severity", "reason", "suggested_action"} <= set(flags.columns)


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path):
    from cli import main

    (tmp_path / "resp.csv").write_text("candidate_id,Q1,Q2\nc1,A,B\nc1,Z,B\n", encoding="utf-8")
    (tmp_path / "key.csv").write_text("item_id,key\nQ1,A\nQ2,B\nQ3,C\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "resp.csv"), "--key", str(tmp_path / "key.csv"),
                                       "--out", str(out)])
    assert result.exit_code == 2
    assert "row 3, column 'candidate_id'" in result.output and "row 3, column 'Q1'" in result.output
    assert "item Q3 is on the form/key" in result.output
    assert "Traceback" not in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"resp.csv", "key.csv"}  # no output, no temporary dir


@pytest.mark.parametrize("args, message", [
    (["--quantiles", "12"], "12"),
    (["--threshold", "nonsense=1"], "unknown threshold"),
    (["--save-to-bank"], "--save-to-bank needs --form"),
])
def test_cli_bad_options(tmp_path, args, message):
    from cli import main

    (tmp_path / "resp.csv").write_text("candidate_id,Q1,Q2\nc1,1,0\nc2,0,1\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "resp.csv"), "--out", str(out), *args])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


@pytest.fixture
def form_bank(tmp_path):
    """A bank with a two-area framework, six items (keys B, A, C, B, A, C) and a form F1 holding them."""
    from itembank.importing import import_frameworks, import_items
    from itembank.layout import wide_columns
    from itembank.model import Form, FormItem
    from itembank.store import Bank

    (tmp_path / "fw.toml").write_text(
        '[framework]\ncode = "TST"\nname = "Test"\nversion = "1"\n'
        '[[areas]]\ncode = "TST.I"\ntitle = "One"\n  [[areas.competencies]]\n  code = "TST.I.1"\n  title = "a"\n'
        '[[areas]]\ncode = "TST.II"\ntitle = "Two"\n  [[areas.competencies]]\n  code = "TST.II.1"\n  title = "b"\n',
        encoding="utf-8")
    rows = []
    for j, key in enumerate("BACBAC"):
        row = {c: "" for c in wide_columns(["en"])}
        row.update({"item_id": f"T-{j + 1:04d}", "status": "operational", "cognitive_level": "recall",
                    "primary_competency": "TST.I.1" if j < 3 else "TST.II.1", "key": key, "author": "a",
                    "source": "s", "stem_en": f"Stem {j}?", "option_a_en": "x", "option_b_en": "y",
                    "option_c_en": "z", "translation_status_en": "reviewed"})
        rows.append(row)
    pd.DataFrame(rows).to_csv(tmp_path / "items.csv", index=False)
    path = tmp_path / "bank.db"
    with Bank.create(path, user="t") as bank:
        import_frameworks(bank, tmp_path / "fw.toml")
        import_items(bank, tmp_path / "items.csv")
        bank.save_form(Form(form_id="F1", name="Form 1",
                            items=tuple(FormItem(j + 1, f"T-{j + 1:04d}", 1, j == 5) for j in range(6))))
    return path


def test_cli_analyze_bank_form_saves_history(tmp_path, form_bank):
    from cli import main
    from itembank.store import Bank

    rng = np.random.default_rng(2)
    labels = np.array(list("ABC"))[rng.integers(0, 3, (80, 6))]
    ids = [f"T-{j + 1:04d}" for j in range(6)]
    resp = write_responses(tmp_path / "resp.csv", labels, ids, np.where(np.arange(80) < 40, "en", "es"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--bank", str(form_bank), "analyze", str(resp), "--form", "F1", "--out",
                                       str(out), "--group", "language", "--save-to-bank"])
    assert result.exit_code == 0, result.output
    items = pd.read_csv(out / "items.csv")
    assert (items["version"] == 1).all()
    assert items.loc[items.group == "all", "key"].tolist() == list("BACBAC")
    assert items.loc[items.group == "all", "pretest"].tolist() == [False] * 5 + [True]  # T-0006 is pretest
    test = json.loads((out / "test.json").read_text())
    assert test["combined"]["n_items"] == 5
    assert test["subscores"]["areas"] == ["TST.I", "TST.II"]  # areas come from the bank
    assert test["groups"]["language=es"]["subscores"]["n_items"] == [3, 2]  # T-0006 (area II) is pretest
    with Bank.open(form_bank) as bank:
        hist = bank.statistics_history("T-0001")
    assert set(hist["group"]) == {"all", "language=en", "language=es"}
    row = hist[hist.group == "all"].iloc[0]
    assert row["n"] == 80 and row["p_value"] == pytest.approx((labels[:, 0] == "B").mean())


def test_cli_label_outside_form_options(tmp_path, form_bank):
    from cli import main

    labels = np.array([list("BACBAC"), list("DACBAC")])  # D is not an option of T-0001 (A–C)
    resp = write_responses(tmp_path / "resp.csv", labels, [f"T-{j + 1:04d}" for j in range(6)])
    result = CliRunner().invoke(main, ["--bank", str(form_bank), "analyze", str(resp), "--form", "F1", "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "row 3, column 'T-0001'" in result.output and "options A, B, C" in result.output
    assert not (tmp_path / "out").exists()


def test_agrees_with_pypi_mirt_traditional():
    """PyPI mirt (the benchmark peer) computes alpha and corrected item–total correlations independently."""
    mirt = pytest.importorskip("mirt")
    _, labels, key = simulate(n=500, k=15, seed=9, omit=0.02)
    rm = from_labels(labels, ["ABCD"[c] for c in key], not_reached_rule=False)  # every blank an omit (0)
    a = analyze(rm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mirt.traditional(np.nan_to_num(rm.scored))
    assert a.test.alpha == pytest.approx(theirs.alpha, rel=1e-10)
    np.testing.assert_allclose(a.items.point_biserial, np.asarray(theirs.discrimination), rtol=1e-9)


def test_item_analysis_to_frame_is_the_item_table():
    # every result object has to_frame(); an ItemAnalysis's is its item table (the README's Python example)
    rm, _, _ = simulate(n=40, k=5, seed=3)
    result = analyze(rm)
    pd.testing.assert_frame_equal(result.to_frame(), result.items.to_frame())
    assert list(result.to_frame()["item_id"]) == list(rm.item_ids)


def test_standardized_alpha_and_guttman_lambda6_hand_worked():
    # Hand-worked: three items, every correlation .5. α_std = 3(.5)/(1 + 2(.5)) = .75. Each item's squared
    # multiple correlation on the other two is 2(.25)/(1 + .5) = 1/3, so λ6 = 1 − 3(2/3)/(3 + 6(.5)) = 2/3
    # (Guttman 1945; psych's G6(smc) on a correlation matrix).
    from psychometrics.ctt import guttman_lambda6, standardized_alpha
    r = np.full((3, 3), 0.5) + 0.5 * np.eye(3)
    assert standardized_alpha(r) == pytest.approx(0.75, abs=1e-12)
    assert guttman_lambda6(r) == pytest.approx(2 / 3, abs=1e-12)


def test_standardized_alpha_and_lambda6_against_their_definitions_on_data():
    # α_std is alpha of the z-scored items (Cronbach 1951); λ6's error variances are the residual variances of
    # least-squares regressions of each item on the others, computed here directly
    from psychometrics.ctt import coefficient_alpha, guttman_lambda6, standardized_alpha
    from psychometrics.simulate import simulate_dataset
    x = simulate_dataset(400, 8, np.random.default_rng(4), model="2pl").responses
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    assert standardized_alpha(np.corrcoef(x.T)) == pytest.approx(
        coefficient_alpha(z.var(axis=0), float(z.sum(axis=1).var())), abs=1e-10)
    xc = x - x.mean(axis=0)
    resid = []
    for j in range(8):
        others = np.delete(xc, j, axis=1)
        coef, *_ = np.linalg.lstsq(others, xc[:, j], rcond=None)
        resid.append(np.mean((xc[:, j] - others @ coef) ** 2))
    cov = np.cov(x.T, bias=True)
    assert guttman_lambda6(cov) == pytest.approx(1 - sum(resid) / cov.sum(), abs=1e-10)
    assert np.isnan(guttman_lambda6(np.ones((2, 2))))
