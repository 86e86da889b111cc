"""Calibrating a new form onto the bank scale through its common items, after screening them for drift.

Two designs (Kolen & Brennan 2014, ch. 6; Stocking & Lord 1983; Kim 2006 for fixed-parameter calibration):

- ``stocking-lord`` (separate calibration + linking): a free calibration of the whole form (θ_new ~ N(0, 1)),
  drift screening of the common items (``drift.screen_anchor_drift``, re-linking on the retained anchors),
  the Stocking–Lord constants A, B from the retained anchors, then every item of the form carried onto the
  bank scale: a/A, A b + B, c (se_a/A, A se_b). The released anchors move like new items.
- ``fixed-anchor`` (fixed parameter calibration): the same free calibration and screening decide which anchors
  are retained; then one calibration holds the retained anchors at their bank values and estimates the other
  items and this year's latent mean and SD (released anchors are estimated freely, like new items). The
  estimated latent mean and SD play the part of B and A: θ_bank = σ θ_std + μ.

With θ_bank = A θ_new + B and the free calibration standardizing this year's population, B is this year's
mean and A its SD on the bank scale: a population 0.4 logit abler than the base year gives A ≈ 1, B ≈ 0.4.

Fewer than ``MIN_COMMON_ITEMS`` (5) common items cannot carry a scale: ``InputError``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.irt import drift as drift_screening
from psychometrics.irt import linking
from psychometrics.irt.estimation import DEFAULT_GUESSING_PRIOR, Calibration, calibrate
from psychometrics.irt.models import D_LOGISTIC

METHODS = ("stocking-lord", "fixed-anchor")
#: Fewest items the form must share with the bank (with bank parameters) to be carried onto its scale.
MIN_COMMON_ITEMS = drift_screening.MIN_ANCHORS
ROLES = ("anchor", "released", "new")


@dataclass(frozen=True)
class BankScaleCalibration:
    """Every item of a form on the bank scale. Arrays are (n_items,) in the order of ``item_ids``.

    ``role``: "anchor" (a retained common item: held at its bank value in a fixed-anchor calibration; in a
    Stocking–Lord calibration its own estimate is carried over and the bank value stays in ``to_frame``),
    "released" (a common item that drifted, estimated like a new item) or "new".
    ``A``, ``B``: θ_bank = A θ_new + B — the Stocking–Lord constants, or for a fixed-anchor calibration the
    latent SD and mean it estimated. ``linking``: the Stocking–Lord link on the retained anchors (both
    methods). ``latent_mean``, ``latent_sd``: this year's candidates on the bank scale.
    ``drift``: the screening of the common items. ``calibration``: the calibration whose parameters are
    reported (free for Stocking–Lord, fixed-anchor otherwise); ``free_calibration``: the free one.
    """

    method: str
    model: str
    D: float
    item_ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    role: tuple[str, ...]
    A: float
    B: float
    latent_mean: float
    latent_sd: float
    linking: linking.Linking
    drift: drift_screening.DriftResult
    drift_screened: bool
    calibration: Calibration
    free_calibration: Calibration
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def anchors_used(self) -> tuple[str, ...]:
        return tuple(i for i, r in zip(self.item_ids, self.role) if r == "anchor")

    @property
    def anchors_released(self) -> tuple[str, ...]:
        return tuple(i for i, r in zip(self.item_ids, self.role) if r == "released")

    @property
    def new_items(self) -> tuple[str, ...]:
        return tuple(i for i, r in zip(self.item_ids, self.role) if r == "new")

    def to_frame(self) -> pd.DataFrame:
        """One row per item: item_id, role, a, b, c, se_a, se_b, se_c (bank scale), fixed, and for common items
        the bank values and the drift statistics (blank for new items)."""
        out = pd.DataFrame({
            "item_id": list(self.item_ids), "role": list(self.role), "a": self.a, "b": self.b, "c": self.c,
            "se_a": self.se_a, "se_b": self.se_b, "se_c": self.se_c,
            "fixed": np.asarray(self.calibration.fixed, dtype=bool),
        })
        anchors = self.anchors_frame()[["item_id", "a_bank", "b_bank", "c_bank", "displacement", "robust_z",
                                        "unsigned_area"]]
        return out.merge(anchors, on="item_id", how="left")

    def anchors_frame(self) -> pd.DataFrame:
        """One row per common item: bank and carried-over parameters, drift statistics, released."""
        return self.drift.to_frame()

    def summary(self) -> str:
        n_common = self.drift.n_anchors
        head = f"{len(self.item_ids)} items, {n_common} anchors"
        if self.drift_screened:
            released = self.drift.released_sentences() or ["no anchor released for drift"]
        else:
            released = ["drift screening off"]
        lk = f"Stocking–Lord A = {self.linking.A:.3f}, B = {self.linking.B:.3f}"
        if self.method == "stocking-lord":
            how = f"linked by {lk} on {len(self.anchors_used)} anchors"
        else:
            how = (f"fixed-anchor calibration holding {len(self.anchors_used)} anchors at their bank values "
                   f"(screened after a link by {lk})")
        pop = (f"this year's candidates: mean {self.latent_mean:.2f}, SD {self.latent_sd:.2f} on the bank scale")
        text = "; ".join([head, *released, how, pop]) + "."
        return text + "".join(" " + w for w in self.warnings)


def calibrate_to_bank_scale(scored, item_ids, bank_params, *, model: str = "2pl", D: float = D_LOGISTIC,
                            method: str = "stocking-lord", drift: bool = True,
                            z_threshold: float = drift_screening.ROBUST_Z_THRESHOLD,
                            b_threshold: float = drift_screening.B_DISPLACEMENT_FLOOR,
                            rmsd_threshold: float | None = None,
                            max_release_fraction: float = drift_screening.MAX_RELEASE_FRACTION,
                            min_common: int = MIN_COMMON_ITEMS, max_iterations: int = drift_screening.MAX_ITERATIONS,
                            quadrature=None, guessing_prior=DEFAULT_GUESSING_PRIOR, slope_prior=None,
                            standard_errors: bool = True, min_persons: int | None = None) -> BankScaleCalibration:
    """Calibrate a form and carry every item onto the bank scale through the common items.

    scored: (n_persons, n_items) of 1/0/NaN; item_ids: (n_items,) the columns' item ids.
    bank_params: bank-scale parameters (frame item_id, a, b, c[, D] such as bank.item_parameters(),
      ItemParameters, or {item_id: (a, b, c)}); items without a and b do not count as common.
    method: "stocking-lord" or "fixed-anchor" (module docstring). rmsd_threshold: None = 0.04 for the 3PL,
      0 otherwise. drift: screen the common items
      (``drift.screen_anchor_drift`` with z_threshold, b_threshold, rmsd_threshold, max_release_fraction,
      max_iterations);
      False keeps every common item as an anchor (the statistics are still reported).
    model, D, quadrature, guessing_prior, slope_prior, standard_errors: passed to ``calibrate``.
    Raises InputError when the form shares fewer than ``min_common`` items with the bank, EstimationError
    when the data cannot support the model or the anchors drifted too much to hold the scale.
    """
    if rmsd_threshold is None:
        # 3PL b estimates trade off against c: a clean anchor's b can move 0.3–0.6 logit while its curve
        # barely changes, so the 3PL screen also asks the curves to differ (drift.RMSD_FLOOR_3PL).
        rmsd_threshold = drift_screening.RMSD_FLOOR_3PL if str(model).lower() == "3pl" else drift_screening.RMSD_FLOOR
    method = str(method).lower()
    if method not in METHODS:
        raise InputError(Problem(f"unknown bank-scale method {method!r}; choose one of {', '.join(METHODS)}"))
    item_ids = tuple(str(i) for i in item_ids)
    bank = drift_screening.as_item_parameters(bank_params, D, "bank parameters")
    in_bank = set(bank.item_ids)
    common = tuple(i for i in dict.fromkeys(item_ids) if i in in_bank)
    if len(common) < min_common:
        listed = f" ({', '.join(common)})" if common else ""
        raise InputError(Problem(
            f"The form shares {len(common)} item{'s' if len(common) != 1 else ''} with the bank{listed}; "
            f"carrying it onto the bank scale needs at least {min_common} common items with bank parameters."))
    fit_args = dict(model=model, item_ids=item_ids, D=D, quadrature=quadrature, guessing_prior=guessing_prior,
                    slope_prior=slope_prior, standard_errors=standard_errors, min_persons=min_persons)
    free = calibrate(scored, **fit_args)
    pos = {iid: j for j, iid in enumerate(item_ids)}
    idx = np.array([pos[i] for i in common], dtype=int)
    free_common = {i: (free.a[j], free.b[j], free.c[j]) for i, j in zip(common, idx)}
    se_old = None
    if isinstance(bank_params, pd.DataFrame) and "se_b" in bank_params:
        se_old = dict(zip(bank_params["item_id"].astype(str), pd.to_numeric(bank_params["se_b"], errors="coerce")))
    se_new = {i: float(free.se_b[j]) for i, j in zip(common, idx)} if free.se_b is not None else None
    screen = drift_screening.screen_anchor_drift(
        free_common, bank, D=D, method="stocking-lord", se_new=se_new, se_old=se_old,
        z_threshold=z_threshold if drift else np.inf, b_threshold=b_threshold, rmsd_threshold=rmsd_threshold,
        max_release_fraction=max_release_fraction if drift else 1.0, min_anchors=min_common,
        max_iterations=max_iterations, quadrature=None)
    lk = screen.linking
    released = set(screen.released_ids)
    role = tuple("released" if i in released else "anchor" if i in in_bank else "new" for i in item_ids)
    warnings = list(free.warnings) + list(screen.warnings)

    if method == "stocking-lord":
        cal = free
        A, B = lk.A, lk.B
        a, b, c = free.a / A, A * free.b + B, free.c.copy()
        se_a, se_b, se_c = free.se_a / A, A * free.se_b, free.se_c.copy()
        latent_mean, latent_sd = B + A * free.latent_mean, A * free.latent_sd
    else:
        bank_sub = drift_screening._subset(bank, screen.retained_ids)
        anchors = {i: (float(bank_sub.a[k]), float(bank_sub.b[k]), float(bank_sub.c[k]))
                   for k, i in enumerate(bank_sub.item_ids)}
        cal = calibrate(scored, anchors=anchors, **fit_args)
        warnings += [w for w in cal.warnings if w not in warnings]
        a, b, c = cal.a.copy(), cal.b.copy(), cal.c.copy()
        se_a, se_b, se_c = cal.se_a.copy(), cal.se_b.copy(), cal.se_c.copy()
        latent_mean, latent_sd = cal.latent_mean, cal.latent_sd
        A, B = latent_sd, latent_mean
    frozen = drift_screening._frozen
    return BankScaleCalibration(
        method=method, model=cal.model, D=float(D), item_ids=item_ids, a=frozen(a), b=frozen(b), c=frozen(c),
        se_a=frozen(se_a), se_b=frozen(se_b), se_c=frozen(se_c), role=role, A=float(A), B=float(B),
        latent_mean=float(latent_mean), latent_sd=float(latent_sd), linking=lk, drift=screen,
        drift_screened=bool(drift), calibration=cal, free_calibration=free, warnings=tuple(warnings))
