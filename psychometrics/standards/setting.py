"""Standard setting: modified Angoff, Bookmark (item mapping), Hofstee and Beuk compromises, impact.

Scores are number-correct raw scores on one form; a candidate passes when raw ≥ raw cut. A panel's raw cut
is carried to the bank's θ scale through the form's TCC (``psychometrics.irt.equating.theta_for_true_score``),
where the standard then lives (see ``irt_equating.raw_cut_from_theta`` for the way back to any form).

Reading ratings, scores and judgments from files: ``workflows.standard_files``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters, theta_for_true_score

#: A rater whose cut lies more than this many SDs (of the other raters' cuts) from the others' mean is flagged.
OUTLIER_Z = 2.0
#: The leave-one-out z needs this many raters; with fewer, the SD of the others rests on one or two values.
MIN_RATERS_FOR_OUTLIER = 5
#: A rater whose ratings correlate below this with the items' empirical p-values is flagged (reality check).
LOW_REALITY_CORRELATION = 0.20
#: Default response-probability criterion of the Bookmark method (Mitzel, Lewis, Patz & Green 2001).
DEFAULT_RP = 0.67
#: Multiples of the SE of the cut at which impact is reported.
IMPACT_SE_STEPS = (-2, -1, 0, 1, 2)


# --------------------------------------------------------------------------------------------------------
# Modified Angoff
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AngoffRatings:
    """ratings: (n_rounds, n_raters, n_items) probabilities; rater_info: one row per rater (metadata)."""

    rater_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    rounds: tuple[int, ...]
    ratings: np.ndarray
    rater_info: pd.DataFrame


@dataclass(frozen=True)
class AngoffResult:
    """The panel's recommendation and the evidence a board needs to judge it.

    rater_cuts: (n_raters,) each rater's sum of ratings in the final round. cut_raw = mean of rater_cuts;
    sd = their SD (n − 1); se = sd / sqrt(n_raters). reality_correlation: (n_raters,) correlation of each
    rater's ratings with the empirical p-values (NaN without p-values). round_summary: one row per round.
    """

    rater_ids: tuple[str, ...]
    rater_cuts: np.ndarray
    cut_raw: float
    sd: float
    se: float
    n_items: int
    reality_correlation: np.ndarray
    outlier: np.ndarray
    round_summary: pd.DataFrame
    theta_cut: float | None = None
    rater_info: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def cut_percent(self) -> float:
        return 100.0 * self.cut_raw / self.n_items

    def to_frame(self) -> pd.DataFrame:
        """One row per rater: rater_id, cut_raw, cut_percent, reality_correlation, outlier (+ metadata)."""
        frame = pd.DataFrame({"rater_id": list(self.rater_ids), "cut_raw": self.rater_cuts,
                              "cut_percent": 100.0 * self.rater_cuts / self.n_items,
                              "reality_correlation": self.reality_correlation, "outlier": self.outlier})
        if not self.rater_info.empty:
            frame = frame.merge(self.rater_info, on="rater_id", how="left")
        return frame

    def summary(self) -> dict:
        return {"method": "modified_angoff", "cut_raw": self.cut_raw, "cut_percent": self.cut_percent,
                "sd": self.sd, "se": self.se, "n_raters": len(self.rater_ids), "n_items": self.n_items,
                "theta_cut": self.theta_cut,
                "outlier_raters": [r for r, o in zip(self.rater_ids, self.outlier) if o]}


def _leave_one_out_z(values: np.ndarray) -> np.ndarray:
    """(x_j − mean of the others) / SD of the others: a plain z cannot exceed (J − 1)/√J with few raters."""
    n = values.size
    if n < MIN_RATERS_FOR_OUTLIER:
        return np.zeros(n)
    out = np.empty(n)
    for j in range(n):  # n is a panel (≤ ~30 raters), not persons
        others = np.delete(values, j)
        sd = others.std(ddof=1)
        out[j] = 0.0 if sd == 0 else (values[j] - others.mean()) / sd
    return out


def modified_angoff(ratings, p_values=None, params: ItemParameters | None = None,
                    rater_ids=None, rounds=None, rater_info: pd.DataFrame | None = None) -> AngoffResult:
    """Modified Angoff cut (Angoff 1971; Cizek & Bunch 2007, ch. 6).

    ratings: (n_raters, n_items) or (n_rounds, n_raters, n_items) probabilities; the final round decides.
    Rater cut C_j = Σ_i r_ji; panel cut C = (1/J) Σ_j C_j; SE(C) = SD(C_j)/√J (Cizek & Bunch 2007, p. 93).
    p_values: (n_items,) empirical proportions correct for the reality check, r(r_j·, p).
    params: the form's IRT parameters, to report θ_cut = TCC⁻¹(C) (Lord 1980, eq. 4-5).
    """
    r = np.asarray(ratings, dtype=float)
    if r.ndim == 2:
        r = r[None]
    n_rounds, n_raters, n_items = r.shape
    if np.isnan(r).any() or (r < 0).any() or (r > 1).any():
        raise InputError("Angoff ratings must be probabilities from 0 to 1 with none missing")
    rater_ids = tuple(rater_ids) if rater_ids is not None else tuple(f"rater{j + 1}" for j in range(n_raters))
    rounds = tuple(rounds) if rounds is not None else tuple(range(1, n_rounds + 1))
    sums = r.sum(axis=2)  # (n_rounds, n_raters)
    final = sums[-1]
    sd = float(final.std(ddof=1)) if n_raters > 1 else float("nan")
    se = sd / np.sqrt(n_raters)
    corr = np.full(n_raters, np.nan)
    if p_values is not None:
        p = np.asarray(p_values, dtype=float)
        ok = ~np.isnan(p)
        for j in range(n_raters):
            x = r[-1, j, ok]
            if x.std() > 0 and p[ok].std() > 0:
                corr[j] = float(np.corrcoef(x, p[ok])[0, 1])
    outlier = np.abs(_leave_one_out_z(final)) > OUTLIER_Z
    outlier |= np.nan_to_num(corr, nan=1.0) < LOW_REALITY_CORRELATION
    rows = []
    for k in range(n_rounds):
        cut = float(sums[k].mean())
        sd_k = float(sums[k].std(ddof=1)) if n_raters > 1 else float("nan")
        rows.append({"round": rounds[k], "cut_raw": cut, "cut_percent": 100 * cut / n_items, "sd": sd_k,
                     "se": sd_k / np.sqrt(n_raters),
                     "change_from_previous": cut - float(sums[k - 1].mean()) if k else float("nan"),
                     "mean_abs_rater_change": float(np.abs(sums[k] - sums[k - 1]).mean()) if k else float("nan")})
    cut_raw = float(final.mean())
    theta_cut = None
    if params is not None:
        if params.n_items != n_items:
            raise InputError(f"the form has {params.n_items} items with parameters but the ratings cover {n_items}")
        if cut_raw <= params.c.sum():
            raise InputError(f"the Angoff cut {cut_raw:.2f} is at or below the chance score {params.c.sum():.2f}; "
                             "no θ corresponds to it")
        theta_cut = float(theta_for_true_score(cut_raw, params)[0])
    return AngoffResult(rater_ids, final, cut_raw, sd, se, n_items, corr, outlier, pd.DataFrame(rows),
                        theta_cut, rater_info if rater_info is not None else pd.DataFrame())


# --------------------------------------------------------------------------------------------------------
# Bookmark
# --------------------------------------------------------------------------------------------------------
def rp_location(params: ItemParameters, rp: float = DEFAULT_RP) -> np.ndarray:
    """θ at which P_j(θ) = RP: θ_j = b_j + ln[(RP − c_j)/(1 − RP)] / (D a_j) (inverse of Lord 1980 eq. 2-1).

    Items with c_j ≥ RP never reach the criterion: NaN. Returns (n_items,).
    """
    if not 0.0 < rp < 1.0:
        raise InputError(f"response probability {rp} must be between 0 and 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        loc = params.b + np.log((rp - params.c) / (1.0 - rp)) / (params.D * params.a)
    return np.where(params.c < rp, loc, np.nan)


@dataclass(frozen=True)
class BookmarkResult:
    """booklet: the ordered item booklet (page, item_id, rp_theta); panelist_theta: (n_panelists,)."""

    booklet: pd.DataFrame
    pages: np.ndarray
    panelist_theta: np.ndarray
    theta_cut: float
    rp: float
    raw_cut_true_score: float | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"panelist": np.arange(1, self.pages.size + 1), "page": self.pages,
                             "theta": self.panelist_theta})

    def summary(self) -> dict:
        return {"method": "bookmark", "rp": self.rp, "theta_cut": self.theta_cut,
                "theta_cut_mean": float(self.panelist_theta.mean()),
                "true_score_at_cut": self.raw_cut_true_score, "n_panelists": int(self.pages.size)}


def ordered_item_booklet(params: ItemParameters, rp: float = DEFAULT_RP) -> pd.DataFrame:
    """Items ordered by their RP location (easiest first); ties keep form order. Columns page, item_id, rp_theta."""
    loc = rp_location(params, rp)
    if np.isnan(loc).any():
        bad = [params.item_ids[j] for j in np.nonzero(np.isnan(loc))[0]]
        raise InputError([f"item {i} has a lower asymptote c ≥ RP {rp}; it cannot be placed in the booklet"
                          for i in bad])
    order = np.argsort(loc, kind="stable")
    return pd.DataFrame({"page": np.arange(1, loc.size + 1), "item_id": [params.item_ids[j] for j in order],
                         "rp_theta": loc[order]})


def bookmark(params: ItemParameters, pages, rp: float = DEFAULT_RP) -> BookmarkResult:
    """Bookmark cut (Mitzel et al. 2001; Cizek & Bunch 2007, ch. 10).

    pages: (n_panelists,) each panelist's bookmark = the page number (1-based) of the LAST item a just-
    qualified candidate answers correctly with probability ≥ RP. Panelist cut θ_k = RP location of that page;
    panel cut = the median of θ_k (the usual summary; the mean is in ``summary``). The expected raw score at
    the cut on this form, TCC(θ_cut), is reported too.
    """
    booklet = ordered_item_booklet(params, rp)
    pages = np.atleast_1d(np.asarray(pages))
    bad = [p for p in pages if not float(p).is_integer() or not 1 <= int(p) <= len(booklet)]
    if bad:
        raise InputError([f"bookmark page {p} is not a page of the {len(booklet)}-page booklet" for p in bad])
    pages = pages.astype(int)
    thetas = booklet["rp_theta"].to_numpy()[pages - 1]
    cut = float(np.median(thetas))
    return BookmarkResult(booklet, pages, thetas, cut, rp, float(params.tcc([cut])[0]))


# --------------------------------------------------------------------------------------------------------
# Hofstee and Beuk compromises (raw scores; judgments in percent)
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompromiseResult:
    """A Hofstee or Beuk cut. cut_percent is where the panel line meets the observed curve (percent-correct
    scale); cut_raw the smallest integer raw score at or above it; pass_rate the observed percentage passing."""

    method: str
    cut_percent: float
    cut_raw: int
    pass_rate: float
    details: dict

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": self.method, "cut_percent": self.cut_percent, "cut_raw": self.cut_raw,
                              "pass_rate": self.pass_rate, **{k: v for k, v in self.details.items()
                                                             if np.isscalar(v)}}])

    def summary(self) -> dict:
        return self.to_frame().iloc[0].to_dict()


def _fail_curve(scores: np.ndarray, n_items: int):
    """Percent failing as a function of the cut c (percent-correct): F(c) = 100·#{score < c·n/100}/N.

    Returned as a continuous, non-decreasing, piecewise-linear function through the points (100 r / n,
    percent scoring below r), r = 0..n (Hofstee's curve drawn through the integer cuts).
    """
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    r = np.arange(n_items + 1)
    fail = 100.0 * (s[None, :] < r[:, None]).mean(axis=1)
    return 100.0 * r / n_items, fail


def _cross(xs, curve, line) -> float:
    """First x where curve − line changes sign from < 0 to ≥ 0, by linear interpolation between grid points."""
    diff = curve - line
    idx = np.nonzero(diff >= 0)[0]
    if idx.size == 0:
        return float("nan")
    k = int(idx[0])
    if k == 0:
        return float(xs[0])
    t = -diff[k - 1] / (diff[k] - diff[k - 1])
    return float(xs[k - 1] + t * (xs[k] - xs[k - 1]))


def _result(method, cut_percent, scores, n_items, details) -> CompromiseResult:
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    cut_raw = int(np.ceil(cut_percent * n_items / 100.0 - 1e-9))
    return CompromiseResult(method, float(cut_percent), cut_raw, float(100.0 * (s >= cut_raw).mean()), details)


def hofstee(scores, n_items: int, k_min, k_max, f_min, f_max) -> CompromiseResult:
    """Hofstee (1983) compromise.

    Each judge gives the minimum and maximum acceptable cut (k_min, k_max, percent correct) and minimum and
    maximum acceptable failure rate (f_min, f_max, percent); their means define the line from (k̄_min, f̄_max)
    to (k̄_max, f̄_min). The cut is where it meets the observed failure-rate curve F(c). If F stays below the
    line the cut is k̄_max; if F is already above it at k̄_min, the cut is k̄_min (Cizek & Bunch 2007, ch. 12).
    scores: (n_persons,) raw scores; the judgment arguments: (n_judges,) or scalars.
    """
    km, kM, fm, fM = (float(np.mean(v)) for v in (k_min, k_max, f_min, f_max))
    if not (0 <= km < kM <= 100 and 0 <= fm < fM <= 100):
        raise InputError("Hofstee judgments need 0 ≤ k_min < k_max ≤ 100 and 0 ≤ f_min < f_max ≤ 100 (percent)")
    cuts, fail = _fail_curve(scores, n_items)
    grid = np.union1d(np.linspace(km, kM, 2001), cuts[(cuts >= km) & (cuts <= kM)])
    curve = np.interp(grid, cuts, fail)
    line = fM + (grid - km) * (fm - fM) / (kM - km)
    cut = _cross(grid, curve, line)
    if np.isnan(cut):
        cut = kM
    return _result("hofstee", cut, scores, n_items, {"k_min": km, "k_max": kM, "f_min": fm, "f_max": fM})


def beuk(scores, n_items: int, cut_judgments, pass_rate_judgments) -> CompromiseResult:
    """Beuk (1984) compromise.

    Each judge gives a cut k_j (percent correct) and the pass rate v_j (percent) they expect. The line through
    (k̄, v̄) with slope −s_v/s_k (SDs across judges) meets the observed pass-rate curve
    P(c) = 100 − F(c); the cut is the intersection (De Gruijter 1985; Cizek & Bunch 2007, ch. 12).
    """
    k = np.asarray(cut_judgments, dtype=float)
    v = np.asarray(pass_rate_judgments, dtype=float)
    if k.size < 2 or k.size != v.size:
        raise InputError("Beuk needs a cut and a pass rate from each of at least two judges")
    if k.min() < 0 or k.max() > 100 or v.min() < 0 or v.max() > 100:
        raise InputError("Beuk judgments are percents from 0 to 100")
    kbar, vbar, sk, sv = k.mean(), v.mean(), k.std(ddof=1), v.std(ddof=1)
    if sk == 0:
        # Judges agree on the cut: the line is vertical at k̄.
        cut = kbar
    else:
        cuts, fail = _fail_curve(scores, n_items)
        grid = np.union1d(np.linspace(0, 100, 4001), cuts)
        passing = 100.0 - np.interp(grid, cuts, fail)
        line = vbar - (sv / sk) * (grid - kbar)
        diff = passing - line
        # Sign changes of (pass curve − line), located by linear interpolation; the one nearest the panel's
        # mean cut is the compromise (the curve and the line can meet more than once in the tails).
        k = np.nonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))[0]
        if k.size == 0:
            raise InputError("the Beuk line does not meet the observed pass-rate curve; "
                             "check that the judgments are percents")
        t = diff[k] / (diff[k] - diff[k + 1])
        roots = grid[k] + t * (grid[k + 1] - grid[k])
        cut = float(roots[np.argmin(np.abs(roots - kbar))])
    return _result("beuk", cut, scores, n_items, {"k_mean": kbar, "v_mean": vbar, "k_sd": sk, "v_sd": sv,
                                                  "slope": -(sv / sk) if sk else float("-inf")})


# --------------------------------------------------------------------------------------------------------
# Impact
# --------------------------------------------------------------------------------------------------------
def impact(scores, cut_raw: float, se: float = 0.0, groups=None, steps=IMPACT_SE_STEPS) -> pd.DataFrame:
    """Pass rates at the cut and at cut + k·SE (k in ``steps``), overall and by group.

    A candidate passes when raw ≥ ceil(cut + k·SE). scores: (n_persons,); groups: (n_persons,) labels or None.
    Returns columns group, shift_se, cut, raw_cut, n, n_pass, pass_rate (percent).
    """
    s = np.asarray(scores, dtype=float)
    labels = np.full(s.shape, "all", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    rows = []
    group_list = [("all", np.ones(s.shape, bool))]
    if groups is not None:
        group_list += [(str(g), labels == g) for g in pd.unique(labels)]
    for k in (steps if se > 0 else (0,)):
        cut = cut_raw + k * se
        raw_cut = int(np.ceil(cut - 1e-9))
        for name, mask in group_list:
            ok = mask & ~np.isnan(s)
            n = int(ok.sum())
            n_pass = int((s[ok] >= raw_cut).sum())
            rows.append({"group": name, "shift_se": k, "cut": cut, "raw_cut": raw_cut, "n": n, "n_pass": n_pass,
                         "pass_rate": 100.0 * n_pass / n if n else float("nan")})
    return pd.DataFrame(rows)


def normal_cut_interval(cut: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """A normal-theory confidence interval for a cut: cut ± z_(1−(1−level)/2)·SE, SE = SD/√J of the raters' cuts
    (Cizek & Bunch 2007, ch. 6, on reporting the standard error of an Angoff cut)."""
    z = stats.norm.ppf(0.5 + level / 2)
    return cut - z * se, cut + z * se
