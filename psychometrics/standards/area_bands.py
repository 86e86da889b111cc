"""Content-area feedback bands: each area subscore set against the passing level, with its uncertainty.

A candidate's pass/fail depends on the total score only. For feedback, each content area k (items I_k, n_k
of them) is compared with what a candidate standing exactly at the standard would be expected to score on
that area:

* the passing level of the area is the area's test characteristic curve at the θ cut,
  T_k = Σ_{i∈I_k} P_i(θ_cut)  (the expected number-correct, Lord 1980, eq. 4-2 restricted to I_k);
* its uncertainty is the IRT conditional standard error of the area number-correct at the cut,
  SE_k = sqrt(Σ_{i∈I_k} P_i(θ_cut) Q_i(θ_cut))  (Lord 1980, eq. 4-3; the compound-binomial variance of a
  number-correct score given θ; the same quantity as ``decision.csem_irt`` for a whole form);
* the band of a candidate with area number-correct X_k is
  "below" when X_k < T_k − z·SE_k, "above" when X_k > T_k + z·SE_k, and "near" otherwise.
  This is the usual "score ± z standard errors overlaps the cut" rule for subscore feedback (AERA, APA &
  NCME 2014, Standard 2.14 on reporting CSEMs near cut scores); z = 1 by default.

An area with fewer than ``min_items`` items (default 8) is not banded: with so few items the band of a
candidate at the cut spans most of the possible scores (Sinharay 2010 on when subscores have added value;
Haberman 2008). Not-presented items (NaN) count as wrong, as they do in the total.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.irt.models import ItemParameters, probability

#: Areas with fewer items than this get no band.
MIN_AREA_ITEMS = 8
#: Half-width of the "near" band in conditional standard errors.
BAND_Z = 1.0
BANDS = ("below", "near", "above")
#: The band value of an area with too few items.
NOT_BANDED = "too_few_items"


@dataclass(frozen=True)
class AreaBands:
    """Bands for every candidate and area. ``areas`` (K,) in first-appearance order; ``n_items`` (K,);
    ``expected_at_cut`` T_k and ``se_at_cut`` SE_k (K,) in items; ``observed`` (n, K) number-correct;
    ``band`` (n, K) one of ``BANDS`` or ``NOT_BANDED``."""

    person_ids: np.ndarray
    areas: tuple[str, ...]
    n_items: np.ndarray
    expected_at_cut: np.ndarray
    se_at_cut: np.ndarray
    observed: np.ndarray
    band: np.ndarray
    min_items: int
    z: float

    @property
    def banded(self) -> np.ndarray:
        """(K,) True where the area has enough items for a band."""
        return self.n_items >= self.min_items

    def area_frame(self) -> pd.DataFrame:
        """One row per area: area, n_items, banded, expected_at_cut, se_at_cut, lower, upper (items)."""
        return pd.DataFrame({"area": list(self.areas), "n_items": self.n_items, "banded": self.banded,
                             "expected_at_cut": self.expected_at_cut, "se_at_cut": self.se_at_cut,
                             "lower": self.expected_at_cut - self.z * self.se_at_cut,
                             "upper": self.expected_at_cut + self.z * self.se_at_cut})

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: person_id and ``band_<area>`` for every area."""
        out = pd.DataFrame({"person_id": self.person_ids})
        for k, area in enumerate(self.areas):
            out[f"band_{area}"] = self.band[:, k]
        return out


def area_bands(scored, params: ItemParameters, theta_cut: float, areas, person_ids=None,
               min_items: int = MIN_AREA_ITEMS, z: float = BAND_Z) -> AreaBands:
    """Band every candidate's area subscores against the area TCC at ``theta_cut`` ± z·SE (module docstring).

    scored: (n, J) 0/1 with NaN for not presented, items in the order of ``params``; areas: (J,) labels.
    """
    x = np.asarray(scored, dtype=float)
    labels = np.asarray(areas, dtype=object)
    if x.ndim != 2 or x.shape[1] != params.n_items or labels.shape != (params.n_items,):
        raise InputError(f"area bands need one area label and one response column per item "
                         f"({params.n_items} items)")
    if min_items < 1 or z <= 0:
        raise InputError("area bands need at least one item per area and a positive band width")
    names = tuple(str(a) for a in pd.unique(labels))
    member = (labels[:, None] == np.asarray(names, dtype=object)[None, :]).astype(float)  # (J, K)
    p = probability([theta_cut], params.a, params.b, params.c, params.D)[0]  # (J,)
    expected = p @ member
    se = np.sqrt((p * (1.0 - p)) @ member)
    observed = np.nan_to_num(x, nan=0.0) @ member  # (n, K)
    lower, upper = expected - z * se, expected + z * se
    band = np.where(observed < lower, "below", np.where(observed > upper, "above", "near")).astype(object)
    n_items = member.sum(axis=0).astype(int)
    band[:, n_items < min_items] = NOT_BANDED
    ids = np.asarray(person_ids if person_ids is not None else np.arange(1, x.shape[0] + 1), dtype=object)
    return AreaBands(ids, names, n_items, expected, se, observed, band, int(min_items), float(z))


