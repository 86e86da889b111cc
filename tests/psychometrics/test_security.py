"""psychometrics.security against hand-worked cases and simulated truth (issue 20).

Hand-worked cases (10 items unless said):
- lz / lz*: Rasch items b = (+ln 3, −ln 3) × 5 at θ = 0, so P = .25 (hard) and .75 (easy), w = log(P/Q) = ∓ln 3,
  P Q = .1875. Easy right and hard wrong: Σ(x − P)w = 10 · .25 · ln 3, Var = 10 · .1875 · ln²3, so
  lz = 2.5 / √1.875 = 1.8257. The reverse pattern: 10 · (−.75 ln 3) → lz = −7.5 / √1.875 = −5.4772.
  Raw 5 = Σ P, so θ̂_ML = 0; c = Σ P'w / Σ P'r = 0 by symmetry and lz* = lz. The numerator's skewness
  γ = 10 · (ln 3)³ · .1875 · (∓.5) / (1.875^{3/2} (ln 3)³) = −.9375 / 2.5675 = −.36515, and the Edgeworth p of
  −5.4772 is Φ(−5.4772) + φ(5.4772) · .36515 · 29 / 6 = 2.16e-8 + 2.154e-7 = 2.37e-7.
- U3 (5 items, p = .9 .8 .6 .4 .2; f = 2.1972, 1.3863, .4055, −.4055, −1.3863): pattern 1 0 1 0 1, r = 3:
  best 3.9890, worst −1.3863, observed 1.2164 → U3 = 2.7726 / 5.3753 = .51580.
- Generalized binomial tail: π_j = .1 on 10 items is Binomial(10, .1): P(M ≥ 3) = 1 − (.348678 + .387420 +
  .193710) = .070191.
- Signed LR (Rasch, b = 0, exposed = first 5): 5/5 on the exposed, 0/5 on the rest. On the grid [−5, 5],
  log L_S(5) = log L_R(−5) = 5 log σ(5) = −.033575 and log L(0) = 10 log .5 = −6.931472, so
  LR = 2 (−.067150 + 6.931472) = 13.728644 and z = √LR = 3.70522.
- Retake: θ 0 (SE .3) then 1.5 (SE .4), typical gain 0: z = 1.5 / .5 = 3, p = .0013499.
- Timing residual (items known: β = ln 60, ln 30, ln 90; α = 2, so w = 4, 1/w = .25): a candidate's times
  60, 30, 9 s. Item 3 against items 1–2: τ(−3) = mean(0, 0) = 0, residual ln 9 − ln 90 = −ln 10 = −2.302585,
  Var = .25 + 1/8 = .375, z = −2.302585 / .612372 = −3.76011 (too fast at −2.576). Item 1 against items 2–3:
  τ(−1) = (0 + ln 10) / 2 = 1.151293, residual 0 + 1.151293, z = 1.88005 (item 2 the same). The typical time of item 3 at
  that speed is exp(ln 90 − 0) = 90 s.
- Fast-correct count without IRT probabilities: 2 of 40 timed answers at q = .005,
  P(K ≥ 2) = 1 − .995⁴⁰ − 40 · .005 · .995³⁹ = 1 − .818320 − .164486 = .017193.
"""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from psychometrics.irt import scoring
from psychometrics.irt.models import probability
from psychometrics.security.person_fit import lz_statistics, lower_tail_p, person_fit, u3
from psychometrics.security.preknowledge import differential_person_functioning, item_drift, retake_gains
from psychometrics.security.timing import aberrant_timing, deleted_residuals, fit_lognormal
from psychometrics.security.similarity import (answer_similarity, clusters_of, upper_tail,
                                               wrong_option_features)
from psychometrics.simulate import simulate_items, simulate_option_choices

LN3 = np.log(3)


def test_lz_and_lz_star_hand_worked():
    b = np.array([LN3, -LN3] * 5)
    x = np.array([[0, 1] * 5, [1, 0] * 5], float)
    lz, lz_star, skew = lz_statistics(x, np.zeros(2), np.ones(10), b, estimator="ml")
    assert lz == pytest.approx([1.825742, -5.477226], abs=1e-6)
    assert lz_star == pytest.approx(lz, abs=1e-12)
    assert skew == pytest.approx([-0.365148] * 2, abs=1e-6)
    assert lower_tail_p(lz_star[1:], skew[1:])[0] == pytest.approx(2.37e-7, rel=0.01)


