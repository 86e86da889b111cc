"""Differential item functioning between two groups (English and Spanish takers by default).

* ``mantel_haenszel`` — Mantel–Haenszel χ², α_MH, Δ_MH with its SE, the ETS A/B/C rule, STD P-DIF
  (Holland & Thayer 1988; Dorans & Holland 1993; Dorans & Kulick 1986);
* ``logistic`` — logistic-regression DIF, uniform and nonuniform, with Nagelkerke ΔR² classes
  (Swaminathan & Rogers 1990; Zumbo & Thomas 1997; Jodoin & Gierl 2001);
* ``analysis`` — the whole analysis (purification, p-value adjustment) and ``DifResult``.
"""
from __future__ import annotations

from psychometrics.dif.analysis import *  # noqa: F401,F403  (the names in analysis.__all__)
from psychometrics.dif.analysis import __all__  # noqa: F401