@dataclass(frozen=True)
class BandCheck:
    """How often bands agree with the truth in a simulation (``check_bands``)."""

    right: float  # share of banded (candidate, area) pairs whose band the truth supports
    wrong_direction: float  # share banded "below" with true ability above the cut, or "above" with it below
    near: float  # share banded "near"
    n_pairs: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def true_area_scores(true_theta, params: ItemParameters, areas, names) -> np.ndarray:
    """(n, K) true area number-correct Σ_{i∈I_k} P_i(θ_k) for area abilities ``true_theta`` (n, K) given in
    the order ``names`` (Lord 1980, eq. 4-2 by area)."""
    labels = np.asarray(areas, dtype=object)
    column = np.array([list(names).index(a) for a in labels])  # (J,) area index of each item
    th = np.asarray(true_theta, dtype=float)[:, column]  # (n, J)
    p = params.c + (1.0 - params.c) / (1.0 + np.exp(-params.D * params.a * (th - params.b)))
    member = (labels[:, None] == np.asarray(names, dtype=object)[None, :]).astype(float)
    return p @ member


def simulate_area_responses(params: ItemParameters, areas, n_persons: int, rng: np.random.Generator,
                            mean: float = 0.0, sd: float = 1.0, correlation: float = 0.8):
    """Candidates with known, correlated area abilities θ_k ~ N(mean, sd²), corr ``correlation`` between
    areas, answering the form by the 3PL with θ_k on the items of area k. Returns (scored (n, J), true_theta
    (n, K)) with areas in first-appearance order, as ``area_bands`` orders them."""
    names = tuple(str(a) for a in pd.unique(np.asarray(areas, dtype=object)))
    k = len(names)
    cov = sd ** 2 * (correlation * np.ones((k, k)) + (1.0 - correlation) * np.eye(k))
    true_theta = rng.multivariate_normal(np.full(k, mean), cov, size=n_persons)
    labels = np.asarray(areas, dtype=object)
    column = np.array([names.index(a) for a in labels])
    th = true_theta[:, column]
    p = params.c + (1.0 - params.c) / (1.0 + np.exp(-params.D * params.a * (th - params.b)))
    return (rng.random(p.shape) < p).astype(float), true_theta


def check_bands(result: AreaBands, true_theta, theta_cut: float, params: ItemParameters, areas,
                tolerance: float = 2.0) -> BandCheck:
    """Compare bands with true area abilities ``true_theta`` (n, K), in the order of ``result.areas``.

    "below"/"above" is right when the true area ability is on that side of θ_cut; "near" is right when the
    area's true score (``true_area_scores``) is within ``tolerance`` standard errors SE_k of the passing level
    T_k (the data could not have told the two apart). Only banded areas count.
    """
    theta = np.asarray(true_theta, dtype=float)
    keep = result.banded
    band = result.band[:, keep]
    th = theta[:, keep]
    truth = true_area_scores(theta, params, areas, result.areas)[:, keep]
    true_near = np.abs(truth - result.expected_at_cut[keep]) <= tolerance * result.se_at_cut[keep]
    right = (((band == "below") & (th < theta_cut)) | ((band == "above") & (th > theta_cut))
             | ((band == "near") & true_near))
    wrong = ((band == "below") & (th > theta_cut)) | ((band == "above") & (th < theta_cut))
    n = band.size
    return BandCheck(right=float(right.sum()) / n, wrong_direction=float(wrong.sum()) / n,
                     near=float((band == "near").sum()) / n, n_pairs=int(n))