def test_u3_hand_worked_and_guttman_ends():
    assert u3(np.array([[1, 0, 1, 0, 1]], float), np.array([.9, .8, .6, .4, .2]))[0] == pytest.approx(.51580, abs=1e-5)
    p = np.linspace(.95, .05, 10)
    x = np.array([[1] * 4 + [0] * 6, [0] * 6 + [1] * 4, [1] * 10], float)
    assert u3(x, p)[:2] == pytest.approx([0.0, 1.0]) and np.isnan(u3(x, p)[2])


def test_upper_tail_hand_worked_and_against_enumeration():
    assert upper_tail(np.full((1, 10), .1), np.array([3]))[0] == pytest.approx(.070191, abs=1e-6)
    assert upper_tail(np.full((1, 10), .1), np.array([3]))[0] == pytest.approx(binom.sf(2, 10, .1), rel=1e-12)
    rng = np.random.default_rng(0)
    pi = rng.uniform(0, .4, 10)
    patterns = (np.arange(1024)[:, None] >> np.arange(10)) & 1
    prob = np.prod(np.where(patterns, pi, 1 - pi), axis=1)
    counts = patterns.sum(axis=1)
    for m in (0, 1, 4, 7, 10):
        assert upper_tail(pi[None, :], np.array([m]))[0] == pytest.approx(prob[counts >= m].sum(), rel=1e-10)


def test_wrong_option_counts_are_the_matrix_product():
    codes = np.array([[0, 1, 2, 6], [0, 1, 3, 6], [1, 1, 3, 2]])
    key = np.array([0, 2, 0, 1])
    onehot, item, option = wrong_option_features(codes, key, np.full(4, 4))
    m = onehot @ onehot.T
    # by hand: 1–2 share item 2's wrong 'B' (item 3 differs, item 4 is omitted: omits never match);
    # 2–3 share item 2 'B' and item 3 'D'; 1–3 item 2 'B'
    assert m[0, 1] == 1 and m[1, 2] == 2 and m[0, 2] == 1


def test_signed_lr_hand_worked():
    x = np.array([[1] * 5 + [0] * 5, [1, 0] * 5], float)
    res = differential_person_functioning(x, np.arange(5), np.ones(10), np.zeros(10), person_ids=["a", "b"])
    row = res.frame.set_index("candidate_id").loc["a"]
    assert row["z"] == pytest.approx(3.70522, abs=1e-4)
    assert (row["theta_exposed"], row["theta_rest"]) == pytest.approx((5, -5))


def test_retake_gain_hand_worked_and_same_form():
    now = pd.DataFrame({"candidate_id": ["A", "B"], "form_id": ["F2", "F1"], "theta": [1.5, 0.1], "se": [.4, .3]})
    before = pd.DataFrame({"candidate_id": ["A", "B"], "form_id": ["F1", "F1"], "theta": [0.0, 0.0],
                           "se": [.3, .3]})
    res = retake_gains(now, before).frame.set_index("candidate_id")
    assert res.loc["A", "z"] == pytest.approx(3.0) and res.loc["A", "p_value"] == pytest.approx(.0013499, abs=1e-6)
    assert not res.loc["A", "flagged"] and res.loc["B", "same_form"] and res.loc["B", "flagged"]


def test_item_drift_removes_the_common_shift():
    hist = pd.DataFrame({"item_id": list("abcde"), "n": 1000, "p_value": [.5, .6, .7, .4, .5]})
    now = pd.DataFrame({"item_id": list("abcde"), "n": 1000, "p_value": [.55, .65, .75, .45, .9]})
    drift = item_drift(now, hist)
    assert drift.loc[drift.flagged, "item_id"].tolist() == ["e"]


def test_clusters_are_connected_components():
    edges = pd.DataFrame({"candidate_1": ["a", "b", "x"], "candidate_2": ["b", "c", "y"]})
    cl = clusters_of(edges)
    assert cl.groupby("cluster")["candidate_id"].apply(list).to_dict() == {1: ["a", "b", "c"], 2: ["x", "y"]}


