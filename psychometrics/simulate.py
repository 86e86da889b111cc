"""Simulated dichotomous responses with known truth, for recovery studies, tests, benchmarks and the demo.

Every function takes an explicit ``numpy.random.Generator``: there is no global random state.

Shapes: item parameter arrays are (n_items,), ``theta`` is (n_persons,), responses are (n_persons, n_items)
of 0.0/1.0 (NaN where an item was not presented).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psychometrics.irt.models import D_LOGISTIC, ItemParameters, probability

#: Defaults of the recovery studies in issue 5: a ~ lognormal(0, .25), b ~ N(0, 1), c = .2 for the 3PL.
DEFAULT_LOG_SLOPE_SD = 0.25
DEFAULT_GUESSING = 0.2


#: True item parameters of a simulation: the one item-parameter container (IRT form, scaling constant D).
SimulatedItems = ItemParameters


def simulate_items(n_items: int, rng: np.random.Generator, *, model: str = "2pl",
                   log_slope_sd: float = DEFAULT_LOG_SLOPE_SD, guessing: float = DEFAULT_GUESSING,
                   D: float = D_LOGISTIC, prefix: str = "SIM") -> SimulatedItems:
    """Draw item parameters: a ~ lognormal(0, log_slope_sd) (1 for rasch/1pl), b ~ N(0, 1), c = guessing (3pl).

    ``model`` is one of rasch, 1pl, 2pl, 3pl.
    """
    model = model.lower()
    if model not in ("rasch", "1pl", "2pl", "3pl"):
        raise ValueError(f"unknown model {model!r}")
    a = np.ones(n_items) if model in ("rasch", "1pl") else rng.lognormal(0.0, log_slope_sd, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    c = np.full(n_items, guessing if model == "3pl" else 0.0)
    ids = tuple(f"{prefix}-{j + 1:04d}" for j in range(n_items))
    return SimulatedItems(ids, a, b, c, D)


def simulate_responses(theta, a, b, c=None, *, rng: np.random.Generator, D: float = D_LOGISTIC,
                       missing_rate: float = 0.0) -> np.ndarray:
    """Dichotomous responses: X_ij = 1 if U_ij < P_j(θ_i) with U ~ Uniform(0, 1) (Lord 1980, eq. 2-1).

    theta: (n_persons,); a, b, c: (n_items,). ``missing_rate`` sets that share of cells to NaN completely at
    random (not presented). Returns (n_persons, n_items) float64 of 0.0/1.0/NaN.
    """
    theta = np.asarray(theta, dtype=float)
    p = probability(theta, a, b, c, D)
    x = (rng.random(p.shape) < p).astype(float)
    if missing_rate > 0:
        x[rng.random(p.shape) < missing_rate] = np.nan
    return x


@dataclass(frozen=True)
class SimulatedData:
    """Responses with the truth that generated them."""

    responses: np.ndarray   # (n_persons, n_items)
    theta: np.ndarray       # (n_persons,)
    items: SimulatedItems


def simulate_dataset(n_persons: int, n_items: int, rng: np.random.Generator, *, model: str = "2pl",
                     theta_mean: float = 0.0, theta_sd: float = 1.0, D: float = D_LOGISTIC,
                     guessing: float = DEFAULT_GUESSING, missing_rate: float = 0.0) -> SimulatedData:
    """Items from ``simulate_items``, θ ~ N(theta_mean, theta_sd²), responses from ``simulate_responses``."""
    items = simulate_items(n_items, rng, model=model, D=D, guessing=guessing)
    theta = rng.normal(theta_mean, theta_sd, n_persons)
    x = simulate_responses(theta, items.a, items.b, items.c, rng=rng, D=D, missing_rate=missing_rate)
    return SimulatedData(x, theta, items)


# ------------------------------------------------------------------------------------------------------
# Option-level administrations (which option each candidate chose), for the demo and CTT/DIF tests

OPTION_LABELS = "ABCDEF"


def simulate_option_choices(theta, a, b, c=None, *, correct_options, n_options, rng: np.random.Generator,
                            distractor_weights=None, D: float = D_LOGISTIC) -> np.ndarray:
    """The option each candidate chooses: the correct option with probability P_j(θ_i) (Lord 1980, eq. 2-1),
    otherwise a distractor drawn with ``distractor_weights`` (equal by default).

    theta: (n_persons,); a, b, c: (n_items,) or (n_persons, n_items) for ``b`` when a group's difficulty
    differs (planted DIF); correct_options: (n_items,) 0-based index of the option that is truly right (it
    may differ from the stored key: a planted miskey); n_options: (n_items,); distractor_weights:
    (n_items, max_options) non-negative, the weight of the correct option is ignored.
    Returns (n_persons, n_items) int 0-based option codes.
    """
    theta = np.asarray(theta, dtype=float)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    c = np.zeros_like(a) if c is None else np.asarray(c, dtype=float)
    correct_options = np.asarray(correct_options, dtype=int)
    n_options = np.asarray(n_options, dtype=int)
    n_items = a.shape[0]
    max_opt = int(n_options.max())
    if b.ndim == 2:  # person-specific difficulty: P = c + (1 − c) / (1 + exp(−D a (θ − b)))
        p = c + (1 - c) / (1 + np.exp(-D * a[None, :] * (theta[:, None] - b)))
    else:
        p = probability(theta, a, b, c, D)
    weights = np.ones((n_items, max_opt)) if distractor_weights is None else np.array(distractor_weights, float)
    weights = weights[:, :max_opt].copy()
    weights[np.arange(max_opt)[None, :] >= n_options[:, None]] = 0.0
    weights[np.arange(n_items), correct_options] = 0.0
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)  # (n_items, max_opt)
    u = rng.random(p.shape)
    distractor = (u[:, :, None] > cum[None, :, :]).sum(axis=2)
    distractor = np.minimum(distractor, n_options[None, :] - 1)
    right = rng.random(p.shape) < p
    return np.where(right, correct_options[None, :], distractor)
