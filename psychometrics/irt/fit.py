"""Item fit and local dependence for dichotomous IRT models, and the IRT item flags.

- S-X² (Orlando & Thissen 2000): for item j and summed score k (1 … n−1) compare the observed proportion
  correct O_jk with E_jk = Σ_q P_j(x_q) f*_j(k−1 | x_q) π_q / Σ_q f(k | x_q) π_q, where f is the
  Lord–Wingersky distribution of the summed score and f*_j the same without item j:
      S-X²_j = Σ_k N_k (O_jk − E_jk)² / (E_jk (1 − E_jk)),   df = (groups) − (free parameters of item j).
  Adjacent score groups are pooled from both ends until every expected count N E and N (1 − E) is at
  least ``MIN_EXPECTED`` (Orlando & Thissen 2000, p. 58; mirt's mincell = 1). Uses persons with every item
  answered. p-values are adjusted across items by Benjamini & Hochberg (1995).
- Infit and outfit mean squares (Wright & Masters 1982, eqs. 5.4.x): with residual y − P and variance
  W = P(1 − P) at each person's θ (WLE), outfit = mean_i (y − P)²/W and infit = Σ_i (y − P)² / Σ_i W;
  standardized by the Wilson–Hilferty cube-root transformation, t = (MNSQ^{1/3} − 1)(3/q) + q/3, with
  q² = Σ_i (C_i/W_i²)/n² − 1/n (outfit) and q² = Σ_i (C_i − W_i²)/(Σ_i W_i)² (infit), C = E(y − P)⁴.
- Yen's (1984) Q3: the correlation over persons of the residuals y_ij − P_j(θ̂_i) (θ̂: EAP) for each item
  pair, pairwise over persons who answered both.
- Flags: slope < 0.3, |b| > 3, c > 0.35, S-X² misfit at BH-adjusted p < .01, |Q3| > 0.2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychometrics.flags import Flag
from psychometrics.irt import scoring
from psychometrics.irt._threads import blas_threads
from psychometrics.irt.models import probability
from psychometrics.irt.quadrature import make_quadrature

MIN_EXPECTED = 1.0
SLOPE_LOW = 0.3
B_EXTREME = 3.0
GUESSING_HIGH = 0.35
MISFIT_ALPHA = 0.01
Q3_LIMIT = 0.2
_P_FLOOR = 1e-10

# Flag codes raised by IRT.
IRT_SLOPE_LOW = "IRT_SLOPE_LOW"
IRT_SLOPE_NEGATIVE = "IRT_SLOPE_NEGATIVE"
IRT_B_EXTREME = "IRT_B_EXTREME"
IRT_C_HIGH = "IRT_C_HIGH"
IRT_MISFIT = "IRT_MISFIT"
IRT_LOCAL_DEPENDENCE = "IRT_LOCAL_DEPENDENCE"


def benjamini_hochberg(p_values) -> np.ndarray:
    """BH-adjusted p-values (Benjamini & Hochberg 1995): p_(i) · m / i, made monotone, capped at 1. NaN kept."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok])]
    m = ok.size
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out[order] = np.minimum(adj, 1.0)
    return out


