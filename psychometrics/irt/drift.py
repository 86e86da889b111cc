"""Screening anchor (common) items for parameter drift before they carry the bank scale to a new form.

An anchor has *drifted* when this year's estimate, carried onto the bank scale, no longer matches its bank
value by more than sampling error explains (exposure, a changed context, a curriculum shift; Wells,
Subkoviak & Serlin 2002; Kolen & Brennan 2014, sec. 6.7). A drifted anchor biases the linking constants
and every score after it, so it is *released*: dropped from the anchor set and calibrated like a new item.

Statistics per anchor j, with θ_bank = A θ_new + B (K&B 2014, eqs. 6.2–6.4) and ``new`` carried onto the
bank scale as a_j* = a_j / A, b_j* = A b_j + B, c_j* = c_j:

- displacement   d_j = b_j* − b_j(bank)                       (positive: the item got harder)
- unsigned area  UA_j = ∫_{−4}^{4} |P_j(θ; new*) − P_j(θ; bank)| dθ        (Raju 1988, over a finite range:
  with unequal c the area over the whole line is infinite; with equal c and a wide range it is Raju's
  closed form, ``raju_unsigned_area``)
- signed area    SA_j = ∫_{−4}^{4} [P_j(θ; bank) − P_j(θ; new*)] dθ  (→ (1 − c)(b* − b), Raju 1988,
  when c is equal and the range wide)
- RMSD           RMSD_j = sqrt(∫ [P_j(θ; new*) − P_j(θ; bank)]² φ(θ) dθ)  (the N(0, 1)-weighted root mean
  squared difference of the two curves; weighted by the bank population)
- robust z       z_j = (d_j − median(d)) / (1.4826 · MAD(d)),  MAD(d) = median |d − median(d)|
  (Huynh & Meyer 2010; Huynh, Meyer & Barton 2000; 1.4826 · MAD estimates σ for normal data, Hampel 1974).
  Huynh & Meyer scale by 0.74 · IQR; ``scale="iqr"`` gives that variant.

Flag rule (both must hold): |z_j| > ``ROBUST_Z_THRESHOLD`` = 2.7 (Huynh & Meyer's critical value) AND
|d_j| > ``B_DISPLACEMENT_FLOOR`` = 0.3 logit (a practical-size floor, typical of state testing programs:
with large samples a tiny but "significant" shift should not cost an anchor). Optionally (``rmsd_threshold``,
off by default; 0.04 suggested for the 3PL, see ``RMSD_FLOOR_3PL``) the RMSD must exceed a floor as well, so
that a b moved only by the b–c trade-off of a 3PL estimate, with nearly the same curve, is kept.

Iteration (purification, as in DIF anchor purification): link on the retained anchors, recompute the
statistics of every anchor (median and MAD over the retained ones), flag, and repeat until the set of
released anchors is the same twice in a row (at most ``MAX_ITERATIONS`` times).

The anchor set cannot hold the scale when more than ``MAX_RELEASE_FRACTION`` (half) of the anchors drifted:
released, or displaced by more than the floor after linking on the retained ones. (The robust z alone can
never flag more than half: median and MAD break down at 50%, so a majority of drifted anchors inflates the
MAD instead; the displacement count catches that case.) Then ``EstimationError``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError, InputError, Problem
from psychometrics.irt import linking
from psychometrics.irt.models import D_LOGISTIC, ItemParameters, probability

#: Critical |robust z| of Huynh & Meyer (2010) (about the 0.35% two-sided normal tail).
ROBUST_Z_THRESHOLD = 2.7
#: Smallest |b displacement| (logits, bank scale) that can release an anchor: a practical-size floor.
B_DISPLACEMENT_FLOOR = 0.3
#: 1 / Φ⁻¹(0.75): makes the MAD a consistent estimator of σ for normal data.
MAD_TO_SD = 1.4826
#: 1 / (2 Φ⁻¹(0.75)) ≈ 0.7413: the same for the interquartile range (Huynh & Meyer use 0.74).
IQR_TO_SD = 0.7413
#: Never release more than this share of the anchors: beyond it the anchor set cannot hold the scale.
MAX_RELEASE_FRACTION = 0.5
#: When standard errors are given, a displacement must also be significant: |b* − b_bank| / SE > this
#: (two-sided 5%). A hard or easy item has a large SE of b, so its displacement can pass the robust-z and
#: 0.3-logit rules by estimation error alone (seen on a b = −2.6 item: −0.38 logit at 1.3 SE).
DISPLACEMENT_T_THRESHOLD = 1.96
#: Optional third condition: the N(0, 1)-weighted RMSD between the curves must exceed this (0: off). Under
#: the 3PL, b and c trade off: a c estimated 0.1 higher moves b by 0.3–0.4 logit while the curves differ by an
#: RMSD of 0.01–0.035; 0.04 (``RMSD_FLOOR_3PL``) keeps such anchors while a 1-logit shift (RMSD 0.05–0.2,
#: smallest for items far from the bank mean, where the N(0, 1) weight is thin) still goes. Measured in the
#: slow 3PL study of tests/psychometrics/test_irt_drift.py; the margin is thin, so it is opt-in.
RMSD_FLOOR = 0.0
RMSD_FLOOR_3PL = 0.04
#: Fewest anchors worth screening (and linking on): below it a robust z is meaningless.
MIN_ANCHORS = 5
#: Purification passes before giving up on a stable retained set.
MAX_ITERATIONS = 10
#: θ range of the area statistics (bank scale) and the number of equally spaced nodes on it.
AREA_BOUND = 4.0
AREA_NODES = 161
SCALES = ("mad", "iqr")

METHOD_NAMES = {"stocking-lord": "Stocking–Lord", "haebara": "Haebara", "mean-sigma": "mean/sigma",
                "mean-mean": "mean/mean", "none": "no linking (new parameters given on the bank scale)"}


# ---- the statistics -------------------------------------------------------------------------------------


def robust_z(d, *, reference=None, scale: str = "mad") -> tuple[np.ndarray, float, float]:
    """Robust z of each value: (d_j − median) / robust SD (Huynh & Meyer 2010).

    d: (n,). ``reference`` (bool (n,), optional) selects the values that give the median and the robust SD
    (the retained anchors); every value gets a z. ``scale``: "mad" → 1.4826 · median |d − median|, "iqr" →
    0.7413 · (Q3 − Q1). When that scale is 0 (most values equal) the mean absolute deviation · √(π/2) is
    used; when that is 0 too, every z is 0.
    Returns (z (n,), median, robust SD).
    """
    d = np.asarray(d, dtype=float)
    ref = d if reference is None else d[np.asarray(reference, dtype=bool)]
    if scale not in SCALES:
        raise InputError(Problem(f"unknown robust scale {scale!r}; choose one of {', '.join(SCALES)}"))
    if ref.size == 0:
        raise InputError(Problem("a robust z needs at least one reference value"))
    med = float(np.median(ref))
    if scale == "mad":
        sd = MAD_TO_SD * float(np.median(np.abs(ref - med)))
    else:
        q1, q3 = np.percentile(ref, [25, 75])
        sd = IQR_TO_SD * float(q3 - q1)
    if sd <= 0:
        sd = np.sqrt(np.pi / 2) * float(np.mean(np.abs(ref - med)))
    if sd <= 0:
        return np.zeros_like(d), med, 0.0
    return (d - med) / sd, med, float(sd)


def icc_areas(old: ItemParameters, new: ItemParameters, *, bound: float = AREA_BOUND,
              n_nodes: int = AREA_NODES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unsigned area, signed area (old − new) and N(0, 1)-weighted RMSD between two curves per item.

    Both parameter sets on one scale and one D, items in the same order. The areas integrate over
    [−bound, bound] by the trapezoid rule on ``n_nodes`` equally spaced θ; the RMSD weights the same nodes by
    φ(θ) (normalized to sum 1). Returns three (n_items,) arrays.
    """
    theta = np.linspace(-bound, bound, n_nodes)
    diff = probability(theta, old.a, old.b, old.c, old.D) - probability(theta, new.a, new.b, new.c, new.D)
    h = theta[1] - theta[0]
    trap = np.full(n_nodes, h)
    trap[[0, -1]] = h / 2
    phi = np.exp(-0.5 * theta * theta)
    phi /= phi.sum()
    return trap @ np.abs(diff), trap @ diff, np.sqrt(phi @ (diff * diff))


