"""Classical item and test analysis: items, options (distractors), score-group (quantile) tables, test statistics.

Conventions follow the Iteman 4 manual (Assessment Systems Corporation): the total score is the number
correct (omits and not-reached count as wrong); an item's N excludes candidates who did not reach it;
omits are their own row in option tables; the default item–total correlation is the *corrected* one
(item against the rest score, i.e. the total without the item), which removes the item's own variance
from the criterion (Henrysson 1963).

Formulas (population moments over the persons who reached item j; x = 0/1 item score, t = total,
r = t − x the rest score; Lord & Novick 1968, ch. 15 for item–test correlations):

    p_j = Σx / N_j                                  point-biserial  r_xt = cov(x, t) / √(p q · var t)
    cov(x, r) = cov(x, t) − p q                     var r = var t − 2 cov(x, t) + p q
    α_(−j) = (k−1)/(k−2) · (1 − (Σ_i σ_i² − σ_j²) / var(t − x_j))      (alpha if item deleted)
    option c:  cov(d_c, r) = E[d_c t] − [c = key]·p_c − p_c · E[r]  with d_c = 1 if c was chosen

The whole analysis comes from ONE count table built in a single pass: for each (item j, response code c,
total score s) the number of persons, T[j, c, s] = #{i : code_ij = c, t_i = s}  (one ``np.bincount``).
Every item, option and quantile statistic is a sum over that table:

    N_jc = Σ_s T[j,c,s],   Σ_{i: code=c} t_i = Σ_s s·T[j,c,s],   Σ_{i: code=c} t_i² = Σ_s s²·T[j,c,s]

so the cost is one pass over the (n_persons, n_items) codes plus work proportional to
n_items × 8 × (n_items + 1). Total, half-test and area scores come from popcounts of each person's answers
packed into 64-bit words against one bit mask per part (``part_sums``).

Moments inside correlations are population moments (divide by N); reported SDs are sample SDs (N − 1).
Shapes: codes (n_persons, n_items) uint8; item arrays (n_items,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from itembank.errors import InputError
from psychometrics.responses import (CODE_NOT_REACHED, CODE_OMIT, N_CODES, ResponseMatrix)

#: Score groups of the quantile table (Iteman 4 uses 3–7; we allow 3–9).
DEFAULT_QUANTILES = 5
MIN_QUANTILES = 3
MAX_QUANTILES = 9
#: Confidence level of the Feldt interval for alpha.
DEFAULT_CI_LEVEL = 0.95
#: Seed of the random split-half when the caller gives none.
DEFAULT_SPLIT_SEED = 20240501
#: Labels of the option-table rows of omits and (when they count in N) of not-reached.
OMIT_LABEL = "omit"
NOT_REACHED_LABEL = "not reached"


# ------------------------------------------------------------------------------------------------------
# One named function per formula
# ------------------------------------------------------------------------------------------------------

def coefficient_alpha(item_variances: np.ndarray, total_variance: float) -> float:
    """Coefficient alpha (= KR-20 for 0/1 items): α = k/(k−1) · (1 − Σ_j σ_j² / σ_X²).

    Kuder & Richardson 1937 (formula 20); Cronbach 1951; Lord & Novick 1968, ch. 4 (coefficient α).
    item_variances: (k,), same divisor as total_variance. NaN when k < 2 or σ_X² = 0.
    """
    k = len(item_variances)
    if k < 2 or not total_variance > 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.sum(item_variances) / total_variance))


def alpha_from_scores(scored) -> float:
    """Coefficient alpha of a (n_persons, n_items) 0/1 array (NaN counted as 0, as in number-correct scoring)."""
    x = np.nan_to_num(np.asarray(scored, dtype=float))
    if x.shape[0] < 2:
        return float("nan")
    return coefficient_alpha(x.var(axis=0), float(x.sum(axis=1).var()))


def feldt_interval(alpha: float, n_persons: int, n_items: int, level: float = DEFAULT_CI_LEVEL) -> tuple[float, float]:
    """Feldt's (1965) confidence interval for coefficient alpha.

    (1 − α)/(1 − α̂) follows F with df1 = N − 1 and df2 = (N − 1)(k − 1) (Feldt 1965; Feldt, Woodruff &
    Salih 1987), so with γ = 1 − level:
        lower = 1 − (1 − α̂) · F_{1−γ/2}(df1, df2),   upper = 1 − (1 − α̂) · F_{γ/2}(df1, df2).
    """
    if not np.isfinite(alpha) or n_persons < 2 or n_items < 2:
        return (float("nan"), float("nan"))
    df1, df2 = n_persons - 1, (n_persons - 1) * (n_items - 1)
    gamma = 1.0 - level
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - gamma / 2.0, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.ppf(gamma / 2.0, df1, df2)
    return (float(lower), float(upper))


def spearman_brown(r, factor: float = 2.0):
    """Spearman–Brown prophecy: r* = f·r / (1 + (f − 1)·r)  (Spearman 1910; Brown 1910; Lord & Novick 1968, ch. 4)."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = factor * r / (1.0 + (factor - 1.0) * r)
    return float(out) if out.ndim == 0 else out


def biserial_from_point_biserial(point_biserial, p):
    """Biserial from point-biserial: r_bis = r_pb · √(p q) / φ(z_p), z_p = Φ⁻¹(p)  (Lord & Novick 1968, ch. 15).

    Assumes a normally distributed latent variable behind the 0/1 item. NaN when p is 0 or 1.
    """
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = stats.norm.pdf(stats.norm.ppf(p))
        out = np.asarray(point_biserial, dtype=float) * np.sqrt(p * (1.0 - p)) / density
    return np.where((p > 0) & (p < 1), out, np.nan)


