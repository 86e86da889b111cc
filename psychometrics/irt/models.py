"""The item response function, item and test information, and the test characteristic curve: one home each.

Parameters are in the IRT form a (slope), b (difficulty), c (lower asymptote) with scaling constant D:

    P_j(θ) = c_j + (1 − c_j) / (1 + exp(−D a_j (θ − b_j)))          (Lord 1980, eq. 2-1; Birnbaum 1968)

The slope–intercept form used inside estimation is z = a*θ + d with d = −D a b / ... see ``to_intercept``.
Information of the 3PL (Lord 1980, eq. 5-9; Baker & Kim 2004, eq. 6.x):

    I_j(θ) = D² a_j² · (Q_j / P_j) · ((P_j − c_j) / (1 − c_j))²

Shapes: ``theta`` is (n_theta,), item parameter arrays are (n_items,); results are (n_theta, n_items) for
item functions and (n_theta,) for test functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from certbank_core.errors import InputError

#: The scaling constant that makes the logistic close to the normal ogive (Haley 1952).
D_NORMAL_OGIVE = 1.702
#: The default scaling constant: parameters on the logistic metric (R mirt, girth, ltm convention).
D_LOGISTIC = 1.0


def _as_params(a, b, c, n_items: int | None = None):
    b = np.atleast_1d(np.asarray(b, dtype=float))
    a = np.broadcast_to(np.asarray(1.0 if a is None else a, dtype=float), b.shape)
    c = np.broadcast_to(np.asarray(0.0 if c is None else c, dtype=float), b.shape)
    return a, b, c


def probability(theta, a=None, b=0.0, c=None, D: float = D_LOGISTIC) -> np.ndarray:
    """P(correct | θ) for the 1PL/2PL/3PL (Lord 1980, eq. 2-1).

    theta: (n_theta,); a, b, c: (n_items,) or scalars (a defaults to 1, c to 0).
    Returns (n_theta, n_items).
    """
    a, b, c = _as_params(a, b, c)
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    z = D * a[None, :] * (theta[:, None] - b[None, :])
    return c + (1.0 - c) / (1.0 + np.exp(-z))


def item_information(theta, a=None, b=0.0, c=None, D: float = D_LOGISTIC) -> np.ndarray:
    """Fisher information of each item at θ (Lord 1980, eq. 5-9). Returns (n_theta, n_items)."""
    a, b, c = _as_params(a, b, c)
    p = probability(theta, a, b, c, D)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        info = (D * a) ** 2 * (q / p) * ((p - c) / (1.0 - c)) ** 2
    return np.nan_to_num(info, nan=0.0)


def test_information(theta, a=None, b=0.0, c=None, D: float = D_LOGISTIC) -> np.ndarray:
    """Test information: the sum of item informations (Lord 1980, eq. 5-6). Returns (n_theta,)."""
    return item_information(theta, a, b, c, D).sum(axis=1)


def test_characteristic_curve(theta, a=None, b=0.0, c=None, D: float = D_LOGISTIC) -> np.ndarray:
    """Expected number-correct (true) score at θ: Σ_j P_j(θ) (Lord 1980, eq. 4-5). Returns (n_theta,)."""
    return probability(theta, a, b, c, D).sum(axis=1)


def conditional_sem(theta, a=None, b=0.0, c=None, D: float = D_LOGISTIC) -> np.ndarray:
    """CSEM of θ: 1 / sqrt(test information) (Lord 1980, eq. 5-7). Returns (n_theta,)."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.sqrt(test_information(theta, a, b, c, D))


def to_intercept(a, b, D: float = D_LOGISTIC):
    """IRT form (a, b) to slope–intercept form (α, d) with z = α θ + d: α = D a, d = −D a b."""
    a = np.asarray(a, dtype=float)
    return D * a, -D * a * np.asarray(b, dtype=float)


def from_intercept(alpha, d, D: float = D_LOGISTIC):
    """Slope–intercept (α, d) back to IRT form: a = α / D, b = −d / α."""
    alpha = np.asarray(alpha, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return alpha / D, -np.asarray(d, dtype=float) / alpha


# ---- item parameters: the one container of a, b, c, D ------------------------------------------------------


@dataclass(frozen=True)
class ItemParameters:
    """IRT parameters of one form's scored items. Arrays are (n_items,); ``c`` is 0 for 1PL/2PL."""

    item_ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    D: float = D_LOGISTIC

    @classmethod
    def from_arrays(cls, a=None, b=None, c=None, D: float = D_LOGISTIC, item_ids=None) -> "ItemParameters":
        b = np.atleast_1d(np.asarray(b, dtype=float))
        a = np.broadcast_to(np.asarray(1.0 if a is None else a, dtype=float), b.shape).copy()
        c = np.broadcast_to(np.asarray(0.0 if c is None else c, dtype=float), b.shape).copy()
        c = np.nan_to_num(c, nan=0.0)
        ids = tuple(item_ids) if item_ids is not None else tuple(f"item{j + 1}" for j in range(b.size))
        return cls(ids, a, b, c, float(D))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, item_ids=None, source: str = "item parameters") -> "ItemParameters":
        """From a frame with columns item_id, a, b, c (optional), D (optional), e.g. bank.item_parameters().

        ``item_ids`` (optional) selects and orders the items; every missing item is reported at once.
        """
        frame = frame.copy()
        problems = []
        for col in ("item_id", "b"):
            if col not in frame.columns:
                problems.append(f"{source}: column '{col}' is missing")
        if problems:
            raise InputError(problems)
        frame["item_id"] = frame["item_id"].astype(str)
        frame = frame.drop_duplicates("item_id", keep="last").set_index("item_id")
        if item_ids is not None:
            missing = [i for i in item_ids if i not in frame.index or pd.isna(frame.loc[i, "b"])]
            if missing:
                raise InputError([f"{source}: item {i} has no IRT parameters" for i in missing])
            frame = frame.loc[list(item_ids)]
        a = frame["a"].astype(float).fillna(1.0).to_numpy() if "a" in frame else None
        c = frame["c"].astype(float).fillna(0.0).to_numpy() if "c" in frame else None
        D = float(frame["D"].iloc[0]) if "D" in frame and frame["D"].notna().any() else D_LOGISTIC
        return cls.from_arrays(a, frame["b"].astype(float).to_numpy(), c, D, tuple(frame.index))

    @property
    def n_items(self) -> int:
        return int(self.b.size)

    def tcc(self, theta) -> np.ndarray:
        """Expected number-correct score at θ; theta (n_theta,) → (n_theta,)."""
        return test_characteristic_curve(theta, self.a, self.b, self.c, self.D)

    def p(self, theta) -> np.ndarray:
        """P(correct) at θ: (n_theta, n_items)."""
        return probability(theta, self.a, self.b, self.c, self.D)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"item_id": list(self.item_ids), "a": self.a, "b": self.b, "c": self.c, "D": self.D})
