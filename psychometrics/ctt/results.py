"""Result objects of a classical item analysis: small frozen dataclasses of arrays, each with ``to_frame()``.

Reports render these; nothing here computes a statistic. Item arrays are (n_items,); option and quantile
tables are long form (one entry per row of the table).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd


def _json_number(v):
    """A float for JSON, None for missing or non-finite values."""
    return None if v is None or not np.isfinite(v) else float(v)


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
        """One column per field, in field order."""
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})


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
            "score_min": self.group_score_min[g], "score_max": self.group_score_max[g],
            "group_n": self.group_n[g], "n": self.n,
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
        num = _json_number
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

    def to_frame(self) -> pd.DataFrame:
        """The item table (one row per item: p_value, point_biserial, …), like every result's ``to_frame``;
        ``options``, ``quantiles`` and ``test`` hold the rest."""
        return self.items.to_frame()


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
    clean = _json_number
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