def _pool(n_k, o_k, e_k, min_expected):
    """Pool adjacent score groups from the tails inward until expected counts reach ``min_expected``.

    Each round merges a small head into its neighbour, a small tail into its neighbour, or else the first
    small interior group into its smaller neighbour. The interior scan resumes where the last merge happened
    (the groups before it are unchanged and were not small), so 2,000 score groups pool in one pass instead
    of a rescan per merge; the merges are the same."""
    groups = [[n, n * o, n * e] for n, o, e in zip(n_k, o_k, e_k) if n > 0]

    def small(g):
        return g[2] < min_expected or g[0] - g[2] < min_expected

    start = 1  # groups[1:start] are known not small
    changed = True
    while changed and len(groups) > 1:
        changed = False
        if small(groups[0]):
            g = groups.pop(0)
            groups[0] = [x + y for x, y in zip(g, groups[0])]
            changed = True
            start = max(1, start - 1)
        if len(groups) > 1 and small(groups[-1]):
            g = groups.pop()
            groups[-1] = [x + y for x, y in zip(g, groups[-1])]
            changed = True
        if not changed:
            for i in range(start, len(groups) - 1):
                if small(groups[i]):
                    nb = i + 1 if groups[i + 1][0] < groups[i - 1][0] else i - 1
                    lo, hi = sorted((i, nb))
                    groups[lo] = [x + y for x, y in zip(groups[lo], groups[hi])]
                    groups.pop(hi)
                    changed = True
                    start = max(1, lo)
                    break
    return np.array(groups, dtype=float).reshape(-1, 3)


#: Up to this many bytes the leave-one-out distributions f*_j(s | x_q) of S-X² are built as one table
#: (items × scores × nodes, float64) by adding items one at a time (time items³ × nodes: 1 s at 200 items);
#: beyond it (about 260 items at 61 nodes; 2,000 items would need 1.9 GB) they are taken out of the full
#: distribution one score at a time, in memory of items × nodes (``_expected_streaming``).
LEAVE_ONE_OUT_TABLE_BYTES = 32 * 2 ** 20


def _expected_correct(p, w, full, denominators) -> np.ndarray:
    """E_jk = Σ_q P_j(x_q) f*_j(k−1 | x_q) π_q / Σ_q f(k | x_q) π_q for every item j and k = 1..n−1.

    p (n_nodes, n_items); w (n_nodes,); full (n_items+1, n_nodes) the Lord–Wingersky distribution of all items;
    denominators (n_items+1,) = full @ w."""
    n_nodes, n_items = p.shape
    if n_items * n_items * n_nodes * 8 > LEAVE_ONE_OUT_TABLE_BYTES:
        return _expected_streaming(p, w, full, denominators)
    # f*_j for all j at once: add items one at a time to every "without j" distribution except j's own
    without = np.zeros((n_items, n_items, n_nodes))            # (j, score 0..n-2, node)
    without[:, 0] = 1.0
    for i in range(n_items):
        # in place, on the scores reachable so far (0..i): item i joins every distribution but its own
        pi = p[:, i]
        top = min(i + 1, n_items - 2)                          # highest score index touched
        own = without[i, :top + 1].copy()
        shifted = without[:, :top] * pi
        without[:, :top + 1] *= 1 - pi
        without[:, 1:top + 1] += shifted
        without[i, :top + 1] = own
    ks = np.arange(1, n_items)
    return (without[:, ks - 1] * p.T[:, None, :]) @ w / denominators[ks][None, :]


def _expected_streaming(p, w, full, denominators) -> np.ndarray:
    """``_expected_correct`` without the items × scores × nodes table: item j is taken back out of the full
    distribution, f(s) = f*_j(s) Q_j + f*_j(s−1) P_j, score by score for every item at once. At a node where
    P_j < ½ the recursion runs upward, f*_j(s) = (f(s) − P_j f*_j(s−1)) / Q_j; where P_j ≥ ½ downward from the
    top, f*_j(s−1) = (f(s) − Q_j f*_j(s)) / P_j, so each step multiplies the error carried in by at most 1.
    Memory: items × nodes per step and the (items × scores) result; time items² × nodes. The error of E_jk is
    about 1e-18 / f(k) (f(k) = P(summed score k)): below 1e-6 wherever f(k) > 1e-12, i.e. at every score a
    candidate can be expected at; at the unreachable extremes E is clipped into [0, 1] (those groups hold nobody
    and are pooled away)."""
    n_nodes, n_items = p.shape
    pt = p.T                                                   # (n_items, n_nodes)
    qt = 1.0 - pt
    up = pt < 0.5
    pw_up = pt * w * up
    pw_down = pt * w * ~up
    numer = np.empty((n_items, n_items - 1))                   # column s: Σ_q P_j f*_j(s) π_q, s = 0..n−2
    g = np.zeros((n_items, n_nodes))                           # f*_j(s − 1), upward nodes only
    for s in range(n_items - 1):
        g *= pt
        np.subtract(full[s][None, :], g, out=g)
        g /= qt
        g *= up                                                # the downward nodes stay 0 here
        numer[:, s] = np.einsum("jq,jq->j", g, pw_up)
    h = full[n_items][None, :] / pt * ~up                      # f*_j(n−1): every other item right, f(n) / P_j
    for s in range(n_items - 1, 0, -1):
        h *= qt
        np.subtract(full[s][None, :], h, out=h)
        h /= pt
        h *= ~up
        numer[:, s - 1] += np.einsum("jq,jq->j", h, pw_down)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = numer / denominators[1:n_items][None, :]
    return np.clip(np.nan_to_num(expected, nan=0.0), 0.0, 1.0)


