"""Everything run on one administration beyond the classical analysis: IRT calibration with item fit, and DIF
between language groups when both languages took the form. One call, so that `certbank analyze --report`,
the demo and Python users run the same steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from certbank_core.errors import CertbankError
from psychometrics.responses import ResponseMatrix

#: DIF needs both groups; below these sizes Mantel–Haenszel is too unstable to report (Zwick 2012 suggests
#: at least 100–200 in the smaller group).
MIN_DIF_GROUP = 100


@dataclass(frozen=True)
class AdministrationAnalysis:
    """IRT calibration and fit (None when not requested or not estimable) and DIF (None without two
    groups), with plain-language notes on what was skipped and why."""

    calibration: object | None
    fit: object | None
    dif: object | None
    notes: tuple[str, ...] = ()


def analyze_administration(matrix: ResponseMatrix, *, irt_model: str | None = None,
                           dif_column: str = "language", focal: str = "es", reference: str = "en",
                           purify: bool = False, adjust: str | None = None,
                           pretest=()) -> AdministrationAnalysis:
    """Calibrate ``irt_model`` (rasch, 1pl, 2pl, 3pl; None to skip) with item fit, and run DIF of ``focal``
    against ``reference`` on ``dif_column`` when the file has that column and both groups are large enough.
    ``pretest``: item ids that do not count in the score; DIF leaves them out of the matching score."""
    from psychometrics import dif as dif_analysis

    notes: list[str] = []
    calibration = fit = dif = None
    if irt_model:
        from psychometrics.irt.estimation import calibrate
        from psychometrics.irt.fit import item_fit

        try:
            calibration = calibrate(matrix.scored, model=irt_model, item_ids=matrix.item_ids)
            fit = item_fit(matrix.scored, calibration)
            notes.extend(fit.warnings)
        except CertbankError as err:
            notes.append(f"IRT calibration ({irt_model}) was not possible: {err}")
    columns = {str(c).lower(): c for c in matrix.groups.columns}
    if dif_column.lower() in columns:
        labels = matrix.groups[columns[dif_column.lower()]].astype(str).str.strip().to_numpy()
        n_focal, n_ref = int(np.sum(labels == focal)), int(np.sum(labels == reference))
        if min(n_focal, n_ref) >= MIN_DIF_GROUP:
            dif = dif_analysis.analyze_responses(matrix, group=columns[dif_column.lower()], focal=focal,
                                                 reference=reference, purify=purify, adjust=adjust,
                                                 pretest=pretest)
        else:
            notes.append(f"DIF was not run: {n_ref} {reference} and {n_focal} {focal} candidates "
                         f"(each group needs at least {MIN_DIF_GROUP}).")
    else:
        notes.append(f"DIF was not run: the file has no '{dif_column}' column.")
    return AdministrationAnalysis(calibration, fit, dif, tuple(notes))
