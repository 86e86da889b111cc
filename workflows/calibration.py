"""The IRT jobs behind the CLI: calibrate a response matrix (with fit and flags) and score one.

Each job is one library call returning a result that knows how to write itself, so ``cli.py`` only parses
options. Files are written atomically (temporary file, then ``os.replace``), all or nothing.

The file-level jobs (``calibrate_file``, ``score_file``) take ``bank``: an open ``itembank.store.Bank`` (or
anything with its ``form_key``, ``form_options``, ``get_form``, ``item_parameters``, ``transaction`` and
``save_item_parameters`` methods), used only when an option names something in the bank; else None.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.flags import Flag, flags_frame
from psychometrics.irt import fit as irt_fit
from psychometrics.irt.estimation import Calibration, calibrate
from psychometrics.irt.quadrature import make_quadrature
from workflows.outputs import write_atomically
from workflows.responses import scored_matrix

ENGINES = ("certbank", "girth")
PARAM_COLUMNS = ("item_id", "a", "b", "c")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("certbank")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


@dataclass(frozen=True)
class CalibrationReport:
    """A calibration with its item fit and IRT flags."""

    calibration: Calibration
    fit: irt_fit.ItemFit | None
    flags: tuple[Flag, ...] = field(default=())

    def params_frame(self) -> pd.DataFrame:
        """params.csv: item_id, a, b, c, se_a, se_b, se_c, n, fixed, D, then fit columns."""
        frame = self.calibration.to_frame()
        frame["D"] = self.calibration.D
        if self.fit is not None:
            extra = self.fit.to_frame().drop(columns=["item_id"])
            frame = pd.concat([frame, extra.set_index(frame.index)], axis=1)
        return frame

    def summary(self) -> dict:
        out = self.calibration.summary()
        out["version"] = _version()
        out["n_flags"] = len(self.flags)
        if self.fit is not None and self.fit.warnings:
            out["warnings"] = list(out.get("warnings", [])) + list(self.fit.warnings)
        return out

    @staticmethod
    def output_paths(params_path) -> list[Path]:
        """The files ``write`` makes: params.csv, then calibration.json and irt_flags.csv beside it."""
        params_path = Path(params_path)
        return [params_path, params_path.parent / "calibration.json", params_path.parent / "irt_flags.csv"]

    def write(self, params_path) -> list[Path]:
        """Write params.csv, calibration.json and irt_flags.csv beside it. Returns the paths written."""
        params, calibration, flags = self.output_paths(params_path)
        params.parent.mkdir(parents=True, exist_ok=True)
        targets = [
            (params, self.params_frame().to_csv(index=False)),
            (calibration, json.dumps(self.summary(), indent=2, default=_json_default) + "\n"),
            (flags, flags_frame(list(self.flags)).to_csv(index=False)),
        ]
        return write_atomically(targets)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def calibrate_responses(scored, item_ids, model: str = "2pl", *, D: float = 1.0, engine: str = "certbank",
                        anchors: Mapping[str, tuple[float, float, float]] | None = None,
                        n_nodes: int = 61, quadrature_method: str = "equal", with_fit: bool = True
                        ) -> CalibrationReport:
    """Calibrate scored responses (n_persons, n_items) and add item fit and IRT flags."""
    engine = engine.lower()
    if engine not in ENGINES:
        raise InputError(Problem(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}"))
    quad = make_quadrature(n_nodes, quadrature_method)
    if engine == "girth":
        if anchors:
            raise InputError(Problem("the girth engine cannot hold anchor items fixed; use the certbank engine"))
        if D != 1.0:
            raise InputError(Problem("the girth engine reports parameters with D = 1 only"))
        from psychometrics.irt.girth_adapter import calibrate_girth
        cal = calibrate_girth(scored, model, item_ids=item_ids, n_nodes=n_nodes)
    else:
        cal = calibrate(scored, model, item_ids=item_ids, D=D, quadrature=quad, anchors=anchors)
    item_fit = irt_fit.item_fit(scored, cal) if with_fit else None
    flags = tuple(irt_fit.irt_flags(cal, item_fit))
    return CalibrationReport(cal, item_fit, flags)


def anchors_from_bank(bank_params: pd.DataFrame, item_ids, D: float) -> dict[str, tuple[float, float, float]]:
    """Anchors {item_id: (a, b, c)} on scaling constant ``D`` from ``Bank.item_parameters`` rows."""
    anchors = {}
    wanted = set(item_ids)
    for row in bank_params.itertuples(index=False):
        if row.item_id in wanted and np.isfinite(row.a) and np.isfinite(row.b):
            c = float(row.c) if np.isfinite(row.c) else 0.0
            d_bank = float(row.D) if np.isfinite(row.D) else 1.0
            anchors[row.item_id] = (float(row.a) * d_bank / D, float(row.b), c)
    return anchors


@dataclass(frozen=True)
class CalibrationRun:
    """A calibration of one response file: ``report`` and, for a bank form, the item versions to save against."""

    report: CalibrationReport
    versions: Mapping[str, int] | None = None
    default_label: str = ""

    @property
    def warnings(self) -> tuple[str, ...]:
        fit_warnings = self.report.fit.warnings if self.report.fit is not None else ()
        return tuple(self.report.calibration.warnings) + tuple(fit_warnings)

    def write(self, params_path, bank=None, label: str | None = None) -> list[Path]:
        """Write params.csv, calibration.json, irt_flags.csv; with ``bank`` also store the estimated (not
        anchored) parameters under ``label``, in one bank transaction around the file writes."""
        if bank is None:
            return self.report.write(params_path)
        cal = self.report.calibration
        frame = cal.to_frame()
        frame = frame[~frame["fixed"]].drop(columns=["fixed", "n"])
        if self.versions:
            frame["version"] = frame["item_id"].map(self.versions)
        with bank.transaction():
            bank.save_item_parameters(frame, cal.model, cal.D, label or self.default_label)
            return self.report.write(params_path)

    def message(self, params_path) -> str:
        cal = self.report.calibration
        status = "converged" if cal.converged else ("convergence not reported" if cal.converged is None
                                                      else "DID NOT CONVERGE")
        anchored = f", {int(cal.fixed.sum())} anchors held fixed" if cal.fixed.any() else ""
        written = CalibrationReport.output_paths(params_path)
        return (f"{cal.model} ({cal.engine}, D = {cal.D:g}): {cal.n_persons} candidates, {len(cal.item_ids)} items"
                f"{anchored}; log-likelihood {cal.log_likelihood:.2f}, "
                f"{f'{cal.iterations} EM cycles, ' if cal.converged is not None else ''}{status}, "
                f"{cal.seconds:.2f} s; {len({f.item_id for f in self.report.flags})} items flagged. "
                f"Wrote {', '.join(str(p) for p in written)}.")


def calibrate_file(bank, responses, *, form_id: str | None = None, key_file=None, model: str = "2pl",
                   D: float = 1.0, engine: str = "certbank", n_nodes: int = 61, quadrature_method: str = "equal",
                   anchor_from_bank: bool = False) -> CalibrationRun:
    """Calibrate a response file (scored by a bank form's key, a key file, or 0/1 data) with fit and flags.
    ``anchor_from_bank`` holds the items that have bank parameters fixed (the rest land on the bank scale)."""
    matrix, versions = scored_matrix(bank, responses, form_id, key_file)
    anchors = None
    if anchor_from_bank:
        if bank is None:
            raise InputError("--anchor-from-bank needs the item bank, and none was given.")
        anchors = anchors_from_bank(bank.item_parameters(matrix.item_ids), matrix.item_ids, D)
        if not anchors:
            raise InputError("--anchor-from-bank: none of the items in the file has parameters in the bank.")
    report = calibrate_responses(matrix.scored, matrix.item_ids, model.lower(), D=D, engine=engine.lower(),
                                 anchors=anchors, n_nodes=n_nodes, quadrature_method=quadrature_method)
    return CalibrationRun(report, versions, f"{report.calibration.model} {Path(responses).name}")


