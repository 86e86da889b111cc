"""Marginal maximum likelihood (Bock–Aitkin EM) calibration of dichotomous IRT models.

Models (``model=``):

- ``rasch``: every slope fixed at 1 (on the D metric), item difficulties free, latent θ ~ N(0, σ²) with σ
  estimated (the R mirt/TAM convention), or held at ``latent_sd`` (1: girth's and PyPI mirt's Rasch).
- ``1pl``: one common slope for all items, θ ~ N(0, 1) (the ltm convention).
- ``2pl``: a slope and a difficulty per item, θ ~ N(0, 1).
- ``3pl``: adds a lower asymptote c with a Beta(5, 17) prior by default (MAP for c; Harwell & Baker 1991
  discuss such priors); an optional lognormal prior on slopes.

Inside, items use the slope–intercept form z = α θ + d, P = c + (1 − c) σ(z), c = logistic(γ)
(``models.to_intercept``: α = D a, d = −D a b).

The EM (Bock & Aitkin 1981) alternates
  E-step: posterior weights of each person at each node,
      log L_ik = Σ_j [y_ij log P_j(x_k) + (1 − y_ij) log Q_j(x_k)] over the items person i answered,
      w_ik = L_ik π_k / Σ_k' L_ik' π_k'
    computed as two matrix products, Y1 @ (log P − log Q)ᵀ + M @ (log Q)ᵀ (Y1: right answers, M: answered).
  M-step: expected counts r_jk = Σ_i y_ij w_ik (right) and n_jk = Σ_i m_ij w_ik (answered) at each node,
    then per item a few Fisher-scoring steps on Σ_k r_jk log P_jk + (n_jk − r_jk) log Q_jk + log prior.
When the latent mean or SD is free (Rasch, fixed-anchor calibration) they are updated from the posterior
moments of θ on the rectangular grid, whose weights they move (Bock & Aitkin 1981, section 4; Mislevy 1984);
with Gauss–Hermite nodes, which they move (θ_k = μ + σ x_k), by a Fisher-scoring step through the items
(``em._Model._latent_newton``).

The EM map is accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3) with a monotonicity safeguard on
the log posterior. Convergence: the largest change of any internal parameter over one EM cycle < ``tol``,
the change in log-likelihood < ``ll_tol``, and the projected gradient of the log posterior (components that
push a parameter held at its bound outward dropped; Bertsekas 1982) within ``em.GRADIENT_TOL`` per person.
A bounded 3PL asymptote (c → 0 without a prior) is handled by a projected Newton step in the M-step.

Standard errors (``standard_errors.py``): the inverse of the observed information, exact by Louis' (1982)
identity (default), or of its cross-product approximation (``se_method="xpd"``, mirt's "crossprod"), plus the
curvature of the priors, carried to a, b, c by the delta method; the SE of the intercept d is ``se_d``.

Missing responses (NaN: not presented, not reached) are skipped in the likelihood.
The engine lives in ``em.py``, the standard errors in ``standard_errors.py``; this module checks the data,
starts, runs and reports.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError, InputError, Problem
from psychometrics.irt._threads import blas_threads
from psychometrics.irt.em import (ALPHA_BOUND, D_BOUND, RUNAWAY_SLOPE, _Data, _effective_ll_tol, _Model,  # noqa: F401
                                  _plain_em,
                                  _sigmoid, _squarem, check_responses, prepare_data)
from psychometrics.irt.models import D_LOGISTIC
from psychometrics.irt.quadrature import Quadrature, make_quadrature
from psychometrics.irt.standard_errors import SE_METHOD, SE_METHOD_XPD, SE_METHODS, _standard_errors

MODELS = ("rasch", "1pl", "2pl", "3pl")
#: The fewest persons we calibrate each model with; below this the estimates are noise. For the 3PL the floor
#: is per item (candidates answering it): Hulin, Lissak & Drasgow (1982) found about 1,000 needed to recover
#: 3PL curves; the default Beta prior on c (Swaminathan & Gifford 1986) halves that, but below 500 answers the
#: lower asymptote is barely identified and the EM crawls (300 × 2,000: 2,000 cycles, no convergence).
MIN_PERSONS = {"rasch": 20, "1pl": 20, "2pl": 100, "3pl": 500}
#: Default Beta prior on the 3PL lower asymptote (mode 0.2, the BILOG-MG convention for 5 options).
DEFAULT_GUESSING_PRIOR = (5.0, 17.0)
DEFAULT_TOL = 1e-4
DEFAULT_LL_TOL = 1e-4
DEFAULT_MAX_ITER = 2000


@dataclass(frozen=True)
class Calibration:
    """The result of calibrating items. Arrays are (n_items,). ``D`` is the scaling constant of a, b, c."""

    model: str
    D: float
    item_ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    fixed: np.ndarray              # bool: anchor item held at its given value
    n_answered: np.ndarray         # persons who answered each item
    latent_mean: float
    latent_sd: float
    log_likelihood: float
    n_parameters: int
    n_persons: int
    iterations: int
    converged: bool | None         # None: the engine does not report it (girth)
    seconds: float
    quadrature: Quadrature
    warnings: tuple[str, ...] = ()
    se_method: str = SE_METHOD
    guessing_prior: tuple[float, float] | None = None
    slope_prior: tuple[float, float] | None = None
    engine: str = "certbank"
    se_d: np.ndarray | None = None   # SE of the intercept d (z = D a θ + d, d = −D a b)
    estimation: str = "mml"          # mml: marginal ML (Bock–Aitkin); cml: conditional ML (Rasch, rasch_cml)
    details: dict = field(default_factory=dict, compare=False)  # method-specific lines for calibration.json

    @property
    def aic(self) -> float:
        """Akaike (1974): −2 log L + 2 k."""
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        """Schwarz (1978): −2 log L + k ln N."""
        return -2.0 * self.log_likelihood + self.n_parameters * np.log(self.n_persons)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "item_id": list(self.item_ids), "a": self.a, "b": self.b, "c": self.c,
            "se_a": self.se_a, "se_b": self.se_b, "se_c": self.se_c,
            "n": self.n_answered, "fixed": self.fixed,
        })

    def summary(self) -> dict:
        """The calibration.json content."""
        return {
            "model": self.model, "D": self.D, "engine": self.engine, "quadrature": self.quadrature.describe(),
            "log_likelihood": self.log_likelihood, "aic": self.aic, "bic": self.bic,
            "n_parameters": self.n_parameters, "n_persons": self.n_persons, "n_items": len(self.item_ids),
            "iterations": self.iterations, "converged": self.converged, "seconds": self.seconds,
            "latent_mean": self.latent_mean, "latent_sd": self.latent_sd, "se_method": self.se_method,
            "guessing_prior": list(self.guessing_prior) if self.guessing_prior else None,
            "slope_prior": list(self.slope_prior) if self.slope_prior else None,
            "warnings": list(self.warnings), "estimation": self.estimation, **self.details,
        }


# ----------------------------------------------------------------------------------------------------------
# The public entry point

def _initial_values(data: _Data, model: str, D: float, guessing_prior):
    """Starting values from classical statistics: α from the item–rest correlation, d from the p-value.

    Everything comes from two weighted matrix–vector products over the (collapsed) rows.
    """
    f = data.freq
    y, m = data.right, data.answered
    n_j = f @ m
    n_tot = f.sum()
    pval = np.clip((f @ y) / np.maximum(n_j, 1), 0.02, 0.98)
    total = (y.sum(axis=1, dtype=np.float64))
    mean_t = f @ total / n_tot
    var_t = f @ (total - mean_t) ** 2 / n_tot
    cov_jt = (f * (total - mean_t)) @ y / n_tot            # cov(y_j, total), missing cells count as 0
    var_j = pval * (1 - pval)
    cov_rest = cov_jt - var_j
    var_rest = np.maximum(var_t - 2 * cov_jt + var_j, 1e-12)
    corr = np.nan_to_num(cov_rest / np.sqrt(var_j * var_rest), nan=0.3)
    n_items = y.shape[1]
    if model in ("2pl", "3pl"):
        alpha = np.clip(1.7 * corr / np.sqrt(np.maximum(1 - corr ** 2, 0.05)), 0.3, 3.0)
    elif model == "1pl":
        alpha = np.full(n_items, 1.0)
    else:
        alpha = np.full(n_items, D)
    if model == "3pl":
        c0 = 0.2
        if guessing_prior and guessing_prior[0] + guessing_prior[1] > 2:
            c0 = (guessing_prior[0] - 1) / (guessing_prior[0] + guessing_prior[1] - 2)
        # an item easier for the weakest than c0 allows starts with a smaller asymptote: starting every item
        # at the prior mode put hard items (p < c0) into a far, poor local maximum
        c_start = np.minimum(c0, 0.5 * pval)
        pval = np.clip((pval - c_start) / (1 - c_start), 0.02, 0.98)
        gamma = np.log(c_start / (1 - c_start))
    else:
        gamma = np.full(n_items, -np.inf)
    d = np.log(pval / (1 - pval)) * np.sqrt(1 + np.pi * alpha ** 2 / 8)
    return alpha.astype(float), d.astype(float), gamma


def _check_degenerate(x: np.ndarray, item_ids: Sequence[str], fixed_mask: np.ndarray, model: str) -> list[str]:
    """Sentences for items the model cannot estimate: nobody answered, or everybody right / wrong."""
    answered = ~np.isnan(x)
    n = answered.sum(axis=0)
    right = np.nansum(x, axis=0)
    problems = []
    for j in np.flatnonzero(~fixed_mask):
        if n[j] == 0:
            problems.append(f"Item {item_ids[j]} has no responses.")
        elif right[j] == n[j]:
            problems.append(f"Item {item_ids[j]} was answered correctly by all {n[j]} candidates who saw it.")
        elif right[j] == 0:
            problems.append(f"Item {item_ids[j]} was answered wrongly by all {n[j]} candidates who saw it.")
    return problems


def check_sample(x: np.ndarray, item_ids: Sequence[str], model: str, fixed_mask: np.ndarray,
                 min_persons: int | None = None) -> None:
    """Refuse, before any estimation, data the model cannot be fitted to: a free item nobody answered or
    everybody answered alike, or fewer candidates than ``min_persons`` (default ``MIN_PERSONS[model]``;
    for the 3PL, answering each free item). x: (n_persons, n_items) of 1/0/NaN."""
    problems = _check_degenerate(x, item_ids, fixed_mask, model)
    if problems:
        raise EstimationError(" ".join(problems) + " Remove such items (or hold them fixed) and calibrate again.")
    floor = MIN_PERSONS[model] if min_persons is None else int(min_persons)
    if model == "3pl":
        _check_answers_per_item(x, fixed_mask, floor)
        return
    n_persons = int((~np.isnan(x)).any(axis=1).sum())
    if n_persons < floor:
        raise EstimationError(f"The {model} model needs at least {floor} candidates with "
                              f"responses; these data have {n_persons}.")


def _check_answers_per_item(x: np.ndarray, fixed_mask: np.ndarray, floor: int) -> None:
    """Refuse a 3PL whose free items have fewer than ``floor`` answers each (see ``MIN_PERSONS``)."""
    answers = (~np.isnan(x[:, ~fixed_mask])).sum(axis=0)
    short = int((answers < floor).sum())
    if short:
        raise EstimationError(
            f"The 3pl model needs at least {floor} candidates answering each item to identify its lower "
            f"asymptote, but {short:,} of {answers.size:,} items have fewer (as few as {int(answers.min()):,}); "
            "calibrate the 2PL instead, or lower the minimum knowingly (--min-candidates).")


def calibrate(responses, model: str = "2pl", *, item_ids: Sequence[str] | None = None, D: float = D_LOGISTIC,
              quadrature: Quadrature | None = None,
              anchors: Mapping[str, tuple[float, float, float]] | None = None,
              guessing_prior: tuple[float, float] | None = DEFAULT_GUESSING_PRIOR,
              slope_prior: tuple[float, float] | None = None,
              tol: float = DEFAULT_TOL, ll_tol: float = DEFAULT_LL_TOL, max_iter: int = DEFAULT_MAX_ITER,
              accelerate: bool = True, standard_errors: bool = True, se_method: str = "observed",
              latent_sd: float | None = None, min_persons: int | None = None,
              dtype=np.float32) -> Calibration:
    """Calibrate dichotomous items by marginal maximum likelihood (Bock & Aitkin 1981).

    responses: (n_persons, n_items) of 1 (right), 0 (wrong), NaN (not presented / not reached), or a
      ``ResponseMatrix`` (its ``scored`` array, and its item ids unless ``item_ids`` is given).
    model: rasch | 1pl | 2pl | 3pl. D: scaling constant of the reported a, b, c.
    anchors: {item_id: (a, b, c)} items held at bank values (fixed-anchor calibration): the other items land
      on the bank scale, and the latent mean and SD are estimated.
    guessing_prior: Beta(p, q) on c (3pl only; None for none). slope_prior: (μ, σ) of a lognormal prior on a.
    se_method: "observed" (exact observed information, Louis 1982) or "xpd" (cross-product approximation).
    latent_sd: Rasch only: hold the latent SD at this value instead of estimating it; 1 gives the Rasch model
      with θ ~ N(0, 1) and every slope 1 (girth's rasch_mml; PyPI mirt's "1PL").
    min_persons: the fewest candidates with responses (for the 3PL: answering each free item) the model is
      fitted with; default ``MIN_PERSONS[model]``. Checked before any EM cycle, so a refusal is immediate.
    Raises EstimationError (one sentence per problem) when the data cannot support the model.
    Runs with one BLAS thread (see ``_threads``): the products are too small to share.
    """
    if hasattr(responses, "scored") and hasattr(responses, "item_ids"):  # a ResponseMatrix
        item_ids = tuple(responses.item_ids) if item_ids is None else item_ids
        responses = responses.scored
    with blas_threads(1):
        return _calibrate(responses, model, item_ids, D, quadrature, anchors, guessing_prior, slope_prior, tol,
                          ll_tol, max_iter, accelerate, standard_errors, se_method, dtype, latent_sd, min_persons)


def _calibrate(responses, model, item_ids, D, quadrature, anchors, guessing_prior, slope_prior, tol, ll_tol,
               max_iter, accelerate, standard_errors, se_method, dtype, latent_sd=None,
               min_persons=None) -> Calibration:
    start = time.perf_counter()
    model = model.lower()
    if model not in MODELS:
        raise InputError(Problem(f"unknown model {model!r}; choose one of {', '.join(MODELS)}"))
    if latent_sd is not None and (model != "rasch" or anchors or not (np.isfinite(latent_sd) and latent_sd > 0)):
        raise InputError(Problem("a fixed latent SD needs the rasch model without anchors and a positive SD"))
    if se_method not in SE_METHODS:
        raise InputError(Problem(f"unknown standard-error method {se_method!r}; choose one of "
                                 f"{', '.join(SE_METHODS)}"))
    x = check_responses(responses)
    n_items = x.shape[1]
    item_ids = tuple(str(i) for i in item_ids) if item_ids is not None else tuple(
        f"item{j + 1}" for j in range(n_items))
    if len(item_ids) != n_items:
        raise InputError(Problem(f"{len(item_ids)} item ids for {n_items} response columns"))
    quad = quadrature or make_quadrature()
    guessing_prior = guessing_prior if model == "3pl" else None
    slope_prior = slope_prior if model in ("2pl", "3pl") else None

    fixed_mask = np.zeros(n_items, dtype=bool)
    fa, fb, fc = np.ones(n_items), np.zeros(n_items), np.zeros(n_items)
    if anchors:
        unknown = [k for k in anchors if k not in item_ids]
        if unknown:
            raise InputError(Problem(f"anchor item(s) not in the responses: {', '.join(map(str, unknown))}"))
        bad = []
        for j, iid in enumerate(item_ids):
            if iid in anchors:
                fixed_mask[j] = True
                fa[j], fb[j], fc[j] = (float(v) for v in anchors[iid])
                if not (np.isfinite(fa[j]) and np.isfinite(fb[j]) and fa[j] > 0 and 0 <= fc[j] < 1):
                    bad.append(Problem(f"anchor item {iid} has unusable parameters a={fa[j]}, b={fb[j]}, "
                                       f"c={fc[j]} (need a > 0, finite b, 0 ≤ c < 1)"))
        if bad:
            raise InputError(bad)
    warnings: list[str] = []
    check_sample(x, item_ids, model, fixed_mask, min_persons)
    # every item held fixed: only the latent mean and SD are estimated (this population on the items' scale)

    data = prepare_data(x, dtype=dtype)
    dropped = x.shape[0] - data.n_persons
    if dropped:
        warnings.append(f"{dropped} candidate(s) with no responses were left out of the calibration.")
    n_persons = int(round(data.freq.sum()))

    alpha0, d0, gamma0 = _initial_values(data, model, D, guessing_prior)
    if model == "3pl" and guessing_prior is None:
        gamma0[:] = np.log(0.2 / 0.8)
    if fixed_mask.any():
        alpha0[fixed_mask] = D * fa[fixed_mask]
        d0[fixed_mask] = -D * fa[fixed_mask] * fb[fixed_mask]
        with np.errstate(divide="ignore"):
            gamma0[fixed_mask] = np.log(fc[fixed_mask]) - np.log1p(-fc[fixed_mask])
        if model == "rasch" and not np.allclose(fa[fixed_mask], 1.0):
            warnings.append("Some anchor items have a slope other than 1; they are held at their own slopes.")
    anchored = bool(fixed_mask.any())
    em = _Model(model, data, quad, D, fixed_mask, alpha0, d0, gamma0,
                free_mean=anchored, free_sd=anchored or (model == "rasch" and latent_sd is None),
                guessing_prior=guessing_prior, slope_prior=slope_prior)
    if latent_sd is not None:
        em.log_sd = float(np.log(latent_sd))
        em.update_grid()
    v0 = em.pack()
    if accelerate:
        v, ll, iterations, converged = _squarem(em, v0, tol, ll_tol, max_iter)
    else:
        v, ll, iterations, converged = _plain_em(em, v0, tol, ll_tol, max_iter)
    stalled = getattr(em, "stalled", None)
    if not converged and stalled is not None:
        drift = em.drift_by_item(stalled)
        worst = [item_ids[j] for j in np.argsort(-drift)[:5] if drift[j] > tol]
        warnings.append(f"The EM did not converge in {iterations} cycles (tolerance {tol}); the parameters of "
                        f"{', '.join(worst) or 'some items'} still move: the data barely identify them (for a 3PL, "
                        f"usually the lower asymptote). Treat these estimates as provisional.")
    elif not converged:
        warnings.append(f"The EM did not converge in {iterations} cycles (tolerance {tol}); "
                        f"treat the estimates as provisional.")

    f = em.free
    if np.any(np.abs(em.alpha[f]) >= ALPHA_BOUND * 0.999) or np.any(np.abs(em.d[f]) >= D_BOUND * 0.999):
        hit = [item_ids[j] for j in np.flatnonzero(f & ((np.abs(em.alpha) >= ALPHA_BOUND * 0.999)
                                                       | (np.abs(em.d) >= D_BOUND * 0.999)))]
        warnings.append(f"Estimates of {', '.join(hit)} reached their bounds (the data barely identify them).")
    runaway = [item_ids[j] for j in np.flatnonzero(f & em.runaway())]
    if runaway and model in ("2pl", "3pl"):
        warnings.append(f"The slope of {', '.join(runaway)} keeps rising (a ≥ {RUNAWAY_SLOPE:g}): its likelihood has "
                        f"no finite maximum, so its estimates are arbitrary and have no standard errors; check the "
                        f"key and the item's option statistics.")
    if model == "2pl" or model == "3pl":
        neg = [item_ids[j] for j in np.flatnonzero(f & (em.alpha < 0))]
        if neg:
            warnings.append(f"Item(s) {', '.join(neg)} have a negative slope: check the key.")

    if standard_errors:
        se_a, se_b, se_c, se_d = _standard_errors(em, warnings, se_method)
    else:
        se_a, se_b, se_c, se_d = (np.full(n_items, np.nan) for _ in range(4))

    a, b = em.alpha / D, -em.d / em.alpha
    c = _sigmoid(em.gamma)
    a[fixed_mask], b[fixed_mask], c[fixed_mask] = fa[fixed_mask], fb[fixed_mask], fc[fixed_mask]
    sd = float(np.exp(em.log_sd))
    n_parameters = v.size
    return Calibration(
        model=model, D=float(D), item_ids=item_ids, a=a, b=b, c=c, se_a=se_a, se_b=se_b, se_c=se_c,
        fixed=fixed_mask, n_answered=(~np.isnan(x)).sum(axis=0), latent_mean=float(em.mean), latent_sd=sd,
        log_likelihood=float(ll), n_parameters=int(n_parameters), n_persons=n_persons, iterations=int(iterations),
        converged=bool(converged), seconds=time.perf_counter() - start, quadrature=quad,
        warnings=tuple(warnings), guessing_prior=guessing_prior, slope_prior=slope_prior, se_d=se_d,
        se_method=(SE_METHOD if se_method == "observed" else SE_METHOD_XPD) if standard_errors else "none")


def marginal_log_likelihood(responses, a, b, c=None, *, D: float = D_LOGISTIC,
                            quadrature: Quadrature | None = None, mean: float = 0.0, sd: float = 1.0) -> float:
    """log L = Σ_i log Σ_k π_k Π_j P_j(x_k)^y_ij Q_j(x_k)^(1−y_ij) over answered items (Bock & Aitkin 1981, eq. 4).

    responses (n_persons, n_items); a, b, c (n_items,). Computed in float64.
    """
    x = check_responses(responses)
    n_items = x.shape[1]
    a = np.broadcast_to(np.asarray(a, dtype=float), (n_items,))
    b = np.broadcast_to(np.asarray(b, dtype=float), (n_items,))
    c = np.zeros(n_items) if c is None else np.broadcast_to(np.asarray(c, dtype=float), (n_items,))
    quad = quadrature or make_quadrature()
    data = prepare_data(x, dtype=np.float64)
    alpha = D * a
    with np.errstate(divide="ignore"):
        gamma = np.log(c) - np.log1p(-c)
    m = _Model("2pl", data, quad, D, np.ones(n_items, dtype=bool), alpha, -alpha * b, gamma,
               free_mean=False, free_sd=False, guessing_prior=None, slope_prior=None)
    m.mean, m.log_sd = float(mean), float(np.log(sd))
    m.update_grid()
    return m.posterior()[1]
