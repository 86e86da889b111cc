"""Classical equating: random groups (K&B ch. 2) and common-item nonequivalent groups (K&B ch. 4–5).

Conventions (Kolen & Brennan 2014, "Test Equating, Scaling, and Linking", 3rd ed.; "K&B" below):

- Scores are integers 0..K with unit spacing. A score distribution is a frequency (or relative-frequency)
  vector ``freq`` of shape (K + 1,) indexed by score.
- Percentile ranks use the continuity correction: score x is spread uniformly over [x − .5, x + .5]
  (K&B eq. 2.14); the inverse is K&B eq. 2.17 (smallest score with cumulative proportion above P*).
- Equating goes from form X (new) to the scale of form Y (old). NEAT: population 1 took X and anchor V,
  population 2 took Y and V. Synthetic weights ``w1`` (population 1) and ``w2 = 1 − w1`` (K&B eq. 4.1).
- IRT true-score and observed-score equating, the form's raw cut from a θ cut and ``ItemParameters`` live
  in ``psychometrics.irt.equating``.

Every method returns an ``EquatingResult`` whose ``to_frame()`` has columns score, equated, se
(se is NaN where no standard error is available).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from certbank_core.errors import InputError


# --------------------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EquatingResult:
    """A concordance from form X scores to the form Y scale.

    scores: (n,) form X scores; equated: (n,) form Y equivalents; se: (n,) standard errors (NaN if none).
    ``slope``/``intercept`` are set for linear methods; ``details`` holds the method's intermediate statistics
    named as in K&B (e.g. gamma1, mu_s_x).
    """

    method: str
    scores: np.ndarray
    equated: np.ndarray
    se: np.ndarray
    slope: float | None = None
    intercept: float | None = None
    details: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"score": self.scores, "equated": self.equated, "se": self.se})

    def __call__(self, x) -> np.ndarray:
        """Equate arbitrary form X scores by linear interpolation in the concordance."""
        return np.interp(np.asarray(x, dtype=float), self.scores, self.equated)


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


# --------------------------------------------------------------------------------------------------------
# Frequency helpers (K&B ch. 2)
# --------------------------------------------------------------------------------------------------------
def frequencies(scores, max_score: int) -> np.ndarray:
    """Counts of each integer score 0..max_score; scores (n,) → (max_score + 1,). NaN scores are dropped."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if s.size and (s.min() < 0 or s.max() > max_score or np.any(s != np.round(s))):
        raise InputError(f"scores must be integers from 0 to {max_score}")
    return np.bincount(s.astype(int), minlength=max_score + 1).astype(float)


def _moments(freq) -> tuple[float, float, float]:
    """(μ, σ, N) of a frequency vector (K + 1,), σ with denominator N as in K&B eqs. 2.1–2.2 (Table 2.6)."""
    freq = np.asarray(freq, dtype=float)
    x = np.arange(freq.size)
    n = freq.sum()
    if not n > 0:
        raise InputError("a score distribution has no scores: nothing to equate")
    mu = float((x * freq).sum() / n)
    sd = float(np.sqrt(((x - mu) ** 2 * freq).sum() / n))
    return mu, sd, float(n)


def percentile_rank(x, freq) -> np.ndarray:
    """P(x) = 100 {F(x* − 1) + [x − (x* − .5)] [F(x*) − F(x* − 1)]}, x* the integer nearest x (K&B eq. 2.14).

    x: (n,) in [−.5, K + .5] (clipped); freq: (K + 1,). Returns (n,) in [0, 100].
    """
    freq = np.asarray(freq, dtype=float)
    rel = freq / freq.sum()
    F = np.cumsum(rel)
    K = freq.size - 1
    x = np.clip(np.atleast_1d(np.asarray(x, dtype=float)), -0.5, K + 0.5)
    xs = np.clip(np.floor(x + 0.5), 0, K).astype(int)
    F_below = np.where(xs > 0, F[np.maximum(xs - 1, 0)], 0.0)
    return 100.0 * (F_below + (x - (xs - 0.5)) * (F[xs] - F_below))


