"""Empirical reliability of EAP and summed-score EAP (psychometrics/irt/reliability.py).

Sources: a hand-worked example; recovery of corr(θ̂, θ)² on simulated data (for EAP, whose errors are
uncorrelated with θ̂, ρ = var(θ̂)/var(θ) = corr(θ̂, θ)²); R mirt's tests (tests/testthat/test-01-dich.R:
``fscores(mod, method = 'EAPsum')`` on LSAT7 2PL, ``rxx_F1`` = 0.4319948).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.irt.estimation import calibrate
from psychometrics.irt.reliability import empirical_reliability, summed_score_reliability
from psychometrics.irt.scoring import eap, summed_score_eap
from psychometrics.simulate import simulate_items, simulate_responses

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference-data"


def test_hand_worked():
    # θ̂ = −1, 0, 1: var (n − 1) = 1; SE 0.5, 0.5, 1: mean SE² = 0.5; ρ = 1 / 1.5
    assert empirical_reliability([-1, 0, 1], [0.5, 0.5, 1.0]) == pytest.approx(2 / 3, abs=1e-12)
    # the table route: raw scores 0, 1, 1, 2 on a table θ = (−1, 0, 1), SD = (1, .5, 1)
    # θ̂ = −1, 0, 0, 1: var = 2/3; mean SD² = (1 + .25 + .25 + 1)/4 = .625
    assert summed_score_reliability([0, 1, 1, 2], [-1, 0, 1], [1, .5, 1]) == pytest.approx(
        (2 / 3) / (2 / 3 + 0.625), abs=1e-12)


def test_recovers_squared_correlation_with_true_theta():
    rng = np.random.default_rng(31)
    items = simulate_items(30, rng, model="2pl")
    theta = rng.normal(0, 1, 8000)
    x = simulate_responses(theta, items.a, items.b, rng=rng)
    scores = eap(x, items.a, items.b)
    rel = empirical_reliability(scores.theta, scores.se)
    assert rel == pytest.approx(np.corrcoef(scores.theta, theta)[0, 1] ** 2, abs=0.015)
    table = summed_score_eap(items.a, items.b)
    raw = x.sum(axis=1).astype(int)
    rel_sum = summed_score_reliability(raw, table.theta, table.sd)
    assert rel_sum == pytest.approx(np.corrcoef(table.theta[raw], theta)[0, 1] ** 2, abs=0.015)
    assert rel_sum <= rel + 0.005          # the raw score carries no more information than the pattern


@pytest.mark.skipif(not REF.exists(), reason="../shared/reference-data is not present")
def test_lsat7_summed_score_reliability_matches_mirt():
    x = pd.read_csv(REF / "lsat7.csv").to_numpy(float)
    fit = calibrate(x, "2pl")
    table = summed_score_eap(fit.a, fit.b, fit.c)
    rel = summed_score_reliability(x.sum(axis=1).astype(int), table.theta, table.sd)
    assert rel == pytest.approx(0.4319948, abs=1e-4)