def binomial_csem(n_items: int, raw_scores=None) -> np.ndarray:
    """Lord's binomial conditional SEM at raw score x: CSEM(x) = √(x (k − x) / (k − 1))  (Lord 1955, 1957, 1965).

    The error of a number-correct score under the binomial error model; 0 at x = 0 and x = k.
    raw_scores: defaults to 0..k. Returns (n_scores,).
    """
    x = np.arange(n_items + 1, dtype=float) if raw_scores is None else np.asarray(raw_scores, dtype=float)
    if n_items < 2:
        return np.full(x.shape, np.nan)
    return np.sqrt(np.clip(x * (n_items - x), 0.0, None) / (n_items - 1))


def correlation_from_moments(cov, var_a, var_b):
    """Pearson r = cov / √(var_a · var_b), NaN where either variance is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(cov, dtype=float) / np.sqrt(np.asarray(var_a, dtype=float) * np.asarray(var_b, dtype=float))
    r = np.where(np.isfinite(r), r, np.nan)
    return np.clip(r, -1.0, 1.0)


# ------------------------------------------------------------------------------------------------------
# Result objects
# ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ItemStatistics:
    """Per item (arrays of shape (n_items,)).

    n: persons who reached the item; p_value: proportion right among them; point_biserial: item–rest
    correlation (corrected; the default) and point_biserial_total: item–total; biserial: from the corrected
    (or, with ``corrected=False``, the uncorrected) point-biserial; alpha_if_deleted; omits; not_reached.
    """

    item_ids: tuple[str, ...]
    key: tuple[str, ...]
    pretest: np.ndarray  # bool: not counted in the total score
    n: np.ndarray
    n_reached: np.ndarray  # candidates who reached the item (answered or omitted)
    p_value: np.ndarray
    point_biserial: np.ndarray
    point_biserial_total: np.ndarray
    biserial: np.ndarray
    alpha_if_deleted: np.ndarray
    omits: np.ndarray
    not_reached: np.ndarray
    mean_total_correct: np.ndarray
    mean_total_incorrect: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "item_id": list(self.item_ids), "key": list(self.key), "pretest": self.pretest, "n": self.n,
            "p_value": self.p_value,
            "point_biserial": self.point_biserial, "point_biserial_total": self.point_biserial_total,
            "biserial": self.biserial, "alpha_if_deleted": self.alpha_if_deleted, "omits": self.omits,
            "omit_rate": _ratio(self.omits, self.n_reached), "not_reached": self.not_reached,
            "mean_total_correct": self.mean_total_correct, "mean_total_incorrect": self.mean_total_incorrect,
        })


@dataclass(frozen=True, eq=False)
class OptionStatistics:
    """Per item × option, long form (one row per option the item offers, then one row of omits).

    point_biserial: of choosing the option (1/0) against the rest score (the total score if uncorrected);
    mean_total / sd_total: of the total score of its choosers.
    """

    item_id: np.ndarray
    option: np.ndarray
    is_key: np.ndarray
    n: np.ndarray
    proportion: np.ndarray
    point_biserial: np.ndarray
    mean_total: np.ndarray
    sd_total: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "item_id": self.item_id, "option": self.option, "is_key": self.is_key, "n": self.n,
            "proportion": self.proportion, "point_biserial": self.point_biserial,
            "mean_total": self.mean_total, "sd_total": self.sd_total,
        })


@dataclass(frozen=True, eq=False)
class QuantileTable:
    """Proportion choosing each option within score groups (group 1 = lowest scorers), long form.

    Groups are formed from the total score so that persons with equal scores share a group: score s goes to
    group ⌊G · PR(s)⌋ + 1, PR(s) being its midpoint percentile rank (capped at G).
    """

    n_groups: int
    group_score_min: np.ndarray  # (n_groups,)
    group_score_max: np.ndarray
    group_n: np.ndarray
    item_id: np.ndarray  # long columns below
    option: np.ndarray
    is_key: np.ndarray
    group: np.ndarray
    n: np.ndarray
    proportion: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        g = self.group - 1
        return pd.DataFrame({
            "item_id": self.item_id, "option": self.option, "is_key": self.is_key, "score_group": self.group,
            "score_min": self.group_score_min[g], "score_max": self.group_score_max[g], "n": self.n,
            "proportion": self.proportion,
        })

    def proportion_of(self, item_id: str, option: str, group: int) -> float:
        mask = (self.item_id == item_id) & (self.option == option) & (self.group == group)
        return float(self.proportion[mask][0]) if mask.any() else float("nan")


@dataclass(frozen=True)
class SplitHalf:
    """One split of the test into halves.

    correlation r_hh of the half scores; spearman_brown = 2 r_hh / (1 + r_hh) (the full-length reliability);
    guttman = 2 (1 − (σ₁² + σ₂²) / σ_X²) (Guttman 1945; equal to Rulon 1939), which does not assume
    parallel halves.
    """

    method: str
    n_items_first: int
    n_items_second: int
    correlation: float
    spearman_brown: float
    guttman: float
    seed: int | None = None


@dataclass(frozen=True, eq=False)
class TestStatistics:
    """Test-level statistics of the number-correct score."""

    n_persons: int
    n_items: int
    mean: float
    sd: float
    minimum: float
    maximum: float
    median: float
    skew: float
    kurtosis: float
    alpha: float
    alpha_ci: tuple[float, float]
    ci_level: float
    sem: float
    mean_p: float
    mean_point_biserial: float
    split_halves: tuple[SplitHalf, ...]
    frequency: np.ndarray  # (n_items + 1,) persons at each raw score 0..k
    csem: np.ndarray  # (n_items + 1,) Lord's binomial CSEM at each raw score

    def to_dict(self) -> dict:
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)
        return {
            "n": self.n_persons, "n_items": self.n_items, "mean": num(self.mean), "sd": num(self.sd),
            "min": num(self.minimum), "max": num(self.maximum), "median": num(self.median),
            "skew": num(self.skew), "kurtosis": num(self.kurtosis), "alpha": num(self.alpha),
            "alpha_ci": [num(self.alpha_ci[0]), num(self.alpha_ci[1])], "ci_level": self.ci_level,
            "sem": num(self.sem), "mean_p": num(self.mean_p), "mean_point_biserial": num(self.mean_point_biserial),
            "split_halves": [{"method": s.method, "n_items_first": s.n_items_first,
                              "n_items_second": s.n_items_second, "correlation": num(s.correlation),
                              "spearman_brown": num(s.spearman_brown), "guttman": num(s.guttman),
                              "seed": s.seed} for s in self.split_halves],
            "csem": [{"raw_score": i, "csem": num(v)} for i, v in enumerate(self.csem)],
            "frequency": self.frequency_frame().to_dict(orient="records"),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row of the scalar statistics."""
        d = self.to_dict()
        row = {k: v for k, v in d.items() if not isinstance(v, list)}
        row["alpha_ci_lower"], row["alpha_ci_upper"] = d["alpha_ci"]
        for s in self.split_halves:
            row[f"split_{s.method}_spearman_brown"] = s.spearman_brown
        return pd.DataFrame([row])

    def frequency_frame(self) -> pd.DataFrame:
        f = self.frequency.astype(np.int64)
        n = max(int(f.sum()), 1)
        cum = np.cumsum(f)
        return pd.DataFrame({
            "raw_score": np.arange(len(f)), "n": f, "proportion": f / n, "cumulative_n": cum,
            "percentile_rank": 100.0 * (cum - f / 2.0) / n, "csem": self.csem,
        })

    def split_half_frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.split_halves])