# ---- simulated truth ------------------------------------------------------------------------------------------
def planted(n, rng, n_items=120, n_pairs=20, share=0.4):
    """An honest 3PL population with 4-option items and ``n_pairs`` copiers (rows n_pairs..2·n_pairs−1) who
    copy ``share`` of their answers from sources (rows 0..n_pairs−1)."""
    items = simulate_items(n_items, rng, model="3pl")
    key = rng.integers(0, 4, n_items)
    theta = rng.normal(0, 1, n)
    codes = simulate_option_choices(theta, items.a, items.b, items.c, correct_options=key,
                                    n_options=np.full(n_items, 4), rng=rng)
    for s in range(n_pairs):
        copied = rng.choice(n_items, int(share * n_items), replace=False)
        codes[n_pairs + s, copied] = codes[s, copied]
    return items, key, codes


def test_similarity_power_and_false_positives_on_simulated_copiers():
    rng = np.random.default_rng(2024)
    items, key, codes = planted(600, rng)
    x = (codes == key).astype(float)
    th = scoring.score(x, items.a, items.b, items.c, method="wle")
    p = probability(th.theta, items.a, items.b, items.c)
    res = answer_similarity(codes, key, np.full(120, 4), p, th.theta, alpha=0.001)
    pairs = res.pairs
    is_planted = (pairs.candidate_2.astype(int) - pairs.candidate_1.astype(int) == 20) & \
        (pairs.candidate_1.astype(int) <= 20)
    # per pair at α = .001: 40% copying is found (measured 0.90 here; 0.90–0.94 at 1,000–5,000 candidates)
    assert (is_planted & (pairs.p_value < .001)).sum() / 20 >= 0.8
    # honest pairs: at most the nominal rate at α = .001 per pair (measured 0.00015–0.0002), none after Bonferroni
    honest_pairs = res.n_pairs - 20
    assert ((~is_planted) & (pairs.p_value < .001)).sum() / honest_pairs <= 0.001
    assert not (pairs.flagged & ~is_planted).any()
    # after Bonferroni over all 179,700 pairs the bar is p ≤ 5.6e-9: 4 of the 20 pass (the price of testing
    # every pair; within sites the family is far smaller)
    assert res.n_flagged >= 3


def _lz_star_study(n, seed=7):
    """120 3PL items, n honest candidates but the first 40, who answer the 30 easiest items at random among 4
    options (careless, or misaligned): (flagged share of the 40, flagged share of the honest)."""
    rng = np.random.default_rng(seed)
    items = simulate_items(120, rng, model="3pl")
    theta = rng.normal(0, 1, n)
    pr = probability(theta, items.a, items.b, items.c)
    x = (rng.random(pr.shape) < pr).astype(float)
    easy = np.argsort(items.b)[:30]
    x[:40][:, easy] = (rng.random((40, 30)) < .25)
    th = scoring.score(x, items.a, items.b, items.c, method="wle")
    fit = person_fit(x, th.theta, items.a, items.b, items.c, alpha=0.001)
    return fit.flagged[:40].mean(), fit.flagged[40:].mean()


def test_lz_star_false_positive_rate_and_power():
    power, fpr = _lz_star_study(1000)
    assert fpr <= 0.003                             # measured 0 of 960 (seeds 7–9; nominal .001 → about 1)
    assert power >= 0.6                             # measured 0.73–0.78: 30 of 120 items at random is subtle


@pytest.mark.slow
def test_lz_star_false_positive_rate_and_power_at_4000():
    power, fpr = _lz_star_study(4000)
    assert fpr <= 0.002                             # measured 0.0008–0.0013 over seeds (nominal .001)
    assert power >= 0.6                             # measured 0.70


