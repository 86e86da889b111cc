"""Log-linear presmoothing of score distributions (Holland & Thayer 2000; Kolen & Brennan 2014, sec. 3.2).

Univariate: log m(x) = β₀ + Σ_{c=1}^{C} β_c x^c, fitted to the counts n(x) by Poisson maximum likelihood
(equivalently multinomial with N fixed). At the maximum Bᵀ(n − m) = 0, so the fitted distribution keeps
N and the first C moments of the observed one exactly (Holland & Thayer 2000, sec. 2) — the property the
tests check. Bivariate (NEAT, total × anchor): log m(x, v) = β₀ + Σ_c β_c x^c + Σ_d γ_d v^d +
Σ_{i,j ≤ E} δ_ij x^i v^j (Holland & Thayer 2000, sec. 4): powers of each margin up to C_X and C_V and the
cross-product terms for i, j ≤ ``cross`` (default 1: the covariance); those moments are kept exactly.

The powers are taken of the score rescaled to [−1, 1] (a linear map leaves the span of the design, hence the
fit, unchanged; it keeps Newton's system well conditioned). Newton–Raphson on the Poisson log-likelihood.
The degree can be chosen by AIC = −2 log L + 2 (number of parameters) over C = 1..``max_degree``
(Holland & Thayer 2000, sec. 5; K&B sec. 3.2.2), log L the multinomial log-likelihood Σ n log(m/N).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from certbank_core.errors import EstimationError, InputError, Problem


@dataclass(frozen=True)
class SmoothedDistribution:
    """Fitted counts (same shape as the input), the degree(s), log-likelihood and AIC."""

    fitted: np.ndarray
    degree: int | tuple[int, int]
    log_likelihood: float
    aic: float
    n_parameters: int


def _scaled(k: int) -> np.ndarray:
    x = np.arange(k + 1, dtype=float)
    return (2 * x / k - 1) if k > 0 else x


def _fit(counts: np.ndarray, design: np.ndarray, max_iter: int = 100):
    n = counts.ravel()
    total = n.sum()
    beta = np.zeros(design.shape[1])
    beta[0] = np.log(total / n.size)
    for _ in range(max_iter):
        m = np.exp(design @ beta)
        grad = design.T @ (n - m)
        hess = design.T @ (m[:, None] * design)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        # halve a step that would overflow the exponent
        while np.max(design @ (beta + step)) > 700:
            step /= 2
        beta = beta + step
        if np.max(np.abs(grad)) < 1e-10 * max(total, 1.0) and np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise EstimationError(Problem("the log-linear presmoothing did not converge; try a smaller degree"))
    m = np.exp(design @ beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = float(np.sum(np.where(n > 0, n * np.log(m / total), 0.0)))
    return m.reshape(counts.shape), ll


def loglinear_smooth(freq, degree: int) -> SmoothedDistribution:
    """Univariate log-linear smoothing of counts freq (K + 1,) with degree C (keeps the first C moments)."""
    f = np.asarray(freq, dtype=float)
    if f.ndim != 1 or f.sum() <= 0 or (f < 0).any():
        raise InputError(Problem("presmoothing needs a vector of non-negative score counts"))
    degree = int(degree)
    if degree < 1 or degree >= f.size:
        raise InputError(Problem(f"the log-linear degree must be between 1 and {f.size - 1}"))
    z = _scaled(f.size - 1)
    design = np.vander(z, degree + 1, increasing=True)
    fitted, ll = _fit(f, design)
    k = degree + 1
    return SmoothedDistribution(fitted, degree, ll, -2 * ll + 2 * k, k)


def choose_degree(freq, max_degree: int = 10) -> SmoothedDistribution:
    """The univariate fit with the smallest AIC over degrees 1..max_degree (Holland & Thayer 2000)."""
    f = np.asarray(freq, dtype=float)
    fits = []
    for c in range(1, min(int(max_degree), f.size - 1) + 1):
        try:
            fits.append(loglinear_smooth(f, c))
        except EstimationError:
            continue
    if not fits:
        raise EstimationError(Problem("no log-linear presmoothing degree could be fitted"))
    return min(fits, key=lambda s: s.aic)


def loglinear_smooth_bivariate(table, degree_x: int, degree_v: int, cross: int = 1) -> SmoothedDistribution:
    """Bivariate smoothing of a (K_X + 1, K_V + 1) table: powers of x to degree_x, of v to degree_v, and
    x^i v^j for 1 ≤ i, j ≤ cross (Holland & Thayer 2000, sec. 4). Keeps those moments of the table."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.sum() <= 0 or (t < 0).any():
        raise InputError(Problem("bivariate presmoothing needs a table of non-negative counts"))
    kx, kv = t.shape[0] - 1, t.shape[1] - 1
    if not (1 <= degree_x < t.shape[0] and 1 <= degree_v < t.shape[1] and cross >= 0):
        raise InputError(Problem("the log-linear degrees must be at least 1 and below the number of scores"))
    zx, zv = np.meshgrid(_scaled(kx), _scaled(kv), indexing="ij")
    cols = [np.ones(t.size)]
    cols += [zx.ravel() ** c for c in range(1, degree_x + 1)]
    cols += [zv.ravel() ** c for c in range(1, degree_v + 1)]
    cols += [(zx.ravel() ** i) * (zv.ravel() ** j) for i in range(1, cross + 1) for j in range(1, cross + 1)]
    design = np.column_stack(cols)
    fitted, ll = _fit(t, design)
    k = design.shape[1]
    return SmoothedDistribution(fitted, (degree_x, degree_v), ll, -2 * ll + 2 * k, k)


def parse_smoothing(text: str | None):
    """'none' / None → None; 'loglinear' → ('loglinear', None) (degree by AIC); 'loglinear:C' → ('loglinear', C)."""
    if text is None or str(text).lower() in ("", "none"):
        return None
    head, _, tail = str(text).lower().partition(":")
    if head != "loglinear":
        raise InputError(Problem(f"unknown smoothing {text!r}; use none, loglinear or loglinear:C"))
    if not tail:
        return ("loglinear", None)
    try:
        c = int(tail)
    except ValueError:
        raise InputError(Problem(f"loglinear:C needs a whole number C, not {tail!r}")) from None
    return ("loglinear", c)


def smooth_frequencies(freq, spec) -> np.ndarray:
    """Apply a parsed smoothing spec to a univariate count vector (None: unchanged)."""
    if spec is None:
        return np.asarray(freq, dtype=float)
    _, c = spec
    return (choose_degree(freq) if c is None else loglinear_smooth(freq, c)).fitted


def smooth_neat(data, spec):
    """Smooth both bivariate tables of a ``NeatData`` (degree C on the total and the anchor, one cross term;
    by AIC over C = 1..6 when C is not given). None leaves the data as they are."""
    if spec is None:
        return data
    from psychometrics.equating.classical import NeatData
    _, c = spec

    def one(t):
        if c is not None:
            return loglinear_smooth_bivariate(t, min(c, t.shape[0] - 1), min(c, t.shape[1] - 1)).fitted
        fits = [loglinear_smooth_bivariate(t, min(d, t.shape[0] - 1), min(d, t.shape[1] - 1))
                for d in range(1, 7)]
        return min(fits, key=lambda s: s.aic).fitted

    return NeatData(one(data.joint1), one(data.joint2), data.internal)