def raju_signed_area(a1, b1, a2, b2, c=0.0, D: float = D_LOGISTIC) -> np.ndarray:
    """Raju (1988): signed area between two 3PL curves with equal c over the whole θ line,
    ∫ [P_1(θ) − P_2(θ)] dθ = (1 − c)(b_2 − b_1); the slopes do not enter."""
    return (1.0 - np.asarray(c, float)) * (np.asarray(b2, float) - np.asarray(b1, float))


def raju_unsigned_area(a1, b1, a2, b2, c=0.0, D: float = D_LOGISTIC) -> np.ndarray:
    """Raju (1988): unsigned area between two 3PL curves with equal c over the whole θ line,

        UA = (1 − c) | 2 (a_2 − a_1) / (D a_1 a_2) · ln(1 + exp(D a_1 a_2 (b_2 − b_1) / (a_2 − a_1))) − (b_2 − b_1) |

    and (1 − c) |b_2 − b_1| when a_1 = a_2. Arrays broadcast.
    """
    a1, b1, a2, b2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a1, b1, a2, b2, c)))
    db, da = b2 - b1, a2 - a1
    equal = np.isclose(da, 0.0, atol=1e-12)
    safe = np.where(equal, 1.0, da)
    x = D * a1 * a2 * db / safe
    general = np.abs(2.0 * safe / (D * a1 * a2) * np.logaddexp(0.0, x) - db)
    return (1.0 - c) * np.where(equal, np.abs(db), general)


