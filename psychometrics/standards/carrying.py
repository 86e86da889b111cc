"""One standard carried to every form: the θ cut's raw cut and conversion table on each form, with the impact
and decision quality on the reference form's candidates.

The standard lives on the bank's θ scale (ISO/IEC 17024 §9.3.1: every form comparable, including the pass/fail
decision). Each form's raw cut is the smallest raw score whose true score reaches the θ cut
(``irt_equating.raw_cut_from_theta``; Kolen & Brennan 2014, §6.4); its conversion table maps raw → θ → scaled
(``scaling.conversion_table``). Impact follows ``standard_setting.impact`` (pass rates at the cut and ±1, ±2 SE),
decision quality ``decision.decision_summary``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from psychometrics.irt.equating import ItemParameters
from psychometrics.standards import decision
from psychometrics.standards.scaling import ScaleDefinition, conversion_table
from psychometrics.standards.setting import impact


@dataclass(frozen=True)
class StandardAcrossForms:
    """raw_cuts: form → raw cut; conversions: form → (raw, theta, scaled, passed) table; impact and decision
    are frames on the reference form's candidates (empty without scores)."""

    theta_cut: float
    rule: str
    reference_form: str
    raw_cuts: Mapping[str, int]
    conversions: Mapping[str, pd.DataFrame]
    impact: pd.DataFrame = field(default_factory=pd.DataFrame)
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)

    def form_cuts_frame(self) -> pd.DataFrame:
        """One row per form: form_id, n_items, raw_cut, percent, theta_cut."""
        return pd.DataFrame({
            "form_id": list(self.raw_cuts),
            "n_items": [len(t) - 1 for t in self.conversions.values()],
            "raw_cut": list(self.raw_cuts.values()),
            "percent_correct": [100.0 * c / (len(t) - 1) for c, t in zip(self.raw_cuts.values(),
                                                                        self.conversions.values())],
            "theta_cut": self.theta_cut,
        })


def carry_standard(theta_cut: float, params_by_form: Mapping[str, ItemParameters], *,
                   reference_form: str | None = None, scores=None, groups=None, cut_se: float = 0.0,
                   reliability: float | None = None, scale: ScaleDefinition | None = None,
                   rule: str = "at_least") -> StandardAcrossForms:
    """Apply one θ cut to every form in ``params_by_form``.

    scores: (n_persons,) raw scores of candidates who took ``reference_form`` (default: the first form);
    groups: (n_persons,) labels for impact by group; cut_se: the standard error of the cut in raw points
    (e.g. the Angoff SE) for the ±1, ±2 SE rows of the impact table; reliability: of the reference form
    (default KR-21 inside ``decision_summary``).
    """
    if not params_by_form:
        raise InputError("carry the standard to at least one form")
    reference_form = reference_form or next(iter(params_by_form))
    if reference_form not in params_by_form:
        raise InputError(f"the reference form {reference_form} is not among the forms given")
    conversions = {f: conversion_table(p, theta_cut, scale, rule) for f, p in params_by_form.items()}
    raw_cuts = {f: int(t.attrs["raw_cut"]) for f, t in conversions.items()}
    imp = dq = pd.DataFrame()
    if scores is not None:
        s = np.asarray(scores, dtype=float)
        ref = params_by_form[reference_form]
        if np.nanmax(s) > ref.n_items or np.nanmin(s) < 0:
            raise InputError(f"raw scores must lie between 0 and {ref.n_items} (the items of {reference_form})")
        imp = impact(s, raw_cuts[reference_form], cut_se, groups)
        dq = decision.decision_summary(s, ref.n_items, raw_cuts[reference_form], reliability=reliability,
                                       params=ref, theta_cut=theta_cut)
    return StandardAcrossForms(float(theta_cut), rule, reference_form, raw_cuts, conversions, imp, dq)