@dataclass(frozen=True, eq=False)
class SubscoreStatistics:
    """Subscores by content area: items, mean, SD, alpha, intercorrelations (observed and disattenuated)."""

    areas: tuple[str, ...]
    n_items: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    alpha: np.ndarray
    correlations: np.ndarray  # (n_areas, n_areas)
    disattenuated: np.ndarray  # r_ab / √(α_a α_b): correction for attenuation (Spearman 1904)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"area": list(self.areas), "n_items": self.n_items, "mean": self.mean,
                              "sd": self.sd, "alpha": self.alpha})
        for b, area in enumerate(self.areas):
            frame[f"r_{area}"] = self.correlations[:, b]
        return frame


@dataclass(frozen=True, eq=False)
class ItemAnalysis:
    """A full classical analysis of one group of candidates (``label`` = 'all' for everyone)."""

    label: str
    items: ItemStatistics
    options: OptionStatistics
    quantiles: QuantileTable
    test: TestStatistics
    subscores: SubscoreStatistics | None = None
    corrected: bool = True
    omits_in_n: bool = True
    not_reached_in_n: bool = False


@dataclass(frozen=True, eq=False)
class GroupedAnalysis:
    """The combined analysis and one per value of a group column (e.g. language)."""

    column: str | None
    combined: ItemAnalysis
    groups: tuple[ItemAnalysis, ...] = field(default=())

    @property
    def all(self) -> tuple[ItemAnalysis, ...]:
        return (self.combined,) + tuple(self.groups)

    def _stack(self, getter) -> pd.DataFrame:
        frames = []
        for a in self.all:
            f = getter(a)
            f.insert(0, "group", a.label)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def items_frame(self) -> pd.DataFrame:
        return self._stack(lambda a: a.items.to_frame())

    def options_frame(self) -> pd.DataFrame:
        return self._stack(lambda a: a.options.to_frame())

    def quantiles_frame(self) -> pd.DataFrame:
        return self._stack(lambda a: a.quantiles.to_frame())

    def test_dict(self) -> dict:
        out = {"combined": self.combined.test.to_dict()}
        if self.combined.subscores is not None:
            out["subscores"] = _subscores_dict(self.combined.subscores)
        if self.groups:
            out["group_column"] = self.column
            out["groups"] = {}
            for a in self.groups:
                out["groups"][a.label] = a.test.to_dict()
                if a.subscores is not None:
                    out["groups"][a.label]["subscores"] = _subscores_dict(a.subscores)
        return out


def _subscores_dict(s: SubscoreStatistics) -> dict:
    clean = lambda v: None if not np.isfinite(v) else float(v)  # noqa: E731
    return {"areas": list(s.areas), "n_items": [int(v) for v in s.n_items],
            "mean": [clean(v) for v in s.mean], "sd": [clean(v) for v in s.sd],
            "alpha": [clean(v) for v in s.alpha],
            "correlations": [[clean(v) for v in row] for row in s.correlations],
            "disattenuated": [[clean(v) for v in row] for row in s.disattenuated]}