#: Conventions of the percentile-rank inverse at ranks 0 and 100 and at scores nobody got.
PERCENTILE_CONVENTIONS = ("equate", "upper")


def percentile_inverse(p, freq, convention: str = "equate") -> np.ndarray:
    """Score with percentile rank P*; p: (n,) in [0, 100]; freq: (K + 1,). Returns (n,).

    Upper inverse (K&B eq. 2.17): (P*/100 − F(y_u* − 1)) / (F(y_u*) − F(y_u* − 1)) + y_u* − .5, y_u* the
    smallest score with F(y) > P*/100. Lower inverse (K&B eq. 2.18): (P*/100 − F(y_l*)) / (F(y_l* + 1) −
    F(y_l*)) + y_l* + .5, y_l* the largest score with F(y) < P*/100. The two differ only where scores have
    frequency zero.

    ``convention="equate"`` (default; R equate's ``equipercentile``, Albano 2016, and K&B's advice, sec. 2.5.1,
    to average the two): P* = 0 → −.5, P* = 100 → K + .5, otherwise the mean of the upper and lower
    inverses (the upper alone where no lower score exists, P*/100 ≤ F(0)).
    ``convention="upper"``: eq. 2.17 everywhere and eq. 2.18 at P* = 100 (K&B's formulas as printed); a rank
    of 0 then maps to the first score anybody got, minus .5.
    """
    if convention not in PERCENTILE_CONVENTIONS:
        raise InputError(f"unknown percentile convention {convention!r}; use one of "
                         f"{', '.join(PERCENTILE_CONVENTIONS)}")
    freq = np.asarray(freq, dtype=float)
    F = np.cumsum(freq / freq.sum())
    F[-1] = 1.0
    K = freq.size - 1
    q = np.atleast_1d(np.asarray(p, dtype=float)) / 100.0
    out = np.empty(q.shape)
    top = q >= 1.0 - 1e-12
    yu = np.searchsorted(F, q[~top], side="right")  # first index with F > q
    F_below = np.where(yu > 0, F[np.maximum(yu - 1, 0)], 0.0)
    upper = (q[~top] - F_below) / (F[yu] - F_below) + yu - 0.5
    if convention == "equate":
        yl = np.searchsorted(F, q[~top], side="left") - 1  # last index with F < q (−1: none)
        has_lower = yl >= 0
        yl_c = np.clip(yl, 0, K - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lower = (q[~top] - F[yl_c]) / (F[yl_c + 1] - F[yl_c]) + yl_c + 0.5
        upper = np.where(has_lower, 0.5 * (upper + lower), upper)
        upper = np.where(q[~top] <= 1e-12, -0.5, upper)
        out[~top] = upper
        out[top] = K + 0.5
        return out
    out[~top] = upper
    if top.any():
        yl = int(np.nonzero(F < 1.0 - 1e-12)[0].max()) if np.any(F < 1.0 - 1e-12) else -1
        F_yl = F[yl] if yl >= 0 else 0.0
        out[top] = (q[top] - F_yl) / (F[yl + 1] - F_yl) + yl + 0.5
    return out


# --------------------------------------------------------------------------------------------------------
# Random groups (K&B ch. 2; standard errors ch. 7)
# --------------------------------------------------------------------------------------------------------
def mean_equating(freq_x, freq_y) -> EquatingResult:
    """m_Y(x) = x − μ(X) + μ(Y) (K&B eq. 2.3). SE: sqrt(σ²(X)/N_X + σ²(Y)/N_Y) (sampling of both means)."""
    mx, sx, nx = _moments(freq_x)
    my, sy, ny = _moments(freq_y)
    x = np.arange(len(freq_x), dtype=float)
    se = np.full(x.shape, np.sqrt(sx**2 / nx + sy**2 / ny))
    return EquatingResult("mean", x, x - mx + my, se, 1.0, my - mx,
                          {"mu_x": mx, "mu_y": my, "sigma_x": sx, "sigma_y": sy, "n_x": nx, "n_y": ny})


def linear_equating(freq_x, freq_y) -> EquatingResult:
    """l_Y(x) = σ(Y)/σ(X) [x − μ(X)] + μ(Y) (K&B eq. 2.6).

    SE under normality (delta method; K&B eq. 7.23, Braun & Holland 1982):
    var = σ²(Y)/2 · (1/N_X + 1/N_Y) · [2 + ((x − μ(X))/σ(X))²].
    """
    mx, sx, nx = _moments(freq_x)
    my, sy, ny = _moments(freq_y)
    if sx == 0:
        raise InputError("the form X scores have no spread (everyone has the same score): linear equating "
                         "divides by their SD; use mean equating")
    x = np.arange(len(freq_x), dtype=float)
    slope = sy / sx
    z = (x - mx) / sx
    se = np.sqrt(sy**2 / 2.0 * (1.0 / nx + 1.0 / ny) * (2.0 + z**2))
    return EquatingResult("linear", x, slope * (x - mx) + my, se, slope, my - slope * mx,
                          {"mu_x": mx, "mu_y": my, "sigma_x": sx, "sigma_y": sy, "n_x": nx, "n_y": ny})


def equipercentile_equating(freq_x, freq_y, n_x: float | None = None, n_y: float | None = None,
                            method: str = "equipercentile", convention: str = "equate") -> EquatingResult:
    """e_Y(x) = P_Y⁻¹[P_X(x)] with K&B's continuity-corrected percentile ranks (K&B eqs. 2.14–2.18).

    SE (random groups, Lord 1982; K&B eq. 7.12), P = P(x)/100, y_u* as in ``percentile_inverse``, G the
    cumulative proportion of Y:
    var = [P(1 − P)(1/N_X + 1/N_Y) − (G(y_u*) − P)(P − G(y_u* − 1)) / (N_Y (G(y_u*) − G(y_u* − 1)))]
          / (G(y_u*) − G(y_u* − 1))².
    Sample sizes default to the sums of the frequency vectors (pass them when giving proportions).
    ``convention``: how ranks 0 and 100 and scores of frequency zero are inverted (``percentile_inverse``).
    """
    fx = np.asarray(freq_x, dtype=float)
    gy = np.asarray(freq_y, dtype=float)
    if not (fx.sum() > 0 and gy.sum() > 0):
        raise InputError("a score distribution has no scores: nothing to equate")
    x = np.arange(fx.size, dtype=float)
    P = percentile_rank(x, fx)
    eq = percentile_inverse(P, gy, convention)
    nx = float(fx.sum()) if n_x is None else float(n_x)
    ny = float(gy.sum()) if n_y is None else float(n_y)
    G = np.cumsum(gy / gy.sum())
    q = P / 100.0
    yu = np.clip(np.searchsorted(G, q, side="right"), 0, gy.size - 1)
    G_below = np.where(yu > 0, G[np.maximum(yu - 1, 0)], 0.0)
    g = G[yu] - G_below
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (q * (1 - q) * (1 / nx + 1 / ny) - (G[yu] - q) * (q - G_below) / (ny * g)) / g**2
    se = np.sqrt(np.where(var > 0, var, np.nan))
    return EquatingResult(method, x, eq, se, details={"percentile_rank": P})


# --------------------------------------------------------------------------------------------------------
# NEAT design (K&B ch. 4–5)
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeatData:
    """Common-item nonequivalent groups data as two bivariate frequency tables.

    joint1: (K_X + 1, K_V + 1) counts of (X, V) in population 1; joint2: (K_Y + 1, K_V + 1) counts of (Y, V)
    in population 2. ``internal``: the anchor items are part of the total score.
    """

    joint1: np.ndarray
    joint2: np.ndarray
    internal: bool = True

    @classmethod
    def from_scores(cls, x_total, x_anchor, y_total, y_anchor, max_x: int, max_y: int, max_v: int,
                    internal: bool = True) -> "NeatData":
        def table(t, v, kt):
            t = np.asarray(t, dtype=int)
            v = np.asarray(v, dtype=int)
            if t.min() < 0 or t.max() > kt or v.min() < 0 or v.max() > max_v:
                raise InputError("a total or anchor score is outside its score range")
            out = np.zeros((kt + 1, max_v + 1))
            np.add.at(out, (t, v), 1.0)
            return out

        return cls(table(x_total, x_anchor, max_x), table(y_total, y_anchor, max_y), internal)

    def stats(self) -> dict:
        """Directly observable moments (K&B Table 4.3 layout): mu1_x, sd1_x, mu1_v, sd1_v, cov1_xv, ... (n denominators)."""
        out = {}
        for k, (joint, t) in enumerate(((self.joint1, "x"), (self.joint2, "y")), start=1):
            p = joint / joint.sum()
            s = np.arange(p.shape[0])[:, None]
            v = np.arange(p.shape[1])[None, :]
            mt, mv = float((p * s).sum()), float((p * v).sum())
            out[f"n{k}"] = float(joint.sum())
            out[f"mu{k}_{t}"], out[f"mu{k}_v"] = mt, mv
            out[f"var{k}_{t}"] = float((p * (s - mt) ** 2).sum())
            out[f"var{k}_v"] = float((p * (v - mv) ** 2).sum())
            out[f"cov{k}_{t}v"] = float((p * (s - mt) * (v - mv)).sum())
        out["max_x"] = self.joint1.shape[0] - 1
        out["internal"] = self.internal
        return out


#: Keys a moments dict must have to stand in for NeatData in the linear methods (K&B Table 4.3 layout).
MOMENT_KEYS = ("mu1_x", "var1_x", "mu1_v", "var1_v", "cov1_xv", "mu2_y", "var2_y", "mu2_v", "var2_v", "cov2_yv",
               "max_x")


def _neat_stats(data) -> dict:
    """NeatData → its moments; a dict of published moments (``MOMENT_KEYS``; 'internal' defaults True) as is."""
    if isinstance(data, NeatData):
        return data.stats()
    missing = [k for k in MOMENT_KEYS if k not in data]
    if missing:
        raise InputError(f"NEAT moments are missing {', '.join(missing)}")
    return {"internal": True, **data}


def _linear_from_synthetic(method, K_x, mu_sx, var_sx, mu_sy, var_sy, details) -> EquatingResult:
    """l_Ys(x) = σs(Y)/σs(X) [x − μs(X)] + μs(Y) on the synthetic population (K&B eq. 4.1)."""
    x = np.arange(K_x + 1, dtype=float)
    slope = float(np.sqrt(var_sy / var_sx))
    intercept = float(mu_sy - slope * mu_sx)
    details = dict(details, mu_s_x=mu_sx, mu_s_y=mu_sy, sigma_s_x=float(np.sqrt(var_sx)),
                   sigma_s_y=float(np.sqrt(var_sy)))
    return EquatingResult(method, x, slope * x + intercept, _nan(x.size), slope, intercept, details)


def _synthetic_linear(data, gamma1: float, gamma2: float, w1: float, method: str) -> EquatingResult:
    """Synthetic-population moments from γ1, γ2 (K&B eqs. 4.17–4.20), then the linear function (eq. 4.1)."""
    s = _neat_stats(data)
    w2 = 1.0 - w1
    dmu = s["mu1_v"] - s["mu2_v"]
    dvar = s["var1_v"] - s["var2_v"]
    mu_sx = s["mu1_x"] - w2 * gamma1 * dmu
    mu_sy = s["mu2_y"] + w1 * gamma2 * dmu
    var_sx = s["var1_x"] - w2 * gamma1**2 * dvar + w1 * w2 * gamma1**2 * dmu**2
    var_sy = s["var2_y"] + w1 * gamma2**2 * dvar + w1 * w2 * gamma2**2 * dmu**2
    return _linear_from_synthetic(method, int(s["max_x"]), mu_sx, var_sx, mu_sy, var_sy,
                                  dict(s, gamma1=gamma1, gamma2=gamma2, w1=w1))


def tucker_equating(data, w1: float = 0.5) -> EquatingResult:
    """Tucker linear: γ1 = σ1(X, V)/σ1²(V), γ2 = σ2(Y, V)/σ2²(V) (K&B eqs. 4.21–4.22), internal or external.

    data: NeatData, or a dict of moments (``MOMENT_KEYS``) such as a published table. Likewise for the other
    linear NEAT methods.
    """
    s = _neat_stats(data)
    return _synthetic_linear(data, s["cov1_xv"] / s["var1_v"], s["cov2_yv"] / s["var2_v"], w1, "tucker")


def _levine_gammas(data) -> tuple[float, float]:
    """Levine γ's (K&B eqs. 4.58–4.59 internal; 4.60–4.61 external anchor)."""
    s = _neat_stats(data)
    if s["internal"]:
        return s["var1_x"] / s["cov1_xv"], s["var2_y"] / s["cov2_yv"]
    return ((s["var1_x"] + s["cov1_xv"]) / (s["var1_v"] + s["cov1_xv"]),
            (s["var2_y"] + s["cov2_yv"]) / (s["var2_v"] + s["cov2_yv"]))


def levine_observed_equating(data, w1: float = 0.5) -> EquatingResult:
    """Levine observed-score linear equating: Levine γ's in the synthetic moments (K&B §4.2.2)."""
    g1, g2 = _levine_gammas(data)
    return _synthetic_linear(data, g1, g2, w1, "levine_observed")


def levine_true_equating(data) -> EquatingResult:
    """Levine true-score equating: slope γ2/γ1, intercept μ2(Y) − (γ2/γ1) μ1(X) + γ2 [μ1(V) − μ2(V)]

    (K&B eqs. 4.70–4.73); it does not depend on the synthetic weights. Applied to observed scores.
    """
    s = _neat_stats(data)
    g1, g2 = _levine_gammas(data)
    slope = g2 / g1
    intercept = s["mu2_y"] - slope * s["mu1_x"] + g2 * (s["mu1_v"] - s["mu2_v"])
    x = np.arange(int(s["max_x"]) + 1, dtype=float)
    return EquatingResult("levine_true", x, slope * x + intercept, _nan(x.size), slope, intercept,
                          dict(s, gamma1=g1, gamma2=g2))


def chained_linear_equating(data) -> EquatingResult:
    """Chained linear: X → V in population 1, V → Y in population 2 (K&B eq. 4.76):

    l_Y(x) = μ2(Y) + σ2(Y)/σ2(V) · {μ1(V) − μ2(V) + σ1(V)/σ1(X) [x − μ1(X)]}.
    """
    s = _neat_stats(data)
    slope = np.sqrt(s["var2_y"] / s["var2_v"]) * np.sqrt(s["var1_v"] / s["var1_x"])
    intercept = s["mu2_y"] + np.sqrt(s["var2_y"] / s["var2_v"]) * (s["mu1_v"] - s["mu2_v"]) - slope * s["mu1_x"]
    x = np.arange(int(s["max_x"]) + 1, dtype=float)
    return EquatingResult("chained_linear", x, slope * x + intercept, _nan(x.size), float(slope),
                          float(intercept), dict(s))


def frequency_estimation_distributions(data: NeatData, w1: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic distributions f_s(x), g_s(y) under the frequency-estimation assumptions (K&B eqs. 5.7–5.10):

    f2(x) = Σ_v f1(x | v) h2(v), g1(y) = Σ_v g2(y | v) h1(v), f_s = w1 f1 + w2 f2, g_s = w1 g1 + w2 g2.
    An anchor score never seen in one population has no conditional distribution there; its mass is dropped
    and the estimate renormalized (so f2 and g1 sum to 1). Returns ((K_X + 1,), (K_Y + 1,)) proportions.
    """
    p1 = data.joint1 / data.joint1.sum()
    p2 = data.joint2 / data.joint2.sum()
    h1, h2 = p1.sum(axis=0), p2.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond1 = np.where(h1 > 0, p1 / h1, 0.0)  # f1(x | v)
        cond2 = np.where(h2 > 0, p2 / h2, 0.0)  # g2(y | v)
    f2 = cond1 @ h2
    g1 = cond2 @ h1
    f2, g1 = f2 / f2.sum(), g1 / g1.sum()
    w2 = 1.0 - w1
    return w1 * p1.sum(axis=1) + w2 * f2, w1 * g1 + w2 * p2.sum(axis=1)


def frequency_estimation_equating(data: NeatData, w1: float = 0.5, convention: str = "equate") -> EquatingResult:
    """Frequency-estimation equipercentile equating: equipercentile on f_s and g_s (K&B §5.1)."""
    fs, gs = frequency_estimation_distributions(data, w1)
    res = equipercentile_equating(fs, gs, n_x=data.joint1.sum(), n_y=data.joint2.sum(),
                                  method="frequency_estimation", convention=convention)
    # The random-groups SE formula does not apply to NEAT; report none rather than a wrong one.
    return EquatingResult(res.method, res.scores, res.equated, _nan(res.scores.size),
                          details={"f_s": fs, "g_s": gs, "w1": w1})


def braun_holland_equating(data: NeatData, w1: float = 0.5) -> EquatingResult:
    """Braun–Holland linear: the linear function with the moments of f_s and g_s (K&B eqs. 5.17–5.20)."""
    fs, gs = frequency_estimation_distributions(data, w1)
    mx, sx, _ = _moments(fs)
    my, sy, _ = _moments(gs)
    return _linear_from_synthetic("braun_holland", fs.size - 1, mx, sx**2, my, sy**2, {"w1": w1})


def chained_equipercentile_equating(data: NeatData, convention: str = "equate") -> EquatingResult:
    """Chained equipercentile: e_Y(x) = e_Y2[e_V1(x)] (K&B §5.3); e_V1 is X → V equipercentile in population 1
    and the (non-integer) anchor equivalent is carried to Y with continuity-corrected percentile ranks in
    population 2."""
    f1 = data.joint1.sum(axis=1)
    h1 = data.joint1.sum(axis=0)
    h2 = data.joint2.sum(axis=0)
    g2 = data.joint2.sum(axis=1)
    x = np.arange(f1.size, dtype=float)
    v = percentile_inverse(percentile_rank(x, f1), h1, convention)
    y = percentile_inverse(percentile_rank(v, h2), g2, convention)
    return EquatingResult("chained_equipercentile", x, y, _nan(x.size), details={"anchor_equivalent": v})


NEAT_METHODS = {
    "tucker": tucker_equating,
    "levine_observed": levine_observed_equating,
    "levine_true": lambda data, w1=0.5: levine_true_equating(data),
    "chained_linear": lambda data, w1=0.5: chained_linear_equating(data),
    "braun_holland": braun_holland_equating,
    "frequency_estimation": frequency_estimation_equating,
    "chained_equipercentile": lambda data, w1=0.5: chained_equipercentile_equating(data),
}
RANDOM_GROUPS_METHODS = {
    "mean": mean_equating,
    "linear": linear_equating,
    "equipercentile": equipercentile_equating,
}