def test_preknowledge_power_and_false_positive_rate():
    rng = np.random.default_rng(11)
    items = simulate_items(120, rng, model="3pl")
    theta = rng.normal(0, 1, 3000)
    pr = probability(theta, items.a, items.b, items.c)
    x = (rng.random(pr.shape) < pr).astype(float)
    exposed = np.arange(20)
    x[:60, :20] = 1.0                               # 60 candidates know the 20 exposed items
    res = differential_person_functioning(x, exposed, items.a, items.b, items.c, alpha=0.001)
    flagged = res.frame.set_index("candidate_id")["flagged"]
    cheat = flagged.index.astype(int) <= 60
    assert flagged[cheat].mean() >= 0.8             # measured 0.87 at 5,000 candidates
    assert flagged[~cheat].mean() <= 0.002          # measured 0.0006


def test_timing_residual_and_count_hand_worked():
    beta, alpha = np.log([60.0, 30.0, 90.0]), np.full(3, 2.0)
    z, tau_minus = deleted_residuals(np.log([[60.0, 30.0, 9.0]]), beta, alpha)
    assert z[0] == pytest.approx([1.88005, 1.88005, -3.76011], abs=1e-5)
    assert np.exp(beta[2] - tau_minus[0, 2]) == pytest.approx(90.0)
    assert upper_tail(np.full((1, 40), .005), np.array([2]))[0] == pytest.approx(.017193, abs=1e-6)


def timed_world(seed, n=2000, n_items=60, n_fast=40, n_known=15, share_of_time=0.25):
    """Honest 3PL answers and log-normal times (van der Linden 2006: β ~ N(4, .4) log s ≈ 55 s, α ~ U(1.5, 2.5),
    τ ~ N(0, .3)); the first ``n_fast`` candidates know ``n_known`` items: right, in ``share_of_time`` of
    their usual time."""
    rng = np.random.default_rng(seed)
    items = simulate_items(n_items, rng, model="3pl")
    beta, alpha, tau = rng.normal(4.0, 0.4, n_items), rng.uniform(1.5, 2.5, n_items), rng.normal(0, 0.3, n)
    pr = probability(rng.normal(0, 1, n), items.a, items.b, items.c)
    x = (rng.random(pr.shape) < pr).astype(float)
    log_t = beta - tau[:, None] + rng.normal(0, 1, (n, n_items)) / alpha
    known = rng.choice(n_items, n_known, replace=False)
    x[:n_fast][:, known] = 1.0
    log_t[:n_fast][:, known] += np.log(share_of_time)
    return np.exp(log_t), x, pr, (beta, alpha, tau)


def test_lognormal_fit_recovers_the_truth_and_the_null_rate():
    t, x, pr, (beta, alpha, tau) = timed_world(3, n_fast=0)
    model = fit_lognormal(np.log(t))
    assert np.abs(model.beta - (beta - tau.mean())).max() < 0.03          # measured 0.014
    assert np.abs(model.alpha / alpha - 1).max() < 0.1                    # measured 0.06
    assert np.corrcoef(model.tau, tau)[0, 1] > 0.97                       # measured 0.98
    z, _ = deleted_residuals(np.log(t), model.beta, model.alpha)
    assert 0.004 <= (z < -2.5758).mean() <= 0.006                         # measured 0.0048 (nominal .005)
    res = aberrant_timing(t, x, p_correct=pr, alpha=0.01)
    assert res.persons["flagged"].mean() <= 0.01                          # measured 0.0015 at α = .01


def test_fast_responders_power_and_false_positive_rate():
    t, x, pr, _ = timed_world(1)
    res = aberrant_timing(t, x, p_correct=pr, alpha=0.001, person_ids=[f"{i:04d}" for i in range(len(t))])
    flagged = res.persons.set_index("candidate_id")["flagged"]
    planted = flagged.index.astype(int) < 40
    # 15 of 60 items right in a quarter of the usual time: found in 0.78–0.88 of the 40 (seeds 0–2; the plain
    # fit without the robust pass 0.68–0.88)
    assert flagged[planted].mean() >= 0.7                                 # measured 0.775 (seed 1)
    assert flagged[~planted].mean() <= 0.001                              # measured 0.0005 (1 of 1,960)
    assert set(res.responses["candidate_id"]) >= set(flagged[flagged].index)