def _ratio(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


# ------------------------------------------------------------------------------------------------------
# The analysis
# ------------------------------------------------------------------------------------------------------

#: Rows per block of the counting pass: small enough that a block's index array stays in the CPU cache.
ROWS_PER_BLOCK = 2048


def part_sums(correct: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Number correct within each part (total, half-tests, areas) for every person, without BLAS.

    correct: (n_persons, n_items) bool; parts: (n_items, n_parts) 0/1. Returns (n_persons, n_parts) int32.
    Each person's answers are packed into 64-bit words and each part is a bit mask, so a part score is
    Σ_words popcount(answers & mask): a few cheap passes over n_persons words. (A float matrix product
    gives the same numbers, but a multi-threaded BLAS on a shared machine can be 10× slower than this.)
    """
    n_persons, n_items = correct.shape
    n_bytes = -(-n_items // 64) * 8
    masks = np.asarray(parts, dtype=bool).T
    if not hasattr(np, "bitwise_count"):  # numpy < 2.0
        return np.rint(correct.astype(np.float32) @ masks.T.astype(np.float32)).astype(np.int32)

    def words(bits: np.ndarray) -> np.ndarray:
        packed = np.packbits(bits, axis=1)
        packed = np.pad(packed, ((0, 0), (0, n_bytes - packed.shape[1])))
        return np.ascontiguousarray(packed).view(np.uint64)

    answer_words, mask_words = words(correct), words(masks)  # (n, w), (n_parts, w)
    out = np.zeros((n_persons, masks.shape[0]), dtype=np.int32)
    for p in range(masks.shape[0]):
        for w in range(answer_words.shape[1]):
            if mask_words[p, w]:
                out[:, p] += np.bitwise_count(answer_words[:, w] & mask_words[p, w])
    return out


def count_table(codes: np.ndarray, total: np.ndarray) -> np.ndarray:
    """T[j, c, s] = number of persons with response code c on item j and total score s.

    One ``bincount`` per block of rows over the flat index  j·(C·(k+1)) + c·(k+1) + s.
    codes: (n_persons, n_items) uint8 in 0..N_CODES−1; total: (n_persons,) int in 0..n_items.
    Returns (n_items, N_CODES, n_items + 1) int64.
    """
    n_persons, n_items = codes.shape
    n_scores = n_items + 1
    base = (np.arange(n_items, dtype=np.int32) * (N_CODES * n_scores))[None, :]
    total = total.astype(np.int32)
    counts = np.zeros(n_items * N_CODES * n_scores, dtype=np.int64)
    for start in range(0, n_persons, ROWS_PER_BLOCK):
        block = codes[start:start + ROWS_PER_BLOCK]
        idx = np.multiply(block, np.int32(n_scores), dtype=np.int32)
        idx += total[start:start + ROWS_PER_BLOCK, None]
        idx += base
        counts += np.bincount(idx.ravel(), minlength=counts.size)
    return counts.reshape(n_items, N_CODES, n_scores)


def score_groups(frequency: np.ndarray, n_groups: int) -> np.ndarray:
    """Group (0-based) of each raw score 0..k: ⌊G · PR(s)⌋ capped at G − 1, PR = midpoint percentile rank / 100.

    Ties stay together (a score is never split between groups). frequency: (k + 1,). Returns (k + 1,) int.
    """
    n = frequency.sum()
    if n == 0:
        return np.zeros(len(frequency), dtype=np.int64)
    midpoint = (np.cumsum(frequency) - frequency / 2.0) / n
    return np.minimum((n_groups * midpoint).astype(np.int64), n_groups - 1)


def _as_matrix(responses) -> ResponseMatrix:
    if isinstance(responses, ResponseMatrix):
        return responses
    scored = np.asarray(responses, dtype=float)
    if scored.ndim != 2:
        raise InputError("responses must be a (persons × items) array")
    missing = np.isnan(scored)
    return ResponseMatrix(
        person_ids=np.array([str(i + 1) for i in range(scored.shape[0])], dtype=object),
        item_ids=tuple(f"item{j + 1}" for j in range(scored.shape[1])), scored=scored, raw=None,
        omitted=np.zeros_like(missing), not_reached=missing, groups=pd.DataFrame(index=range(scored.shape[0])))


def analyze(responses, *, quantiles: int = DEFAULT_QUANTILES, areas: Mapping[str, str] | None = None,
            corrected: bool = True, split_seed: int | None = DEFAULT_SPLIT_SEED,
            ci_level: float = DEFAULT_CI_LEVEL, label: str = "all",
            pretest: Sequence[str] = (), omits_in_n: bool = True, not_reached_in_n: bool = False) -> ItemAnalysis:
    """Full classical analysis: item, option, quantile, test and (with ``areas``) subscore statistics.

    responses: a ResponseMatrix, or a (n_persons, n_items) array of 0/1 with NaN = not presented.
    areas: item_id -> content area for subscores. corrected: item–rest (True, default) or item–total
    correlations as the headline point-biserial, the biserial and the option point-biserials.
    pretest: items that do not count in the total score (Iteman's convention for pretest items): they are
    analysed against the total of the scored items (their "rest" score is the whole total) and are left out
    of alpha, the split-halves, the subscores and the score distribution.
    omits_in_n / not_reached_in_n: whether omitted / not-reached candidates count in an item's N as wrong
    answers (Iteman's defaults: omits yes, not-reached no). The total score counts both as wrong either way.
    """
    rm = _as_matrix(responses)
    if not MIN_QUANTILES <= quantiles <= MAX_QUANTILES:
        raise InputError(f"the number of score groups must be {MIN_QUANTILES}–{MAX_QUANTILES}, not {quantiles}")
    if rm.n_items == 0:
        raise InputError("there are no items to analyse")
    k, n = rm.n_items, rm.n_persons
    codes = rm.option_codes
    key_codes = rm.key_codes
    pretest_set = set(pretest)
    unknown = sorted(pretest_set - set(rm.item_ids))
    if unknown:
        raise InputError(f"pretest item(s) {', '.join(unknown[:10])} are not in the responses")
    in_total = np.array([i not in pretest_set for i in rm.item_ids])
    k_op = int(in_total.sum())
    if k_op == 0:
        raise InputError("every item is a pretest item: there is no total score to analyse against")
    w = in_total.astype(np.float64)  # 1 if the item counts in the total

    # ---- one pass: number-correct, half-test and area scores, and the count table ---------------------
    parts, split_defs, area_names = _part_matrix(rm.item_ids, areas, split_seed, in_total)
    part_scores = part_sums(codes == key_codes.astype(np.uint8)[None, :], parts)  # (n, n_parts) int32
    total = part_scores[:, 0].astype(np.int64)
    table = count_table(codes, total)  # (k, C, k+1)
    s = np.arange(k + 1, dtype=np.float64)
    n_jc = table.sum(axis=2).astype(np.float64)  # (k, C)
    sum_t = table @ s  # (k, C)
    sum_tt = table @ (s * s)
    frequency = table[0].sum(axis=0)  # (k+1,) every person appears once per item; zero above k_op

    # codes counted in an item's N: every option, and omits / not-reached as chosen
    counted = np.ones(N_CODES, dtype=bool)
    counted[CODE_OMIT], counted[CODE_NOT_REACHED] = omits_in_n, not_reached_in_n
    valid = counted
    rows = np.arange(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_j = n_jc[:, valid].sum(axis=1)
        n_key = n_jc[rows, key_codes]
        t_key = sum_t[rows, key_codes]
        mean_t = sum_t[:, valid].sum(axis=1) / n_j
        var_t = sum_tt[:, valid].sum(axis=1) / n_j - mean_t ** 2
        var_t = np.maximum(var_t, 0.0)
        p = n_key / n_j
        var_x = p * (1.0 - p)
        cov_xt = t_key / n_j - p * mean_t
        r_total = correlation_from_moments(cov_xt, var_x, var_t)
        # the rest score is t − x for items in the total, t itself for pretest items
        cov_xr = cov_xt - w * var_x
        var_r = np.maximum(var_t - w * (2.0 * cov_xt - var_x), 0.0)
        r_rest = correlation_from_moments(cov_xr, var_x, var_r)
        mean_right = t_key / n_key
        mean_wrong = (sum_t[:, valid].sum(axis=1) - t_key) / (n_j - n_key)
    r_main = r_rest if corrected else r_total
    p = np.where(n_j > 0, p, np.nan)

    # ---- alpha and alpha-if-deleted over everyone (not reached = 0, as in the total) --------------------
    with np.errstate(divide="ignore", invalid="ignore"):
        p_all = n_key / n
        var_items = p_all * (1.0 - p_all) * w  # pretest items contribute no variance to the total
        mean_total = float(total.mean()) if n else float("nan")
        var_total = float(np.mean((total - mean_total) ** 2)) if n else float("nan")
        alpha = coefficient_alpha(var_items[in_total], var_total)
        cov_all = t_key / n - p_all * mean_total
        var_without = var_total - 2.0 * cov_all + var_items
        alpha_if_deleted = (k_op - 1) / (k_op - 2) * (1.0 - (var_items.sum() - var_items) / var_without) \
            if k_op > 2 else np.full(k, np.nan)
    alpha_if_deleted = np.where(np.isfinite(alpha_if_deleted) & (var_without > 0) & in_total, alpha_if_deleted,
                                np.nan)

    key_labels = tuple(_label(rm, item, int(c)) for item, c in zip(rm.item_ids, key_codes))
    items = ItemStatistics(
        item_ids=rm.item_ids, key=key_labels, pretest=~in_total, n=n_j.astype(np.int64),
        n_reached=n_jc[:, :CODE_NOT_REACHED].sum(axis=1).astype(np.int64), p_value=p,
        point_biserial=r_rest,
        point_biserial_total=r_total, biserial=biserial_from_point_biserial(r_main, p),
        alpha_if_deleted=alpha_if_deleted, omits=n_jc[:, CODE_OMIT].astype(np.int64),
        not_reached=n_jc[:, CODE_NOT_REACHED].astype(np.int64),
        mean_total_correct=np.where(n_key > 0, mean_right, np.nan),
        mean_total_incorrect=np.where(n_j - n_key > 0, mean_wrong, np.nan))

    options = _option_statistics(rm, key_codes, n_jc, sum_t, sum_tt, n_j, mean_t, var_t, var_r, p, w, corrected,
                                 counted)
    groups = score_groups(frequency, quantiles)
    quant = _quantile_table(rm, key_codes, table, frequency, groups, quantiles, counted)
    test = _test_statistics(total, frequency[:k_op + 1], k_op, alpha, ci_level, part_scores, split_defs,
                            p[in_total], r_main[in_total])
    subs = _subscores(part_scores, area_names, len(split_defs), parts, var_items) if area_names else None
    return ItemAnalysis(label=label, items=items, options=options, quantiles=quant, test=test, subscores=subs,
                        corrected=corrected, omits_in_n=omits_in_n, not_reached_in_n=not_reached_in_n)


def analyze_by_group(responses: ResponseMatrix, group_column: str | None = None, **kwargs) -> GroupedAnalysis:
    """``analyze`` for everyone and separately for each value of ``group_column`` (e.g. 'language')."""
    combined = analyze(responses, label="all", **kwargs)
    if group_column is None:
        return GroupedAnalysis(column=None, combined=combined)
    if group_column not in responses.groups.columns:
        have = ", ".join(responses.groups.columns) or "none"
        raise InputError(f"there is no group column '{group_column}' in the responses (group columns: {have})")
    values = responses.groups[group_column].astype(str).to_numpy()
    results = []
    for value in sorted(set(values)):
        results.append(analyze(responses.subset(values == value), label=f"{group_column}={value}", **kwargs))
    return GroupedAnalysis(column=group_column, combined=combined, groups=tuple(results))


def _label(rm: ResponseMatrix, item: str, code: int) -> str:
    if rm.options is None:
        return ("0", "1")[code]
    return "ABCDEF"[code]


def _part_matrix(item_ids, areas, split_seed, in_total):
    """Columns: total, first halves of the odd–even, first–last and random splits, then one per area.

    Only items in the total (not pretest) take part; halves are formed over their positions.
    """
    k = len(item_ids)
    ops = np.flatnonzero(in_total)
    k_op = len(ops)
    pos = np.arange(k_op)

    def half(mask_over_ops):
        full = np.zeros(k, dtype=bool)
        full[ops[mask_over_ops]] = True
        return full

    splits = [("odd_even", half(pos % 2 == 0), None), ("first_last", half(pos < (k_op + 1) // 2), None)]
    rng = np.random.default_rng(split_seed)
    random_half = np.zeros(k_op, dtype=bool)
    random_half[rng.permutation(k_op)[: (k_op + 1) // 2]] = True
    splits.append(("random", half(random_half), split_seed))
    cols = [in_total.astype(float)] + [m.astype(float) for _, m, _ in splits]
    area_names: tuple[str, ...] = ()
    if areas:
        of_item = [str(areas.get(i, "")) for i in item_ids]
        missing = [i for i, a in zip(item_ids, of_item) if a == ""]
        if missing:
            raise InputError(f"no content area for item(s) {', '.join(missing[:10])}"
                             + (" ..." if len(missing) > 10 else ""))
        area_names = tuple(dict.fromkeys(sorted(a for a, op in zip(of_item, in_total) if op)))
        cols += [np.array([a == name for a in of_item], dtype=float) * in_total for name in area_names]
    return np.stack(cols, axis=1).astype(np.float32), splits, area_names


def _shown_codes(rm, counted: np.ndarray) -> np.ndarray:
    """(n_items, N_CODES) bool: the rows of option and quantile tables — each offered option, the omits, and
    the not-reached when they count in N."""
    n_opts = np.array([len(rm.option_labels(i)) for i in rm.item_ids])
    code = np.arange(N_CODES)[None, :]
    return (code < n_opts[:, None]) | (code == CODE_OMIT) | ((code == CODE_NOT_REACHED) & counted[CODE_NOT_REACHED])


def _option_statistics(rm, key_codes, n_jc, sum_t, sum_tt, n_j, mean_t, var_t, var_r, p, w, corrected, counted):
    """Option rows: each offered option, then omits (and not-reached if they count in N). Point-biserial of the
    choice indicator d against the rest score r = t − x_j:
        cov(d, r) = E[d·t] − [c is key]·p_c − p_c·(E[t] − p),   over the persons counted in the item's N.
    Rows of codes not counted in N (omits with ``omits_in_n=False``) get n and mean_total but no proportion.
    """
    code = np.arange(N_CODES)[None, :]
    keep = _shown_codes(rm, counted)
    is_key = code == key_codes[:, None]
    nj = n_j[:, None]
    cnt, st, stt = n_jc, sum_t, sum_tt
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = cnt / nj
        var_d = prop * (1.0 - prop)
        if corrected:
            cov = (st - w[:, None] * is_key * cnt) / nj - prop * (mean_t - w * p)[:, None]
            r = correlation_from_moments(cov, var_d, var_r[:, None])
        else:
            cov = st / nj - prop * mean_t[:, None]
            r = correlation_from_moments(cov, var_d, var_t[:, None])
        mean = st / cnt
        sd = np.sqrt(np.maximum(stt - cnt * mean ** 2, 0.0) / (cnt - 1))
    in_n = counted[None, :] & (nj > 0)
    mean = np.where(cnt > 0, mean, np.nan)
    sd = np.where(cnt > 1, sd, np.nan)
    prop = np.where(in_n, prop, np.nan)
    r = np.where(in_n, r, np.nan)
    labels = np.array([_option_label_row(rm, i) for i in rm.item_ids], dtype=object)  # (k, N_CODES)
    item_col = np.repeat(np.array(rm.item_ids, dtype=object)[:, None], N_CODES, axis=1)
    return OptionStatistics(item_id=item_col[keep], option=labels[keep], is_key=is_key[keep],
                            n=cnt[keep].astype(np.int64), proportion=prop[keep], point_biserial=r[keep],
                            mean_total=mean[keep], sd_total=sd[keep])


def _option_label_row(rm, item):
    labels = list(rm.option_labels(item))
    row = labels[:CODE_OMIT] + [""] * (CODE_OMIT - len(labels))
    return row + [OMIT_LABEL, NOT_REACHED_LABEL]


def _quantile_table(rm, key_codes, table, frequency, groups, n_groups, counted) -> QuantileTable:
    k = rm.n_items
    onehot = np.zeros((k + 1, n_groups))
    onehot[np.arange(k + 1), groups] = 1.0
    by_group = table @ onehot  # (k, N_CODES, G)
    n_jg = by_group[:, counted, :].sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.where((n_jg > 0) & counted[None, :, None], by_group / n_jg, np.nan)
    score = np.arange(k + 1)
    present = frequency > 0
    gmin = np.array([score[(groups == g) & present].min() if ((groups == g) & present).any() else np.nan
                     for g in range(n_groups)], dtype=float)
    gmax = np.array([score[(groups == g) & present].max() if ((groups == g) & present).any() else np.nan
                     for g in range(n_groups)], dtype=float)
    gn = np.bincount(groups, weights=frequency, minlength=n_groups).astype(np.int64)

    code = np.arange(N_CODES)
    keep3 = np.broadcast_to(_shown_codes(rm, counted)[:, :, None], prop.shape)
    labels = np.array([_option_label_row(rm, i) for i in rm.item_ids], dtype=object)
    shape = prop.shape
    item_col = np.broadcast_to(np.array(rm.item_ids, dtype=object)[:, None, None], shape)
    opt_col = np.broadcast_to(labels[:, :, None], shape)
    key_col = np.broadcast_to((code[None, :] == key_codes[:, None])[:, :, None], shape)
    grp_col = np.broadcast_to(np.arange(1, n_groups + 1)[None, None, :], shape)
    return QuantileTable(n_groups=n_groups, group_score_min=gmin, group_score_max=gmax, group_n=gn,
                         item_id=item_col[keep3], option=opt_col[keep3], is_key=key_col[keep3],
                         group=grp_col[keep3], n=by_group[keep3].astype(np.int64), proportion=prop[keep3])


def _moments(frequency: np.ndarray):
    """Mean, sample SD, g1 skew and g2 excess kurtosis of a score distribution given by its frequencies."""
    n = frequency.sum()
    s = np.arange(len(frequency), dtype=float)
    if n == 0:
        return (float("nan"),) * 4
    mean = float(frequency @ s / n)
    d = s - mean
    m2, m3, m4 = (float(frequency @ d ** e / n) for e in (2, 3, 4))
    sd = math.sqrt(m2 * n / (n - 1)) if n > 1 else float("nan")
    skew = m3 / m2 ** 1.5 if m2 > 0 else float("nan")
    kurt = m4 / m2 ** 2 - 3.0 if m2 > 0 else float("nan")
    return mean, sd, skew, kurt


def _median(frequency: np.ndarray) -> float:
    n = int(frequency.sum())
    if n == 0:
        return float("nan")
    cum = np.cumsum(frequency)
    lo = int(np.searchsorted(cum, (n - 1) // 2 + 1))  # score of the ((n−1)//2)-th sorted value (0-based)
    hi = int(np.searchsorted(cum, n // 2 + 1))
    return (lo + hi) / 2.0


def _test_statistics(total, frequency, k, alpha, ci_level, part_scores, split_defs, p, r_main) -> TestStatistics:
    n = int(frequency.sum())
    mean, sd, skew, kurt = _moments(frequency)
    present = np.flatnonzero(frequency)
    halves = []
    for col, (method, mask, seed) in enumerate(split_defs, start=1):
        h1 = part_scores[:, col].astype(np.float64)
        h2 = total - h1
        if n > 1 and 0 < mask.sum() < k:
            v1, v2, vt = h1.var(), h2.var(), total.var()
            r = float(correlation_from_moments(np.mean((h1 - h1.mean()) * (h2 - h2.mean())), v1, v2))
            guttman = 2.0 * (1.0 - (v1 + v2) / vt) if vt > 0 else float("nan")
        else:
            r, guttman = float("nan"), float("nan")
        halves.append(SplitHalf(method=method, n_items_first=int(mask.sum()), n_items_second=int(k - mask.sum()),
                                correlation=r, spearman_brown=spearman_brown(r), guttman=guttman, seed=seed))
    sem = sd * math.sqrt(1.0 - alpha) if np.isfinite(alpha) and alpha <= 1 and np.isfinite(sd) else float("nan")
    with np.errstate(invalid="ignore"):
        mean_p = float(np.nanmean(p)) if np.isfinite(p).any() else float("nan")
        mean_r = float(np.nanmean(r_main)) if np.isfinite(r_main).any() else float("nan")
    return TestStatistics(
        n_persons=n, n_items=k, mean=mean, sd=sd,
        minimum=float(present.min()) if n else float("nan"), maximum=float(present.max()) if n else float("nan"),
        median=_median(frequency), skew=skew, kurtosis=kurt, alpha=alpha,
        alpha_ci=feldt_interval(alpha, n, k, ci_level), ci_level=ci_level, sem=sem, mean_p=mean_p,
        mean_point_biserial=mean_r, split_halves=tuple(halves), frequency=frequency.astype(np.int64),
        csem=binomial_csem(k))


def _subscores(part_scores, area_names, n_splits, parts, var_items) -> SubscoreStatistics:
    first = 1 + n_splits
    sub = part_scores[:, first:].astype(np.float64)  # (n, n_areas)
    member = parts[:, first:].astype(bool)  # (k, n_areas)
    n = sub.shape[0]
    m = member.sum(axis=0)
    mean = sub.mean(axis=0) if n else np.full(len(area_names), np.nan)
    var = sub.var(axis=0) if n else np.full(len(area_names), np.nan)
    sd = np.sqrt(var * n / (n - 1)) if n > 1 else np.full(len(area_names), np.nan)
    alpha = np.array([coefficient_alpha(var_items[member[:, a]], var[a]) for a in range(len(area_names))])
    if n > 1:
        centred = sub - mean
        cov = centred.T @ centred / n
        corr = correlation_from_moments(cov, var[:, None], var[None, :])
    else:
        corr = np.full((len(area_names),) * 2, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        dis = corr / np.sqrt(alpha[:, None] * alpha[None, :])
    return SubscoreStatistics(areas=area_names, n_items=m, mean=mean, sd=sd, alpha=alpha, correlations=corr,
                              disattenuated=np.where(np.isfinite(dis), dis, np.nan))


# ------------------------------------------------------------------------------------------------------
# The whole job behind `certbank analyze`: analysis + flags, and the files it writes
# ------------------------------------------------------------------------------------------------------

OUTPUT_FILES = ("items.csv", "options.csv", "quantiles.csv", "test.json", "flags.csv")


@dataclass(frozen=True, eq=False)
class ClassicalReport:
    """A grouped analysis with its flags and the thresholds that raised them."""

    analysis: GroupedAnalysis
    flags: tuple
    thresholds: object
    item_versions: Mapping[str, int] | None = None

    def items_frame(self) -> pd.DataFrame:
        """items.csv: one row per group × item, with the flag codes and the winning suggested action."""
        from psychometrics.flags import item_summary

        frame = self.analysis.items_frame()
        if self.item_versions:
            frame.insert(2, "version", [self.item_versions.get(i) for i in frame["item_id"]])
        summaries = []
        for a in self.analysis.all:
            s = item_summary([f for f in self.flags if f.group == a.label], a.items.item_ids)
            s.insert(0, "group", a.label)
            summaries.append(s)
        summary = pd.concat(summaries, ignore_index=True)[["group", "item_id", "flags", "worst_severity",
                                                           "suggested_action"]]
        return frame.merge(summary, on=["group", "item_id"], how="left", sort=False)

    def flags_frame(self) -> pd.DataFrame:
        from psychometrics.flags import flags_frame

        return flags_frame(self.flags)

    def test_dict(self) -> dict:
        out = self.analysis.test_dict()
        out["corrected_correlations"] = self.analysis.combined.corrected
        out["omits_in_n"] = self.analysis.combined.omits_in_n
        out["not_reached_in_n"] = self.analysis.combined.not_reached_in_n
        out["pretest_items"] = [i for i, pre in zip(self.analysis.combined.items.item_ids,
                                                    self.analysis.combined.items.pretest) if pre]
        out["n_quantile_groups"] = self.analysis.combined.quantiles.n_groups
        out["flag_thresholds"] = self.thresholds.to_dict()
        return out

    def write(self, outdir) -> list[str]:
        """Write items.csv, options.csv, quantiles.csv, test.json and flags.csv atomically: everything goes to a
        temporary directory beside ``outdir`` first and is moved in only when all files are written.
        """
        import json
        import os
        import shutil
        import tempfile
        from pathlib import Path

        outdir = Path(outdir)
        outdir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result should look like any directory
        try:
            self.items_frame().to_csv(tmp / "items.csv", index=False)
            self.analysis.options_frame().to_csv(tmp / "options.csv", index=False)
            self.analysis.quantiles_frame().to_csv(tmp / "quantiles.csv", index=False)
            (tmp / "test.json").write_text(json.dumps(self.test_dict(), indent=2), encoding="utf-8")
            self.flags_frame().to_csv(tmp / "flags.csv", index=False)
            if not outdir.exists():
                os.replace(tmp, outdir)
            else:
                for name in OUTPUT_FILES:
                    os.replace(tmp / name, outdir / name)
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [str(outdir / name) for name in OUTPUT_FILES]

    def bank_statistics(self) -> list[tuple[str, pd.DataFrame]]:
        """(group label, frame) pairs for ``Bank.save_item_statistics``: item_id, version, n, p_value, ..."""
        out = []
        for a in self.analysis.all:
            frame = a.items.to_frame().drop(columns=["key"])
            frame["pretest"] = frame["pretest"].astype(int)
            if self.item_versions:
                frame.insert(1, "version", [self.item_versions.get(i) for i in frame["item_id"]])
            out.append((a.label, frame))
        return out


def analyze_responses(responses: ResponseMatrix, *, group_column: str | None = None,
                      quantiles: int = DEFAULT_QUANTILES, areas: Mapping[str, str] | None = None,
                      corrected: bool = True, thresholds=None, item_versions: Mapping[str, int] | None = None,
                      split_seed: int | None = DEFAULT_SPLIT_SEED, pretest: Sequence[str] = (),
                      omits_in_n: bool = True, not_reached_in_n: bool = False) -> ClassicalReport:
    """Analyse everyone and each group, flag the items, and keep the thresholds used (``certbank analyze``)."""
    from psychometrics.flags import DEFAULT_THRESHOLDS, ctt_flags, merge_flags

    thresholds = thresholds or DEFAULT_THRESHOLDS
    grouped = analyze_by_group(responses, group_column, quantiles=quantiles, areas=areas, corrected=corrected,
                               split_seed=split_seed, pretest=tuple(pretest), omits_in_n=omits_in_n,
                               not_reached_in_n=not_reached_in_n)
    flags = merge_flags(*(ctt_flags(a, thresholds) for a in grouped.all))
    return ClassicalReport(analysis=grouped, flags=tuple(flags), thresholds=thresholds,
                           item_versions=item_versions)
