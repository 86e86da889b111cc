"""One standard across forms: item parameters, TCC inversion, a form's raw cut, IRT equating (K&B ch. 6).

- A θ cut gives each form a raw cut through its TCC (``raw_cut_from_theta``; rounding rule stated there).
- IRT true-score equating (Kolen & Brennan 2014, §6.4): θ = TCC_X⁻¹(x), e_Y(x) = TCC_Y(θ); scores at or below
  the sum of the c's of X are equated linearly from (0, 0) to (Σc_X, Σc_Y) (K&B eq. 6.23), and K_X maps to K_Y.
- IRT observed-score equating (K&B §6.4.2): Lord–Wingersky summed-score distributions, then equipercentile.

Item parameter arrays are (n_items,); θ arrays (n_theta,).
"""
from __future__ import annotations

import numpy as np

from certbank_core.errors import InputError
from psychometrics.equating.classical import EquatingResult, _nan, equipercentile_equating
from psychometrics.irt.models import ItemParameters  # noqa: F401  (ItemParameters re-exported)
from psychometrics.irt.quadrature import make_quadrature
from psychometrics.irt.scoring import lord_wingersky, theta_from_raw_score

#: Search interval for inverting a TCC (logits); true scores outside reach map to these bounds.
THETA_SEARCH_BOUNDS = (-15.0, 15.0)
#: Rounding rules for a raw cut taken from a θ cut (see ``raw_cut_from_theta``).
ROUNDING_RULES = ("at_least", "nearest")


def theta_for_true_score(true_score, params: ItemParameters) -> np.ndarray:
    """Invert the form's TCC: θ with Σ_j P_j(θ) = τ (Lord 1980, eq. 4-5), via the one TCC inversion
    ``irt.scoring.theta_from_raw_score`` searched over ±15 logits (``THETA_SEARCH_BOUNDS``): true-score
    equating and cut placement need the exact θ even for extreme scores on an easy or hard form.

    true_score: scalar or (n,). Values at or below Σc_j (or ≥ n_items) have no finite θ and are returned at
    the search bounds. The TCC is strictly increasing when every a_j > 0.
    """
    return theta_from_raw_score(true_score, params.a, params.b, params.c, D=params.D, bounds=THETA_SEARCH_BOUNDS)


def raw_cut_from_theta(theta_cut: float, params: ItemParameters, rule: str = "at_least") -> int:
    """A form's raw cut for a θ cut: from its true score τ_c = TCC(θ_c) (K&B §6.4; Lord 1980 ch. 4).

    rule "at_least" (default): the smallest integer raw score r with r ≥ τ_c, so that every passing raw score
    has an estimated true score at or above the standard. rule "nearest": round τ_c half up.
    """
    if rule not in ROUNDING_RULES:
        raise InputError(f"unknown rounding rule {rule!r}; use one of {', '.join(ROUNDING_RULES)}")
    tau = float(params.tcc([theta_cut])[0])
    # 1e-9 guards against a true score like 72.0000000001 caused by floating point.
    raw = int(np.ceil(tau - 1e-9)) if rule == "at_least" else int(np.floor(tau + 0.5))
    return min(max(raw, 0), params.n_items)


# --------------------------------------------------------------------------------------------------------
# IRT equating (K&B ch. 6)
# --------------------------------------------------------------------------------------------------------
def summed_score_distribution(params: ItemParameters, theta) -> np.ndarray:
    """P(X = x | θ) for x = 0..n_items: (n_theta, n_items + 1), by Lord–Wingersky (1984) in irt.scoring."""
    return lord_wingersky(params.a, params.b, params.c, D=params.D, theta=np.atleast_1d(theta)).T


def irt_true_score_equating(params_x: ItemParameters, params_y: ItemParameters) -> EquatingResult:
    """IRT true-score equating (K&B §6.4.1): e_Y(τ_X) = τ_Y(TCC_X⁻¹(τ_X)) for Σc_X < τ_X < K_X.

    Integer scores at or below Σc_X are equated linearly between (0, 0) and (Σc_X, Σc_Y) (K&B eq. 6.23);
    K_X maps to K_Y. Returns the concordance for x = 0..K_X and θ in details.
    """
    x = np.arange(params_x.n_items + 1, dtype=float)
    cx, cy = float(params_x.c.sum()), float(params_y.c.sum())
    inside = (x > cx) & (x < params_x.n_items)
    theta = np.full(x.shape, np.nan)
    theta[inside] = theta_for_true_score(x[inside], params_x)
    eq = np.empty(x.shape)
    eq[inside] = params_y.tcc(theta[inside])
    low = x <= cx
    eq[low] = x[low] * (cy / cx) if cx > 0 else 0.0
    eq[x >= params_x.n_items] = params_y.n_items
    return EquatingResult("irt_true_score", x, eq, _nan(x.size), details={"theta": theta})


def irt_observed_score_equating(params_x: ItemParameters, params_y: ItemParameters, w1: float = 0.5,
                                theta_x=None, weights_x=None, theta_y=None, weights_y=None) -> EquatingResult:
    """IRT observed-score equating (K&B §6.4.2): marginal summed-score distributions from Lord–Wingersky,

    f(x) = Σ_q P(X = x | θ_q) w_q, over a synthetic population (w1 of population 1's ability distribution,
    w2 of population 2's; both default to N(0, 1) on the common scale), then equipercentile with K&B's
    conventions. Standard errors are not computed (NaN).
    """
    if theta_x is None:
        quad = make_quadrature()
        theta_x, weights_x = quad.nodes, quad.weights
    if theta_y is None:
        theta_y, weights_y = theta_x, weights_x
    theta = np.concatenate([theta_x, theta_y])
    w = np.concatenate([w1 * np.asarray(weights_x) / np.sum(weights_x),
                        (1 - w1) * np.asarray(weights_y) / np.sum(weights_y)])
    fx = w @ summed_score_distribution(params_x, theta)
    gy = w @ summed_score_distribution(params_y, theta)
    res = equipercentile_equating(fx, gy, n_x=np.inf, n_y=np.inf, method="irt_observed_score")
    return EquatingResult(res.method, res.scores, res.equated, _nan(res.scores.size),
                          details={"f_x": fx, "g_y": gy})