# ---- inputs ---------------------------------------------------------------------------------------------


def as_item_parameters(params, D: float = D_LOGISTIC, source: str = "item parameters") -> ItemParameters:
    """ItemParameters on the metric of ``D`` from an ItemParameters, a Calibration (anything with item_ids,
    a, b, c), a frame (item_id, a, b, c, optional D) or a mapping {item_id: (a, b, c)}.

    Items without a finite a and b are left out (a bank item never calibrated). A different D is carried
    over exactly: D a is what the curve sees, so a → a · D_given / D.
    """
    if isinstance(params, ItemParameters):
        p = params
    elif isinstance(params, pd.DataFrame):
        frame = params.copy()
        if "item_id" not in frame or "b" not in frame:
            raise InputError(Problem(f"{source}: need columns item_id, a, b (and c)"))
        frame = frame[np.isfinite(pd.to_numeric(frame["b"], errors="coerce"))]
        if "a" in frame:
            frame = frame[np.isfinite(pd.to_numeric(frame["a"], errors="coerce"))]
        p = ItemParameters.from_frame(frame, source=source)
    elif isinstance(params, Mapping):
        ids = tuple(str(k) for k in params)
        vals = np.array([tuple(v) + (0.0,) * (3 - len(tuple(v))) for v in params.values()], dtype=float)
        vals = vals.reshape(len(ids), 3)
        p = ItemParameters.from_arrays(vals[:, 0], vals[:, 1], vals[:, 2], D, ids)
    elif all(hasattr(params, k) for k in ("item_ids", "a", "b")):
        p = ItemParameters.from_arrays(params.a, params.b, getattr(params, "c", None),
                                       getattr(params, "D", D), tuple(str(i) for i in params.item_ids))
    else:
        raise InputError(Problem(f"{source}: give ItemParameters, a calibration, a frame or a mapping"))
    ok = np.isfinite(p.a) & np.isfinite(p.b)
    a = np.asarray(p.a, float)[ok] * (p.D / D)
    ids = tuple(i for i, keep in zip(p.item_ids, ok) if keep)
    return ItemParameters(ids, a, np.asarray(p.b, float)[ok], np.nan_to_num(np.asarray(p.c, float)[ok]), float(D))


