"""The only module that imports girth (Ryan Sanchez's IRT package), used as an independent cross-check and
as ``--engine girth``.

girth wants responses as items × persons with its own missing-data code (``girth.INVALID_RESPONSE``), and
returns a dict of arrays. Its conventions differ from ours in two places, stated here so results can be
compared fairly:

- ``rasch`` in girth fixes every slope at 1 *and* the latent SD at 1 (ours estimates the SD, the R mirt/TAM
  convention); girth's ``onepl_mml`` (common slope, N(0, 1)) is our ``1pl``.
- girth's 3PL estimator (``threepl_mml``) fails with "setting an array element with a sequence" on
  numpy ≥ 2.4 (it assigns a one-element array into a float slot); we detect that version up front and raise
  ``EstimationError`` instead of letting the traceback through.
"""
from __future__ import annotations

import time

import numpy as np

from certbank_core.errors import EstimationError, InputError, Problem
from psychometrics.irt.estimation import Calibration, check_responses, marginal_log_likelihood
from psychometrics.irt.quadrature import make_quadrature

#: numpy release from which girth 0.8's threepl_mml no longer runs.
GIRTH_3PL_BROKEN_FROM = (2, 4)
GIRTH_MODELS = ("rasch", "1pl", "2pl", "3pl")


def _girth():
    try:
        import girth
    except ImportError as err:  # pragma: no cover - girth is a declared dependency
        raise EstimationError("The girth engine is not installed (pip install girth).") from err
    return girth


def numpy_version() -> tuple[int, int]:
    major, minor = np.__version__.split(".")[:2]
    return int(major), int(minor)


def girth_3pl_available() -> bool:
    """False on numpy versions where girth's 3PL estimator is known to fail."""
    return numpy_version() < GIRTH_3PL_BROKEN_FROM


def to_girth(responses) -> np.ndarray:
    """(n_persons, n_items) of 1/0/NaN → girth's (n_items, n_persons) int array with INVALID_RESPONSE."""
    girth = _girth()
    x = check_responses(responses)
    out = np.where(np.isnan(x), girth.INVALID_RESPONSE, x).astype(int)
    return np.ascontiguousarray(out.T)


def _options(n_nodes: int, bound: float, max_iteration: int | None):
    opts = {"quadrature_n": n_nodes, "quadrature_bounds": (-bound, bound)}
    if max_iteration is not None:
        opts["max_iteration"] = max_iteration
    return opts


def calibrate_girth(responses, model: str = "2pl", *, item_ids=None, n_nodes: int = 61, bound: float = 6.0,
                    max_iteration: int | None = None) -> Calibration:
    """Calibrate with girth's MML estimators; returns our Calibration (D = 1, no standard errors).

    The log-likelihood is recomputed by our quadrature at girth's estimates, so it is comparable with ours.
    """
    model = model.lower()
    if model not in GIRTH_MODELS:
        raise InputError(Problem(f"girth engine: unknown model {model!r}"))
    if model == "3pl" and not girth_3pl_available():
        raise EstimationError(
            f"girth's 3PL estimator does not work with numpy {np.__version__} (it fails on numpy ≥ "
            f"{GIRTH_3PL_BROKEN_FROM[0]}.{GIRTH_3PL_BROKEN_FROM[1]}); use the certbank engine for the 3PL.")
    girth = _girth()
    x = check_responses(responses)
    data = to_girth(x)
    opts = _options(n_nodes, bound, max_iteration)
    start = time.perf_counter()
    try:
        if model == "rasch":
            res = girth.rasch_mml(data, options=opts)
        elif model == "1pl":
            res = girth.onepl_mml(data, options=opts)
        elif model == "2pl":
            res = girth.twopl_mml(data, options=opts)
        else:
            res = girth.threepl_mml(data, options=opts)
    except (ValueError, TypeError) as err:
        raise EstimationError(f"girth failed to calibrate the {model} model: {err}") from err
    seconds = time.perf_counter() - start
    n_items = x.shape[1]
    a = np.broadcast_to(np.asarray(res["Discrimination"], dtype=float), (n_items,)).copy()
    b = np.asarray(res["Difficulty"], dtype=float)
    c = np.asarray(res.get("Guessing", np.zeros(n_items)), dtype=float)
    quad = make_quadrature(n_nodes, "equal", bound)
    ll = marginal_log_likelihood(x, a, b, c, quadrature=quad)
    ids = tuple(item_ids) if item_ids is not None else tuple(f"item{j + 1}" for j in range(n_items))
    nan = np.full(n_items, np.nan)
    n_par = {"rasch": n_items, "1pl": n_items + 1, "2pl": 2 * n_items, "3pl": 3 * n_items}[model]
    limit = int(opts.get("max_iteration", girth.default_options()["max_iteration"]))
    warnings = (f"girth reports neither iterations nor convergence (its limit: {limit} cycles); "
                "it gives no standard errors.",)
    if model == "rasch":
        warnings += ("girth's Rasch fixes the latent SD at 1.",)
    gap = _gap_to_maximum(x, model, ll, quad)
    if gap > MAX_LOGLIK_GAP:
        warnings += (f"girth stopped short of the maximum of the likelihood: certbank's engine, fitting the same "
                     f"model on the same nodes, reaches a log-likelihood {gap:.2f} higher "
                     f"({ll + gap:.2f} vs girth's {ll:.2f}); prefer the certbank engine's estimates.",)
    return Calibration(
        model=model, D=1.0, item_ids=ids, a=a, b=b, c=c, se_a=nan, se_b=nan.copy(), se_c=nan.copy(),
        fixed=np.zeros(n_items, dtype=bool), n_answered=(~np.isnan(x)).sum(axis=0), latent_mean=0.0,
        latent_sd=1.0, log_likelihood=ll, n_parameters=n_par, n_persons=int((~np.isnan(x)).any(axis=1).sum()),
        iterations=0, converged=None,
        seconds=seconds, quadrature=quad, warnings=warnings, se_method="none (girth)", engine="girth")


#: A log-likelihood this far below our maximum of the same model means girth did not reach the maximum.
MAX_LOGLIK_GAP = 0.01


def _gap_to_maximum(x, model: str, ll: float, quad) -> float:
    """Our maximum of the same model on the same nodes minus girth's log-likelihood (girth's Rasch: slopes
    1 and latent SD 1; 1PL/2PL as ours; its 3PL has no prior on c, ours then gets none either)."""
    from psychometrics.irt.estimation import calibrate
    opts = {"latent_sd": 1.0} if model == "rasch" else {}
    if model == "3pl":
        opts["guessing_prior"] = None
    ours = calibrate(x, model, quadrature=quad, standard_errors=False, dtype=np.float64, tol=1e-6, **opts)
    return float(ours.log_likelihood - ll)


def eap_girth(responses, a, b, *, n_nodes: int = 61, bound: float = 6.0) -> np.ndarray:
    """girth's EAP abilities (1PL/2PL, N(0, 1) prior). Returns (n_persons,)."""
    girth = _girth()
    data = to_girth(responses)
    return np.asarray(girth.ability_eap(data, np.asarray(b, float), np.asarray(a, float),
                                        options=_options(n_nodes, bound, None)), dtype=float)
