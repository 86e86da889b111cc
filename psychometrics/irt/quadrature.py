"""Quadrature grids for integrating over the latent trait θ.

Default (the R mirt convention for one dimension): 61 equally spaced nodes on [-6, 6] with weights
proportional to the normal density at the nodes (a rectangular rule, Bock & Aitkin 1981, section 3).
Gauss–Hermite nodes are selectable (Abramowitz & Stegun 1972, 25.4.46, rescaled to the standard normal:
x_k = √2 t_k, w_k = ω_k / √π).

Nodes are on the θ scale itself. For a latent N(μ, σ²) (an estimated latent mean and SD in Rasch or
fixed-anchor calibration, a prior in scoring) ``grid_for`` gives the rule: the rectangular grid keeps its
nodes and reweights them, w_k(μ, σ) ∝ φ((x_k − μ)/σ) (R mirt's convention); Gauss–Hermite rescales its nodes,
θ_k = μ + σ x_k with the weights unchanged, which is the Gauss–Hermite rule for N(μ, σ²) itself (Abramowitz &
Stegun 1972, 25.4.46 after the change of variable; ltm and BILOG do the same). ``weights_for`` is the
reweighting alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_N_NODES = 61
DEFAULT_BOUND = 6.0
METHODS = ("equal", "gauss-hermite")


@dataclass(frozen=True)
class Quadrature:
    """A fixed set of nodes (n_nodes,) and standard-normal weights (n_nodes,) summing to 1."""

    nodes: np.ndarray
    weights: np.ndarray
    method: str

    @property
    def n_nodes(self) -> int:
        return int(self.nodes.size)

    def log_weights_for(self, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        """log of ``weights_for``, computed in the log domain (no −inf when a narrow prior underflows)."""
        z = (self.nodes - mean) / sd
        log_w = -0.5 * z * z
        if self.method != "equal":
            log_w = log_w + np.log(self.weights) + 0.5 * self.nodes * self.nodes - np.log(sd)
        top = log_w.max()
        return log_w - (top + np.log(np.exp(log_w - top).sum()))

    def weights_for(self, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        """Weights of N(mean, sd²) on these nodes, summing to 1. Returns (n_nodes,)."""
        return np.exp(self.log_weights_for(mean, sd))

    def grid_for(self, mean: float = 0.0, sd: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(nodes, weights) of this rule for N(mean, sd²), each (n_nodes,): reweighted rectangular nodes, or
        Gauss–Hermite nodes rescaled to mean + sd·x_k with the standard weights."""
        if self.method == "equal":
            return self.nodes, self.weights_for(mean, sd)
        return mean + sd * self.nodes, self.weights

    def log_grid_for(self, mean: float = 0.0, sd: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """``grid_for`` with the log of the weights."""
        if self.method == "equal":
            return self.nodes, self.log_weights_for(mean, sd)
        return mean + sd * self.nodes, np.log(self.weights)

    @property
    def rescales(self) -> bool:
        """True when a latent N(μ, σ²) moves the nodes (Gauss–Hermite) rather than the weights."""
        return self.method != "equal"

    def describe(self) -> dict:
        return {"method": self.method, "n_nodes": self.n_nodes,
                "min": float(self.nodes.min()), "max": float(self.nodes.max())}


def make_quadrature(n_nodes: int = DEFAULT_N_NODES, method: str = "equal", bound: float = DEFAULT_BOUND) -> Quadrature:
    """Build a quadrature grid.

    ``method="equal"``: ``n_nodes`` equally spaced points on [−bound, bound], weights ∝ φ(x).
    ``method="gauss-hermite"``: Gauss–Hermite rule for the standard normal (``bound`` ignored).
    """
    if n_nodes < 5:
        raise ValueError("a quadrature grid needs at least 5 nodes")
    if method == "equal":
        nodes = np.linspace(-bound, bound, n_nodes)
        w = np.exp(-0.5 * nodes * nodes)
    elif method in ("gauss-hermite", "gh", "hermite"):
        t, omega = np.polynomial.hermite.hermgauss(n_nodes)
        nodes, w = np.sqrt(2.0) * t, omega / np.sqrt(np.pi)
        method = "gauss-hermite"
    else:
        raise ValueError(f"unknown quadrature method {method!r}; use one of {METHODS}")
    return Quadrature(nodes=nodes, weights=w / w.sum(), method=method)
