"""`certbank calibrate`: calibrate a response file (with fit and flags), onto the bank scale when it can be.

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
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import EstimationError, InputError, Problem
from itembank.model import BANK_SCALE
from psychometrics.flags import Flag, flags_frame
from psychometrics.irt import fit as irt_fit
from psychometrics.irt.estimation import DEFAULT_GUESSING_PRIOR, Calibration, calibrate
from psychometrics.irt.model_fit import overall_fit_summary
from psychometrics.irt.quadrature import make_quadrature
from psychometrics.responses import ResponseMatrix
from workflows.administrations import attach
from workflows.outputs import write_atomically
from workflows.responses import scored_matrix

if TYPE_CHECKING:  # the bank-scale module pulls in scipy.optimize (about 0.4 s): imported when linking runs
    from psychometrics.irt.bank_scale import BankScaleCalibration

#: ``psychometrics.irt.bank_scale.METHODS`` and ``MIN_COMMON_ITEMS``, repeated here so that reading a file
#: does not import the linking code (tests/workflows check they agree).
BANK_SCALE_METHODS = ("stocking-lord", "fixed-anchor")
MIN_COMMON_ITEMS = 5

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
    bank_scale: BankScaleCalibration | None = None
    notes: tuple[str, ...] = ()
    overall_fit: dict = field(default_factory=dict)   # M2, RMSEA2, SRMSR, empirical reliabilities

    def params_frame(self) -> pd.DataFrame:
        """params.csv: item_id, a, b, c, se_a, se_b, se_c, n, fixed, D, then fit columns; on the bank scale
        (with each item's role: anchor, released, new) when the calibration was linked to it."""
        frame = self.calibration.to_frame()
        if self.bank_scale is not None:
            linked = self.bank_scale.to_frame().set_index("item_id").loc[frame["item_id"]]
            for col in ("a", "b", "c", "se_a", "se_b", "se_c"):
                frame[col] = linked[col].to_numpy()
            frame.insert(1, "role", linked["role"].to_numpy())
        frame["D"] = self.calibration.D
        if self.fit is not None:
            extra = self.fit.to_frame().drop(columns=["item_id"])
            frame = pd.concat([frame, extra.set_index(frame.index)], axis=1)
        return frame

    def summary(self) -> dict:
        out = self.calibration.summary()
        out["version"] = _version()
        out["n_flags"] = len(self.flags)
        out.update(self.overall_fit)
        if self.bank_scale is not None:
            bs = self.bank_scale
            out["bank_scale"] = {"method": bs.method, "A": bs.A, "B": bs.B, "latent_mean": bs.latent_mean,
                                 "latent_sd": bs.latent_sd, "anchors_used": list(bs.anchors_used),
                                 "anchors_released": list(bs.anchors_released), "summary": bs.summary()}
            out["latent_mean"], out["latent_sd"] = bs.latent_mean, bs.latent_sd
        if self.notes:
            out["warnings"] = list(out.get("warnings", [])) + list(self.notes)
        if self.fit is not None and self.fit.warnings:
            out["warnings"] = list(out.get("warnings", [])) + list(self.fit.warnings)
        return out

    @staticmethod
    def output_paths(params_path) -> list[Path]:
        """The files ``write`` makes: params.csv, then calibration.json and irt_flags.csv beside it."""
        params_path = Path(params_path)
        return [params_path, params_path.parent / "calibration.json", params_path.parent / "irt_flags.csv"]

    def write(self, params_path, extra=()) -> list[Path]:
        """Write params.csv, calibration.json and irt_flags.csv beside it (and ``extra`` (path, text) pairs),
        all or nothing. Returns the paths written."""
        params, calibration, flags = self.output_paths(params_path)
        params.parent.mkdir(parents=True, exist_ok=True)
        targets = [
            (params, self.params_frame().to_csv(index=False)),
            (calibration, json.dumps(self.summary(), indent=2, default=_json_default) + "\n"),
            (flags, flags_frame(list(self.flags)).to_csv(index=False)),
            *extra,
        ]
        return write_atomically(targets)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def calibrate_responses(scored, item_ids, model: str = "2pl", *, D: float = 1.0, engine: str = "certbank",
                        anchors: Mapping[str, tuple[float, float, float]] | None = None,
                        n_nodes: int = 61, quadrature_method: str = "equal", with_fit: bool = True,
                        guessing_prior=DEFAULT_GUESSING_PRIOR, slope_prior=None,
                        min_persons: int | None = None, estimation: str = "mml") -> CalibrationReport:
    """Calibrate scored responses (n_persons, n_items) and add item fit and IRT flags. The priors go to
    ``psychometrics.irt.estimation.calibrate`` (certbank engine); ``estimation="cml"`` takes the Rasch
    difficulties by conditional ML (``rasch_cml.calibrate_rasch_cml``)."""
    engine = engine.lower()
    if engine not in ENGINES:
        raise InputError(Problem(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}"))
    quad = make_quadrature(n_nodes, quadrature_method)
    if check_estimation(estimation, model, engine, anchors=bool(anchors)) == "cml":
        from psychometrics.irt.rasch_cml import calibrate_rasch_cml
        cal = calibrate_rasch_cml(scored, item_ids=item_ids, D=D, quadrature=quad, min_persons=min_persons)
    elif engine == "girth":
        if anchors:
            raise InputError(Problem("the girth engine cannot hold anchor items fixed; use the certbank engine"))
        if D != 1.0:
            raise InputError(Problem("the girth engine reports parameters with D = 1 only"))
        from psychometrics.irt.girth_adapter import calibrate_girth
        cal = calibrate_girth(scored, model, item_ids=item_ids, n_nodes=n_nodes)
    else:
        cal = calibrate(scored, model, item_ids=item_ids, D=D, quadrature=quad, anchors=anchors,
                        guessing_prior=guessing_prior, slope_prior=slope_prior, min_persons=min_persons)
    item_fit = irt_fit.item_fit(scored, cal) if with_fit else None
    flags = tuple(irt_fit.irt_flags(cal, item_fit))
    overall = overall_fit_summary(scored, cal) if with_fit else {}
    return CalibrationReport(cal, item_fit, flags, overall_fit=overall)


ESTIMATIONS = ("mml", "cml")


def check_estimation(estimation: str, model: str, engine: str = "certbank", *, anchors: bool = False) -> str:
    """The estimation method in lower case, or one sentence on why it cannot run here."""
    estimation = str(estimation).lower()
    if estimation not in ESTIMATIONS:
        raise InputError(f"Unknown --estimation {estimation!r}; choose mml or cml.")
    if estimation == "cml":
        if str(model).lower() != "rasch":
            raise InputError(f"Conditional maximum likelihood estimates the Rasch model only; use --model rasch "
                             f"or --estimation mml for the {model}.")
        if engine != "certbank":
            raise InputError("--estimation cml runs on the certbank engine (drop --engine girth).")
        if anchors:
            raise InputError("--estimation cml frees every difficulty (Σ b = 0); holding anchors at bank values "
                             "needs --estimation mml.")
    return estimation


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


#: How a calibration relates to the bank scale (``CalibrationRun.scale``).
#: linked — carried onto the bank scale through its anchors; defines — the bank has no parameters yet, so
#: saving it defines the bank scale; own — the bank has a scale but this form shares too few calibrated items
#: to be linked to it (its parameters are on this administration's own scale); none — no bank consulted.
SCALE_PLANS = ("linked", "defines", "own", "none")


@dataclass(frozen=True)
class CalibrationRun:
    """A calibration of one response file: ``report``; for a bank form the item versions to save against;
    ``scale`` (one of ``SCALE_PLANS``) and, when linked, ``bank_scale`` — the calibration carried onto the
    bank scale with its drift screening."""

    report: CalibrationReport
    versions: Mapping[str, int] | None = None
    default_label: str = ""
    scale: str = "none"
    bank_scale: BankScaleCalibration | None = None
    form_id: str | None = None
    matrix: ResponseMatrix | None = field(default=None, repr=False)
    responses: Path | None = None
    n_common: int = 0

    @property
    def warnings(self) -> tuple[str, ...]:
        fit_warnings = self.report.fit.warnings if self.report.fit is not None else ()
        return tuple(self.report.calibration.warnings) + tuple(fit_warnings)

    def scale_sentence(self) -> str:
        """Where these parameters stand, in one sentence."""
        if self.scale == "linked" and self.bank_scale is not None:
            return "On the bank scale: " + self.bank_scale.summary()
        if self.scale == "linked":
            held = int(self.report.calibration.fixed.sum())
            return (f"On the bank scale through {held} anchors held at their bank values; "
                    + " ".join(self.report.notes))
        if self.scale == "defines":
            return ("The bank holds no IRT parameters yet: saving this calibration defines the bank scale "
                    "(this administration's candidates have mean 0, SD 1 on it).")
        if self.scale == "own":
            return (f"On this administration's own scale, not the bank's: form {self.form_id} shares "
                    f"{self.n_common} items with bank-scale parameters (linking needs at least {MIN_COMMON_ITEMS}).")
        return ""

    def write(self, params_path, bank=None, label: str | None = None, *, administration_id: str | None = None,
              new_scale: bool = False) -> list[Path]:
        """Write params.csv, calibration.json, irt_flags.csv (and anchors.csv when linked); with ``bank`` also
        store the estimated parameters as one parameter set, in one bank transaction around the file writes.

        Anchors kept at their bank values are not stored again (their current parameters stay the bank's);
        new items and anchors released for drift are. A calibration not on the bank scale is refused when the
        bank has one, unless ``new_scale`` (this form then starts a new bank scale)."""
        if bank is None:
            return self._write_files(params_path)
        frame = self.report.params_frame()
        frame = frame[~frame["fixed"].astype(bool)]
        if self.bank_scale is not None:
            frame = frame[frame["role"] != "anchor"]
        frame = frame[["item_id", "a", "b", "c", "se_a", "se_b", "se_c"]].copy()
        if self.versions:
            frame["version"] = frame["item_id"].map(self.versions)
        cal = self.report.calibration
        with bank.transaction():
            if self.responses is not None and self.form_id and self.matrix is not None:
                administration_id = attach(bank, self.responses, self.form_id, self.matrix,
                                           administration_id).administration_id
            method, linking, anchors = self._provenance(bank, new_scale)
            bank.save_parameter_set(frame, model=cal.model, D=cal.D, method=method, scale=BANK_SCALE,
                                    administration_id=administration_id, form_id=self.form_id, linking=linking,
                                    anchors=anchors, label=label or self.default_label, new_scale=new_scale)
            return self._write_files(params_path)

    def _provenance(self, bank, new_scale: bool) -> tuple[str, dict | None, dict | None]:
        """(method, linking constants, anchors record) of the parameter set this run saves."""
        if self.bank_scale is not None and not new_scale:
            bs = self.bank_scale
            released = bs.anchors_frame()
            released = released[released["released"]] if "released" in released else released.iloc[0:0]
            anchors = {"used": list(bs.anchors_used), "released": json.loads(released.to_json(orient="records")),
                       "method": bs.method, "latent_mean": bs.latent_mean, "latent_sd": bs.latent_sd}
            linking = {"A": float(bs.A), "B": float(bs.B)} if bs.method == "stocking-lord" else None
            return bs.method, linking, anchors
        if self.report.calibration.fixed.any() and not new_scale:
            held = [i for i, f in zip(self.report.calibration.item_ids, self.report.calibration.fixed) if f]
            return "fixed-anchor", None, {"used": held, "released": [], "method": "fixed-anchor"}
        if bank.bank_scale_defined() and not new_scale:
            n = self.n_common
            raise InputError(
                f"These parameters are on this administration's own scale: the form shares {n} item"
                f"{'' if n == 1 else 's'} with bank-scale parameters, and linking needs at least "
                f"{MIN_COMMON_ITEMS}. Saving them would put two scales in one bank. Give --new-scale to start "
                "a new bank scale from this form, or calibrate a form that shares anchor items with the bank.")
        return "free", None, None

    def _write_files(self, params_path) -> list[Path]:
        if self.bank_scale is None:
            return self.report.write(params_path)
        anchors_path = Path(params_path).parent / "anchors.csv"
        return self.report.write(params_path, extra=[(anchors_path, self.bank_scale.anchors_frame().to_csv(
            index=False))])

    def output_paths(self, params_path) -> list[Path]:
        paths = CalibrationReport.output_paths(params_path)
        return paths + ([Path(params_path).parent / "anchors.csv"] if self.bank_scale is not None else [])

    def message(self, params_path) -> str:
        cal = self.report.calibration
        status = "converged" if cal.converged else ("convergence not reported" if cal.converged is None
                                                      else "DID NOT CONVERGE")
        anchored = f", {int(cal.fixed.sum())} anchors held fixed" if cal.fixed.any() else ""
        written = self.output_paths(params_path)
        scale = self.scale_sentence()
        method = ", conditional ML" if cal.estimation == "cml" else ""
        cycles = "iterations" if cal.estimation == "cml" else "EM cycles"
        return (f"{cal.model} ({cal.engine}{method}, D = {cal.D:g}): {cal.n_persons} candidates, {len(cal.item_ids)} items"
                f"{anchored}; log-likelihood {cal.log_likelihood:.2f}, "
                f"{f'{cal.iterations} {cycles}, ' if cal.converged is not None else ''}{status}, "
                f"estimation {cal.seconds:.2f} s; {len({f.item_id for f in self.report.flags})} items flagged. "
                f"Wrote {', '.join(str(p) for p in written)}." + (f"\n{scale}" if scale else ""))


def calibrate_file(bank, responses, *, form_id: str | None = None, key_file=None, model: str = "2pl",
                   D: float = 1.0, engine: str = "certbank", n_nodes: int = 61, quadrature_method: str = "equal",
                   anchor_from_bank: bool = False, link: str = "stocking-lord", drift: bool = True,
                   guessing_prior=DEFAULT_GUESSING_PRIOR, slope_prior=None,
                   min_persons: int | None = None, estimation: str = "mml") -> CalibrationRun:
    """Calibrate a response file (scored by a bank form's key, a key file, or 0/1 data) with fit and flags.

    With a bank form whose items include at least ``MIN_COMMON_ITEMS`` with bank-scale parameters, the result
    is put on the bank scale (``psychometrics.irt.bank_scale``): ``link`` "stocking-lord" (free calibration,
    anchors screened for drift, Stocking–Lord constants from the retained ones) or "fixed-anchor" (retained
    anchors held at their bank values); ``drift`` False keeps every anchor. ``anchor_from_bank`` asks for the
    fixed-anchor design explicitly, also without a form (items matched by id; fewer than the minimum are held
    fixed without a drift check, with a warning)."""
    link = "fixed-anchor" if anchor_from_bank else str(link).lower()
    if link not in BANK_SCALE_METHODS:
        raise InputError(f"Unknown --link {link!r}; choose one of {', '.join(BANK_SCALE_METHODS)}.")
    estimation = check_estimation(estimation, model, str(engine).lower(), anchors=anchor_from_bank)
    matrix, versions = scored_matrix(bank, responses, form_id, key_file)
    if matrix.scored.shape[0] < 2:
        raise EstimationError(f"{responses}: the file has responses of {matrix.scored.shape[0]} candidate; an IRT "
                              "calibration needs many (a few hundred for the 2PL).")
    try:
        return _calibrate_matrix(bank, matrix, versions, responses, form_id=form_id, model=model, D=D,
                                 engine=engine, n_nodes=n_nodes, quadrature_method=quadrature_method,
                                 anchor_from_bank=anchor_from_bank, link=link, drift=drift,
                                 guessing_prior=guessing_prior, slope_prior=slope_prior, min_persons=min_persons,
                                 estimation=estimation)
    except EstimationError as err:  # the numerics know no files: name the one the data came from
        raise EstimationError(f"{responses}: {err}") from None


def _calibrate_matrix(bank, matrix, versions, responses, *, form_id, model, D, engine, n_nodes,
                      quadrature_method, anchor_from_bank, link, drift, guessing_prior,
                      slope_prior, min_persons=None, estimation="mml") -> CalibrationRun:
    label = f"{model.lower()} {Path(responses).name}"
    common = {}
    if anchor_from_bank and bank is None:
        raise InputError("--anchor-from-bank needs the item bank, and none was given.")
    consult = bank is not None and (form_id is not None or anchor_from_bank)
    if consult:
        bank_params = bank.item_parameters(matrix.item_ids)
        common = anchors_from_bank(bank_params, matrix.item_ids, D)
        if anchor_from_bank and not common:
            raise InputError("--anchor-from-bank: none of the items in the file has parameters in the bank.")
    kind = dict(versions=versions, default_label=label, form_id=form_id, matrix=matrix,
                responses=Path(responses) if form_id else None, n_common=len(common))
    if len(common) >= MIN_COMMON_ITEMS:
        if estimation == "cml":
            raise InputError(f"Form {form_id or 'these items'} shares {len(common)} items with the bank scale; "
                             "linking onto it runs on marginal ML (drop --estimation cml).")
        if engine.lower() != "certbank":
            raise InputError(f"Form {form_id or 'these items'} shares {len(common)} items with the bank scale; "
                             "linking onto it needs the certbank engine (drop --engine girth).")
        from psychometrics.irt.bank_scale import calibrate_to_bank_scale
        usable = bank_params[bank_params["item_id"].isin(list(common))]
        bank_scale = calibrate_to_bank_scale(matrix.scored, matrix.item_ids, usable, model=model.lower(), D=D,
                                             method=link, drift=drift,
                                             quadrature=make_quadrature(n_nodes, quadrature_method),
                                             guessing_prior=guessing_prior, slope_prior=slope_prior,
                                             min_persons=min_persons)
        report = _report_on_bank_scale(bank_scale, matrix.scored)
        return CalibrationRun(report, scale="linked", bank_scale=bank_scale, **kind)
    anchors = common if (anchor_from_bank and common) else None
    report = calibrate_responses(matrix.scored, matrix.item_ids, model.lower(), D=D, engine=engine.lower(),
                                 anchors=anchors, n_nodes=n_nodes, quadrature_method=quadrature_method,
                                 guessing_prior=guessing_prior, slope_prior=slope_prior, min_persons=min_persons,
                                 estimation=estimation)
    if anchors:
        report = CalibrationReport(report.calibration, report.fit, report.flags, overall_fit=report.overall_fit, notes=(
            f"Only {len(anchors)} anchors: too few to screen them for drift (at least {MIN_COMMON_ITEMS}).",))
        return CalibrationRun(report, scale="linked", **kind)
    if not consult:
        return CalibrationRun(report, **kind)
    return CalibrationRun(report, scale="own" if bank.bank_scale_defined() else "defines", **kind)


def _report_on_bank_scale(bank_scale: BankScaleCalibration, scored) -> CalibrationReport:
    """Fit and flags of the reported calibration (fit is invariant to the linear change of scale), with the
    parameters of params.csv taken from the bank-scale result."""
    cal = bank_scale.calibration
    item_fit = irt_fit.item_fit(scored, cal)
    # M2 and the empirical reliabilities are computed on the calibration's own scale, with its latent mean and
    # SD: a linear change of θ leaves both unchanged, so they hold for the bank-scale parameters too
    return CalibrationReport(cal, item_fit, tuple(irt_fit.irt_flags(cal, item_fit)), bank_scale=bank_scale,
                             notes=tuple(bank_scale.warnings), overall_fit=overall_fit_summary(scored, cal))