def s_x2(responses, a, b, c=None, *, D: float = 1.0, n_free=None, quadrature=None,
         min_expected: float = MIN_EXPECTED, mean: float = 0.0, sd: float = 1.0) -> pd.DataFrame:
    """S-X² item fit (Orlando & Thissen 2000) with BH-adjusted p-values.

    responses (n_persons, n_items); a, b, c (n_items,); n_free (n_items,) free parameters per item (default:
    2, or 3 where c > 0). Only persons who answered every item are used (the statistic conditions on the
    summed score). Returns columns item_id index, s_x2, df, p_value, p_adjusted, n_used; where S-X² cannot be
    computed (no complete candidates, or fewer score groups than free parameters + 1) s_x2, df and p are NaN
    and ``item_fit`` says why in its warnings.
    """
    x = np.asarray(responses, dtype=float)
    n_items = x.shape[1]
    a = np.broadcast_to(np.asarray(a, float), (n_items,))
    b = np.asarray(b, float)
    c = np.zeros(n_items) if c is None else np.broadcast_to(np.asarray(c, float), (n_items,))
    if n_free is None:
        n_free = np.where(c > 0, 3, 2)
    n_free = np.broadcast_to(np.asarray(n_free), (n_items,))
    complete = ~np.isnan(x).any(axis=1)
    xc = x[complete]
    quad = quadrature or make_quadrature()
    nodes, w = quad.grid_for(mean, sd)
    p = probability(nodes, a, b, c, D)                         # (n_nodes, n_items)
    full = scoring.lord_wingersky(a, b, c, D=D, theta=nodes)   # (n_items+1, n_nodes)
    denominators = full @ w                                    # (n_items+1,)
    expected = _expected_correct(p, w, full, denominators)    # (n_items, n_items − 1): E_jk, k = 1..n−1
    totals = xc.sum(axis=1).astype(int)
    from scipy.special import chdtrc   # the χ² upper tail, P(χ²_df > x); imported here, when fit is asked for
    rows = []
    for j in range(n_items):
        ks = np.arange(1, n_items)
        e = expected[j]
        n_k = np.bincount(totals, minlength=n_items + 1)[ks]
        right = np.bincount(totals, weights=xc[:, j], minlength=n_items + 1)[ks]
        with np.errstate(invalid="ignore", divide="ignore"):
            o = np.where(n_k > 0, right / n_k, 0.0)
        pooled = _pool(n_k, o, e, min_expected)
        n_g, obs, exp = pooled[:, 0], pooled[:, 1], pooled[:, 2]
        df = pooled.shape[0] - int(n_free[j])
        if df < 1 or n_g.sum() == 0:
            # too few score groups left (or nobody to count): no statistic and no df to report
            rows.append((np.nan, np.nan, np.nan, int(n_g.sum())))
            continue
        stat = float(np.sum((obs - exp) ** 2 / (exp * (1 - exp / n_g))) / 1.0)
        # (O − E)² / (E (1 − E/N)) on counts equals N (o − e)² / (e (1 − e)) on proportions
        rows.append((stat, df, float(chdtrc(df, stat)), int(n_g.sum())))
    frame = pd.DataFrame(rows, columns=["s_x2", "df", "p_value", "n_used"])
    frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].to_numpy())
    return frame[["s_x2", "df", "p_value", "p_adjusted", "n_used"]]