def _subset(p: ItemParameters, ids) -> ItemParameters:
    pos = {i: k for k, i in enumerate(p.item_ids)}
    idx = np.array([pos[i] for i in ids], dtype=int)
    return ItemParameters(tuple(ids), p.a[idx], p.b[idx], p.c[idx], p.D)


def _frame(p: ItemParameters, mask=None) -> pd.DataFrame:
    f = pd.DataFrame({"item_id": list(p.item_ids), "a": p.a, "b": p.b, "c": p.c})
    return f if mask is None else f[np.asarray(mask, bool)]


def _frozen(x) -> np.ndarray:
    x = np.array(x)
    x.setflags(write=False)
    return x


def _signed(x: float, digits: int = 2) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


# ---- the result ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftResult:
    """Drift statistics of every anchor after the last link on the retained anchors. Arrays are (n_anchors,).

    ``A``, ``B``: θ_bank = A θ_new + B from the retained anchors (1, 0 when ``method`` is "none").
    ``displacement`` = b* − b_bank; ``z`` its robust z (median ``median`` and robust SD ``robust_sd`` over
    the retained anchors); ``z_log_a`` the same for log(a*/a_bank) (reported, not part of the flag rule);
    ``area``, ``signed_area`` (bank − new*, over [−4, 4]), ``rmsd`` (N(0, 1)-weighted).
    ``released``: |z| > z_threshold and |displacement| > b_threshold. ``history``: the ids released after
    each pass. ``stable``: the last two passes released the same anchors.
    """

    item_ids: tuple[str, ...]
    method: str
    D: float
    A: float
    B: float
    linking: linking.Linking | None
    a_new: np.ndarray            # new parameters carried onto the bank scale
    b_new: np.ndarray
    c_new: np.ndarray
    a_bank: np.ndarray
    b_bank: np.ndarray
    c_bank: np.ndarray
    displacement: np.ndarray
    z: np.ndarray
    z_log_a: np.ndarray
    area: np.ndarray
    signed_area: np.ndarray
    rmsd: np.ndarray
    released: np.ndarray
    median: float
    robust_sd: float
    z_threshold: float
    b_threshold: float
    rmsd_threshold: float
    scale: str
    iterations: int
    stable: bool
    history: tuple[tuple[str, ...], ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_anchors(self) -> int:
        return len(self.item_ids)

    @property
    def retained_ids(self) -> tuple[str, ...]:
        return tuple(i for i, r in zip(self.item_ids, self.released) if not r)

    @property
    def released_ids(self) -> tuple[str, ...]:
        return tuple(i for i, r in zip(self.item_ids, self.released) if r)

    def to_frame(self) -> pd.DataFrame:
        """One row per anchor: bank and carried-over parameters, the statistics, released."""
        return pd.DataFrame({
            "item_id": list(self.item_ids), "a_bank": self.a_bank, "b_bank": self.b_bank, "c_bank": self.c_bank,
            "a_new": self.a_new, "b_new": self.b_new, "c_new": self.c_new,
            "displacement": self.displacement, "robust_z": self.z, "robust_z_log_a": self.z_log_a,
            "unsigned_area": self.area, "signed_area": self.signed_area, "rmsd": self.rmsd,
            "released": self.released,
        })

    def released_sentences(self) -> list[str]:
        """'PSS-0042 released for drift (b moved +1.02 logits, robust z 5.3)' per released anchor."""
        out = []
        for j in np.flatnonzero(self.released):
            out.append(f"{self.item_ids[j]} released for drift (b moved {_signed(self.displacement[j])} logits, "
                       f"robust z {_signed(self.z[j], 1)})")
        return out

    def summary(self) -> str:
        rule = (f"an anchor is released when |robust z| > {self.z_threshold:g} and b moved more than "
                f"{self.b_threshold:g} logit" + (f" and the curves differ by an RMSD over {self.rmsd_threshold:g}"
                                                   if self.rmsd_threshold > 0 else ""))
        parts = [f"{self.n_anchors} anchors screened for drift ({rule})"]
        parts += self.released_sentences() or ["none released"]
        text = "; ".join(parts)
        if self.method != "none":
            text += (f"; linked by {METHOD_NAMES.get(self.method, self.method)} on {len(self.retained_ids)} "
                     f"anchors, A = {self.A:.3f}, B = {self.B:.3f}")
        return text + "." + "".join(" " + w for w in self.warnings)


# ---- the screen ----------------------------------------------------------------------------------------


def _check_settings(z_threshold, b_threshold, rmsd_threshold, max_release_fraction, max_iterations):
    problems = []
    if not z_threshold > 0:
        problems.append(Problem(f"the robust z threshold must be positive; got {z_threshold}"))
    if not rmsd_threshold >= 0:
        problems.append(Problem(f"the RMSD floor must be 0 or more; got {rmsd_threshold}"))
    if not b_threshold >= 0:
        problems.append(Problem(f"the displacement floor must be 0 or more logits; got {b_threshold}"))
    if not 0 < max_release_fraction <= 1:
        problems.append(Problem(f"the largest share of anchors to release must be in (0, 1]; "
                                f"got {max_release_fraction}"))
    if int(max_iterations) < 1:
        problems.append(Problem(f"at least one screening pass is needed; got {max_iterations}"))
    if problems:
        raise InputError(problems)


def screen_anchor_drift(new, old, *, D: float = D_LOGISTIC, method: str | None = "stocking-lord",
                        z_threshold: float = ROBUST_Z_THRESHOLD, b_threshold: float = B_DISPLACEMENT_FLOOR,
                        rmsd_threshold: float = RMSD_FLOOR,
                        max_release_fraction: float = MAX_RELEASE_FRACTION, min_anchors: int = MIN_ANCHORS,
                        max_iterations: int = MAX_ITERATIONS, scale: str = "mad",
                        quadrature=None, se_new=None, se_old=None,
                        t_threshold: float = DISPLACEMENT_T_THRESHOLD) -> DriftResult:
    """Screen the anchors for drift, re-linking on the retained ones until the retained set is stable.

    new: this year's parameters of the anchors — a free calibration (``method`` links it onto the bank scale
      inside, iteratively) or already on the bank scale (``method=None`` or "none": no linking).
    old: the bank-scale parameters (may hold more items; only items in both count as anchors).
    Both: ItemParameters, a Calibration, a frame (item_id, a, b, c) or {item_id: (a, b, c)}; on the metric D.
    method: a ``linking.METHODS`` name (default Stocking & Lord 1983) or None.
    Flag rule: |robust z| > z_threshold (2.7, Huynh & Meyer 2010) and |b* − b_bank| > b_threshold (0.3)
    (and RMSD > rmsd_threshold, off by default); with ``se_new`` / ``se_old`` ({item_id: SE of b}, this year's
    on its own scale and the bank's) also |b* − b_bank| / √((A·se_new)² + se_old²) > t_threshold (1.96),
    the displacement test of Wells, Subkoviak & Serlin (2002) in its simplest form.
    Raises InputError with fewer than ``min_anchors`` anchors, EstimationError when more than
    ``max_release_fraction`` of them drifted (the anchor set cannot hold the scale).
    """
    _check_settings(z_threshold, b_threshold, rmsd_threshold, max_release_fraction, max_iterations)
    method = "none" if method is None else str(method).lower()
    if method != "none" and method not in linking.METHODS:
        raise InputError(Problem(f"unknown linking method {method!r}; choose one of "
                                 f"{', '.join(linking.METHODS)} or none"))
    new_p = as_item_parameters(new, D, "new parameters")
    old_p = as_item_parameters(old, D, "bank parameters")
    bank_ids = set(old_p.item_ids)
    ids = tuple(i for i in dict.fromkeys(new_p.item_ids) if i in bank_ids)
    if len(ids) < min_anchors:
        raise InputError(Problem(f"drift screening needs at least {min_anchors} anchor items with parameters "
                                 f"on both sides; found {len(ids)}"))
    new_p, old_p = _subset(new_p, ids), _subset(old_p, ids)
    m = len(ids)
    se_n = np.array([float((se_new or {}).get(i, np.nan)) for i in ids])
    se_o = np.array([float((se_old or {}).get(i, 0.0)) for i in ids])
    se_o = np.where(np.isfinite(se_o), se_o, 0.0)
    released = np.zeros(m, dtype=bool)
    history: list[tuple[str, ...]] = []
    warnings: list[str] = []

    def one_pass(released):
        if method == "none":
            lk, A, B = None, 1.0, 0.0
        else:
            lk = linking.link(_frame(new_p, ~released), _frame(old_p, ~released), method, D=D,
                              quadrature=quadrature)
            A, B = lk.A, lk.B
        moved = ItemParameters(ids, new_p.a / A, A * new_p.b + B, new_p.c, D)
        d = moved.b - old_p.b
        z, med, rsd = robust_z(d, reference=~released, scale=scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_a = robust_z(np.log(moved.a / old_p.a), reference=~released, scale=scale)[0]
        areas = icc_areas(old_p, moved)
        flag = (np.abs(z) > z_threshold) & (np.abs(d) > b_threshold) & (areas[2] > rmsd_threshold)
        se_d = np.sqrt((A * se_n) ** 2 + se_o ** 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            significant = ~(np.isfinite(se_d) & (se_d > 0)) | (np.abs(d) / se_d > t_threshold)
        flag &= significant
        return lk, A, B, moved, d, z, med, rsd, z_a, flag, areas

    def too_many(n_drifted, how):
        if n_drifted > max_release_fraction * m:
            raise EstimationError(
                f"{n_drifted} of {m} anchors drifted ({how}); more than {max_release_fraction:.0%} of the anchor "
                f"set moved, so the anchor set cannot hold the scale.")

    stable = False
    iterations = 0
    while iterations < int(max_iterations):
        iterations += 1
        lk, A, B, moved, d, z, med, rsd, z_a, flag, areas = one_pass(released)
        history.append(tuple(i for i, f in zip(ids, flag) if f))
        if np.array_equal(flag, released) or method == "none":
            released = flag
            stable = True
            break
        too_many(int(flag.sum()), f"|robust z| > {z_threshold:g} and b moved more than {b_threshold:g} logit")
        released = flag
    if not stable:
        # the last pass flagged a different set than the one it linked on: report the link of the set used
        warnings.append(f"The retained anchor set did not settle in {iterations} passes (it alternated "
                        f"between {len(set(history))} sets); the last one is used.")
        lk, A, B, moved, d, z, med, rsd, z_a, _, areas = one_pass(released)
    area, signed, rmsd = areas
    too_many(int(released.sum()), f"|robust z| > {z_threshold:g} and b moved more than {b_threshold:g} logit")
    too_many(int(((np.abs(d) > b_threshold) & (rmsd > rmsd_threshold)).sum()),
             f"b moved more than {b_threshold:g} logit on the bank scale after linking on the retained anchors")
    return DriftResult(
        item_ids=ids, method=method, D=float(D), A=float(A), B=float(B), linking=lk,
        a_new=_frozen(moved.a), b_new=_frozen(moved.b), c_new=_frozen(moved.c),
        a_bank=_frozen(old_p.a), b_bank=_frozen(old_p.b), c_bank=_frozen(old_p.c),
        displacement=_frozen(d), z=_frozen(z), z_log_a=_frozen(z_a), area=_frozen(area),
        signed_area=_frozen(signed), rmsd=_frozen(rmsd), released=_frozen(released), median=med, robust_sd=rsd,
        z_threshold=float(z_threshold), b_threshold=float(b_threshold),
        rmsd_threshold=float(rmsd_threshold), scale=scale, iterations=iterations,
        stable=stable, history=tuple(history), warnings=tuple(warnings))