def test_the_robust_pass_keeps_heavy_fast_responders_from_hiding_and_the_null_rate():
    # 12 of 40 items right in a fifth of the time (30% of the form): in the plain fit those answers speed up
    # the candidate's own τ; the trimmed refit (|z| > 3 left out) takes part of that back
    from psychometrics.security.timing import robust_fit
    t, x, pr, (_, _, tau) = timed_world(1, n_items=40, n_known=12, share_of_time=0.2)
    lt = np.log(t)
    plain, (robust, keep) = fit_lognormal(lt), robust_fit(lt)
    centred = tau - tau[40:].mean()
    bias = {name: np.mean(m.tau[:40] - m.tau[40:].mean() - centred[:40]) for name, m in
            (("plain", plain), ("robust", robust))}
    assert bias["robust"] < bias["plain"] - 0.05                          # measured 0.48 → 0.35
    assert 1 - keep[40:].mean() < 0.004                                   # honest times trimmed: measured 0.28%
    res = aberrant_timing(t, x, p_correct=pr, alpha=0.001, person_ids=[f"{i:04d}" for i in range(len(t))])
    flagged = res.persons.set_index("candidate_id")["flagged"]
    planted = flagged.index.astype(int) < 40
    assert flagged[planted].mean() >= 0.8                                 # measured 0.875 (plain fit 0.75)
    assert flagged[~planted].mean() <= 0.0015                             # measured 0.001
    # no cheaters: the truncation-consistent variance keeps the per-answer rate at its nominal .005
    t0, _, _, _ = timed_world(2, n_fast=0)
    m0, keep0 = robust_fit(np.log(t0))
    z0, _ = deleted_residuals(np.log(t0), m0.beta, m0.alpha, keep=keep0)
    assert 0.004 <= np.nanmean(z0 < -2.5758) <= 0.0065                    # measured 0.0053


def _retake_world(seed, n=1500, n_items=120, n_planted=30, practice=0.2, jump=1.5):
    """Two 3PL forms; n first-timers θ ~ N(0, 1), those below θ̂ = 0 retake on the other form with θ + a
    practice gain; the first ``n_planted`` retakers come back with θ + ``jump`` instead. The retake table,
    and which rows are planted."""
    rng = np.random.default_rng(seed)
    forms = simulate_items(n_items, rng, model="3pl"), simulate_items(n_items, rng, model="3pl")
    theta = rng.normal(0, 1, n)

    def sit(th, f):
        x = (rng.random((len(th), n_items)) < probability(th, f.a, f.b, f.c)).astype(float)
        s = scoring.score(x, f.a, f.b, f.c, method="wle")
        return s.theta, s.se

    t1, se1 = sit(theta, forms[0])
    again = np.flatnonzero(t1 < 0)
    theta2 = theta[again] + practice
    theta2[:n_planted] = theta[again[:n_planted]] + jump
    t2, se2 = sit(theta2, forms[1])
    ids = np.array([f"C{i:05d}" for i in range(n)])
    now = pd.DataFrame({"candidate_id": ids[again], "form_id": "F2", "theta": t2, "se": se2})
    before = pd.DataFrame({"candidate_id": ids, "form_id": "F1", "theta": t1, "se": se1})
    frame = retake_gains(now, before, alpha=0.001).frame.set_index("candidate_id")
    return frame, frame.index.isin(ids[again[:n_planted]])


def test_retakers_power_and_false_positive_rate():
    worlds = [_retake_world(seed) for seed in range(3)]
    frame = pd.concat([f for f, _ in worlds])
    planted = np.concatenate([p for _, p in worlds])
    honest = frame[~planted]
    # honest retakers (failed, then +0.2 practice), 2,284 over seeds 0–2: at the nominal rate, the median
    # absorbing the practice gain and the regression to the mean of a failed group (measured 0.0013 at α = .001,
    # 0.0063 at .01; 0.0007 and 0.0075 over seeds 0–5)
    assert honest["flagged"].mean() <= 0.002 and (honest["p_value"] < .01).mean() <= 0.01
    # +1.5 θ between sittings on 120 items: measured 0.61 at α = .001 and 0.89 at .01 (60-item forms: only
    # 0.07–0.23 at .001, the SE of a low θ on a 3PL form being large)
    assert frame.loc[planted, "flagged"].mean() >= 0.45
    assert (frame.loc[planted, "p_value"] < .01).mean() >= 0.75