#: Persons per block in the column sums of infit/outfit and Q3 (16,384 × 120 float64: 16 MB per temporary).
_FIT_BLOCK = 16_384


def _person_blocks(n_persons: int, n_items: int):
    """Row slices of about ``_FIT_BLOCK`` × 120 cells, so the persons × items temporaries stay small."""
    step = max(256, _FIT_BLOCK * 120 // max(n_items, 1))
    return (slice(i, i + step) for i in range(0, n_persons, step))


def infit_outfit(responses, theta, a, b, c=None, *, D: float = 1.0) -> pd.DataFrame:
    """Infit and outfit mean squares with ZSTD (Wright & Masters 1982) at the given θ (n_persons,).

    Returns columns infit, outfit, infit_zstd, outfit_zstd (one row per item). Every term is a column sum
    over persons, accumulated a block of persons at a time; missing cells are masked (their residual,
    variance and fourth moment are 0)."""
    x_all = np.asarray(responses)
    theta = np.asarray(theta, dtype=float)
    n_items = x_all.shape[1]
    sums = np.zeros((6, n_items))  # W, (y − P)², (y − P)²/W, C/W², C, W²
    n = np.zeros(n_items)
    for rows in _person_blocks(x_all.shape[0], n_items):
        x = np.asarray(x_all[rows], dtype=float)
        m = ~np.isnan(x)
        p = np.clip(probability(theta[rows], a, b, c, D), _P_FLOOR, 1 - _P_FLOOR)
        var = p * (1 - p)                              # W
        resid2 = np.where(m, x, p)                     # missing: residual 0
        resid2 -= p
        resid2 *= resid2
        kurt = 1.0 - 3.0 * var                         # C/W = (1 − p)³ + p³ = 1 − 3W
        kurt *= var                                    # C = E(y − P)⁴
        if not m.all():
            var *= m
            kurt *= m
        w_safe = np.where(m, var, 1.0) if not m.all() else var
        ones = np.ones(x.shape[0])
        n += m.sum(axis=0)
        sums[0] += ones @ var
        sums[1] += ones @ resid2
        sums[2] += ones @ (resid2 / w_safe)
        sums[3] += ones @ (kurt / (w_safe * w_safe))
        sums[4] += ones @ kurt
        sums[5] += ones @ (var * var)
    sum_var, sum_resid2, sum_resid2_w, c_over_w2, sum_kurt, sum_var2 = sums
    with np.errstate(invalid="ignore", divide="ignore"):
        infit = sum_resid2 / sum_var
        outfit = sum_resid2_w / n                                # Σ (y − P)²/W
        q_out = np.sqrt(np.maximum(c_over_w2 / n ** 2 - 1.0 / n, 1e-12))
        q_in = np.sqrt(np.maximum((sum_kurt - sum_var2) / sum_var ** 2, 1e-12))
        z_out = (np.cbrt(outfit) - 1) * (3 / q_out) + q_out / 3
        z_in = (np.cbrt(infit) - 1) * (3 / q_in) + q_in / 3
    return pd.DataFrame({"infit": infit, "outfit": outfit, "infit_zstd": z_in, "outfit_zstd": z_out})


def yen_q3(responses, theta, a, b, c=None, *, D: float = 1.0) -> np.ndarray:
    """Yen's Q3 matrix (n_items, n_items): correlations of residuals y − P(θ̂), pairwise complete; diagonal 1.

    Runs with one BLAS thread (as the EM and scoring do). The pair counts, sums and cross-products are
    accumulated a block of persons at a time; a block without missing cells takes its pair sums from the
    column sums, and only dᵀd is a matrix product."""
    x_all = np.asarray(responses)
    theta = np.asarray(theta, dtype=float)
    J = x_all.shape[1]
    n, s1, s2, sxy = (np.zeros((J, J)) for _ in range(4))
    with blas_threads(1):
        for rows in _person_blocks(x_all.shape[0], J):
            x = np.asarray(x_all[rows], dtype=float)
            missing = np.isnan(x)
            d = np.nan_to_num(x) - probability(theta[rows], a, b, c, D)
            if missing.any():
                d[missing] = 0.0
                m = (~missing).astype(float)
                n += m.T @ m
                s1 += d.T @ m                  # Σ over pairs' common persons of d_j
                s2 += (d * d).T @ m
            else:
                n += float(x.shape[0])
                s1 += d.sum(axis=0)[:, None]
                s2 += np.einsum("ij,ij->j", d, d)[:, None]
            sxy += d.T @ d
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy / n - (s1 / n) * (s1.T / n)
        var_j = s2 / n - (s1 / n) ** 2
        q3 = cov / np.sqrt(var_j * var_j.T)
    np.fill_diagonal(q3, 1.0)
    return q3


@dataclass(frozen=True)
class ItemFit:
    """Fit of every item (frame rows in item order) and the Q3 matrix."""

    item_ids: tuple[str, ...]
    items: pd.DataFrame          # s_x2, df, p_value, p_adjusted, n_used, infit, outfit, infit_zstd, outfit_zstd
    q3: np.ndarray               # (n_items, n_items)
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        frame = self.items.copy()
        frame.insert(0, "item_id", list(self.item_ids))
        q = np.abs(self.q3.copy())
        np.fill_diagonal(q, np.nan)
        with np.errstate(invalid="ignore"):
            frame["max_abs_q3"] = np.nanmax(q, axis=1) if q.shape[0] > 1 else np.nan
        return frame

    def q3_pairs(self, limit: float = Q3_LIMIT) -> pd.DataFrame:
        """Item pairs with |Q3| > limit, worst first."""
        i, j = np.triu_indices(len(self.item_ids), 1)
        v = self.q3[i, j]
        keep = np.abs(v) > limit
        frame = pd.DataFrame({"item_1": np.array(self.item_ids)[i[keep]], "item_2": np.array(self.item_ids)[j[keep]],
                              "q3": v[keep]})
        return frame.reindex(frame.q3.abs().sort_values(ascending=False).index).reset_index(drop=True)


def item_fit(responses, calibration) -> ItemFit:
    """S-X², infit/outfit (at WLE θ) and Q3 (at EAP θ) for a Calibration's items."""
    cal = calibration
    x = np.asarray(responses, dtype=float)
    n_free = {"rasch": 1, "1pl": 1, "2pl": 2, "3pl": 3}[cal.model] if cal.model in ("rasch", "1pl", "2pl", "3pl") \
        else 2
    frees = np.where(cal.fixed, 0, n_free)
    sx = s_x2(x, cal.a, cal.b, cal.c, D=cal.D, n_free=frees, quadrature=cal.quadrature,
              mean=cal.latent_mean, sd=cal.latent_sd)
    has = ~np.isnan(x).all(axis=1)
    wle = scoring.wle(x[has], cal.a, cal.b, cal.c, D=cal.D).theta
    io = infit_outfit(x[has], wle, cal.a, cal.b, cal.c, D=cal.D)
    eap = scoring.eap(x, cal.a, cal.b, cal.c, D=cal.D,
                      prior_mean=cal.latent_mean, prior_sd=cal.latent_sd).theta
    q3 = yen_q3(x, eap, cal.a, cal.b, cal.c, D=cal.D)
    return ItemFit(tuple(cal.item_ids), pd.concat([sx, io], axis=1), q3, _s_x2_warnings(x, sx))


def _s_x2_warnings(x: np.ndarray, sx: pd.DataFrame) -> tuple[str, ...]:
    """Say plainly when S-X² left candidates out or could not be computed (it needs complete response patterns)."""
    has = ~np.isnan(x).all(axis=1)
    n_all = int(has.sum())
    n_complete = int((~np.isnan(x).any(axis=1)).sum())
    if n_complete == 0:
        return ("S-X² item fit was not computed: it conditions on the summed score over every item, and no "
                f"candidate answered every item (all {n_all} have an item not presented or not reached). "
                "Infit, outfit and Q3 use every response.",)
    out = []
    if n_complete < n_all:
        out.append(f"S-X² item fit used the {n_complete} of {n_all} candidates who answered every item "
                   "(it conditions on the summed score over all items).")
    missing = sx["s_x2"].isna().to_numpy()
    if missing.any() and not missing.all():
        out.append(f"S-X² could not be computed for {int(missing.sum())} item(s): too few score groups remain "
                   "after pooling sparse groups.")
    elif missing.all():
        out.append("S-X² could not be computed for any item: too few score groups remain after pooling sparse "
                   "groups.")
    return tuple(out)


def irt_flags(calibration, fit: ItemFit | None = None) -> list[Flag]:
    """IRT flags with plain-English reasons (slope, difficulty, guessing, misfit, local dependence)."""
    cal = calibration
    flags: list[Flag] = []
    for j, iid in enumerate(cal.item_ids):
        a, b, c = float(cal.a[j]), float(cal.b[j]), float(cal.c[j])
        if a < 0:
            flags.append(Flag(iid, IRT_SLOPE_NEGATIVE, "critical",
                              f"The IRT slope is negative (a = {a:.2f}): stronger candidates do worse on this item.",
                              "check key", source="irt", value=a))
        elif a < SLOPE_LOW:
            flags.append(Flag(iid, IRT_SLOPE_LOW, "severe",
                              f"The IRT slope is {a:.2f}, below {SLOPE_LOW}: the item barely separates stronger "
                              f"from weaker candidates.", "revise", source="irt", value=a))
        if abs(b) > B_EXTREME:
            side = "hard" if b > 0 else "easy"
            flags.append(Flag(iid, IRT_B_EXTREME, "review",
                              f"The IRT difficulty is {b:.2f}: the item is very {side} for this population "
                              f"(|b| > {B_EXTREME:g}) and adds little information near the cut.", "revise",
                              source="irt", value=b))
        if c > GUESSING_HIGH:
            flags.append(Flag(iid, IRT_C_HIGH, "review",
                              f"The lower asymptote is {c:.2f} (above {GUESSING_HIGH}): weak candidates get it right "
                              f"too often; a distractor may be implausible or the key guessable.", "revise",
                              source="irt", value=c))
    if fit is not None:
        frame = fit.items
        for j, iid in enumerate(fit.item_ids):
            padj = frame["p_adjusted"].iloc[j]
            if np.isfinite(padj) and padj < MISFIT_ALPHA:
                flags.append(Flag(iid, IRT_MISFIT, "review",
                                  f"The item does not follow the model (S-X² = {frame['s_x2'].iloc[j]:.1f}, "
                                  f"df {int(frame['df'].iloc[j])}, adjusted p = {padj:.3g} < {MISFIT_ALPHA}).",
                                  "revise", source="irt", value=float(padj)))
        for _, row in fit.q3_pairs().iterrows():
            for me, other in ((row.item_1, row.item_2), (row.item_2, row.item_1)):
                flags.append(Flag(me, IRT_LOCAL_DEPENDENCE, "review",
                                  f"Responses to this item and {other} are related beyond ability (Q3 = "
                                  f"{row.q3:.2f}, |Q3| > {Q3_LIMIT}): they may cue each other or overlap.",
                                  "revise", source="irt", detail=other, value=float(row.q3)))
    return flags
