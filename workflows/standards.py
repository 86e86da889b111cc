"""The standard-setting and equating jobs behind `certbank cutscore ...`, `standard ...`, `equate` and
`score --standard`: one library call per command, returning a result that writes itself and says what it did.

Every job reads and checks all its inputs first and returns a result; only ``result.write(...)`` writes, each
file atomically (``certbank_core.files.atomic_write``), so an input error leaves nothing behind.

``bank`` is an open ``itembank.store.Bank`` (or anything with the same methods: ``get_form``,
``item_parameters``, ``item_pool``, ``get_standard``, ``save_standard``, ``form_key``, ``form_options``), or
None when every input comes from files. It is used only when an option names something in the bank.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from certbank_core.errors import InputError, NotFoundError
from certbank_core.files import atomic_write
from psychometrics.irt.models import ItemParameters
from psychometrics.standards.carrying import StandardAcrossForms, carry_standard
from psychometrics.standards.decision import decision_summary
from psychometrics.standards.scaling import ScaleDefinition, conversion_table, make_standard, scale_from_dict
from psychometrics.standards.setting import AngoffResult, BookmarkResult, CompromiseResult, bookmark, impact
from workflows.equating import NeatComparison, equate_forms_neat
from workflows.outputs import FolderOutputs, write_csv
from workflows.parameter_files import FormParameters, _need_bank, bank_form_parameters, form_parameters
from workflows.standard_files import (angoff_from_file, beuk_from_files, hofstee_from_files, read_raw_scores,
                                      read_scores_and_groups)

#: Compromise methods and their file readers.
COMPROMISE_METHODS = {"hofstee": hofstee_from_files, "beuk": beuk_from_files}


def load_standard(bank, name: str) -> dict:
    """A standard by name from the bank, or from a JSON file written by `standard set --export` (a name ending
    in .json): {theta_cut, scale, source, name, ...}."""
    path = Path(name)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise InputError(f"The standard file {path} does not exist.")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            float(record["theta_cut"])
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: not a standard file (needs theta_cut): {err}") from None
        return record
    stored = _need_bank(bank, f"standard {name}").get_standard(name)
    return dict(stored["details"], theta_cut=stored["theta_cut"], name=name)


@dataclass(frozen=True)
class AngoffStudy(FolderOutputs):
    """A modified Angoff study: ``result``; ``carried`` the θ cut on every form (with ``carry=True``);
    ``input_files`` the ratings (and score) files it read."""

    result: AngoffResult
    frames: Mapping[str, pd.DataFrame] = field(repr=False)
    summary: dict
    carried: StandardAcrossForms | None = None
    input_files: tuple[Path, ...] = ()

    def message(self, outdir, report_path=None) -> str:
        r = self.result
        files = ", ".join([*self.frames, "summary.json"])
        book = f" and the workbook {report_path}" if report_path else ""
        return (f"Angoff cut {r.cut_raw:.2f} of {r.n_items} ({r.cut_percent:.1f}%), SE {r.se:.2f}, "
                f"θ cut {r.theta_cut:.3f}; {int(r.outlier.sum())} rater(s) flagged. Wrote {files} to "
                f"{outdir}{book}.")


def angoff_study(bank, ratings, *, form_id: str | None = None, params_file=None, raters_file=None,
                 scores_file=None, group_column: str | None = "language", carry: bool = False,
                 carry_to: Sequence[str] = ()) -> AngoffStudy:
    """Modified Angoff cut from a ratings file on the reference form (bank ``form_id`` or ``params_file``).

    raters_file: the panel roster; scores_file: candidates' raw scores (column score, optional
    ``group_column``) for impact.csv; carry: also carry the θ cut to the reference form and to ``carry_to``
    (other bank forms), with impact and decision quality, for the standard-setting workbook.
    Outputs: raters.csv, rounds.csv, summary.json and, with scores, impact.csv.
    """
    params, p_values = form_parameters(bank, form_id, params_file)
    result = angoff_from_file(ratings, params=params, p_values=p_values, roster_path=raters_file)
    scores = groups = carried = forms = None
    if carry:
        forms = {form_id or "reference": params}
        forms.update({f: form_parameters(bank, f)[0] for f in carry_to})
    if scores_file:
        scores, groups = read_scores_and_groups(scores_file, params.n_items, group_column)
    if carry:
        carried = carry_standard(result.theta_cut, forms, scores=scores, groups=groups, cut_se=result.se)
    frames = {"raters.csv": result.to_frame(), "rounds.csv": result.round_summary}
    if scores_file:
        frames["impact.csv"] = impact(scores, result.cut_raw, result.se, groups)
    summary = dict(result.summary(), form_id=form_id, ratings_file=str(ratings))
    inputs = (Path(ratings),) + ((Path(scores_file),) if scores_file else ())
    return AngoffStudy(result, frames, summary, carried, inputs)


@dataclass(frozen=True)
class BookmarkStudy(FolderOutputs):
    """A Bookmark study: ``result`` at response probability ``rp``."""

    result: BookmarkResult
    rp: float
    frames: Mapping[str, pd.DataFrame] = field(repr=False)
    summary: dict

    def message(self, outdir) -> str:
        return (f"Bookmark θ cut {self.result.theta_cut:.3f} (RP {self.rp:g}); expected raw score there "
                f"{self.result.raw_cut_true_score:.2f}. Wrote {outdir}.")


def parse_pages(pages: str | Sequence[int]) -> list[int]:
    """Bookmark pages from text such as "31,34,35" (commas or semicolons) or a sequence of integers."""
    if not isinstance(pages, str):
        return [int(p) for p in pages]
    try:
        return [int(p) for p in pages.replace(";", ",").split(",") if p.strip()]
    except ValueError:
        raise InputError(f"--pages {pages!r}: give whole page numbers separated by commas") from None


def bookmark_study(bank, pages, *, form_id: str | None = None, params_file=None, rp: float = 0.67) -> BookmarkStudy:
    """Bookmark (item mapping) cut: the median θ of the panelists' bookmarked ``pages`` in the booklet of the
    form's items ordered by their RP location. Outputs: booklet.csv, panelists.csv, summary.json."""
    page_list = parse_pages(pages)
    params, _ = form_parameters(bank, form_id, params_file)
    result = bookmark(params, page_list, rp)
    return BookmarkStudy(result, rp, {"booklet.csv": result.booklet, "panelists.csv": result.to_frame()},
                         dict(result.summary(), form_id=form_id))


@dataclass(frozen=True)
class CompromiseStudy(FolderOutputs):
    """A Hofstee or Beuk (``kind``) compromise on a test of ``n_items`` scored items."""

    result: CompromiseResult
    kind: str
    n_items: int
    frames: Mapping[str, pd.DataFrame] = field(repr=False)
    summary: dict

    def message(self, outdir) -> str:
        r = self.result
        return (f"{self.kind.capitalize()} cut {r.cut_percent:.1f}% → raw {r.cut_raw} of {self.n_items}; "
                f"{r.pass_rate:.1f}% pass. Wrote {outdir}.")


def compromise_study(kind: str, scores, judgments, n_items: int) -> CompromiseStudy:
    """Hofstee or Beuk compromise (``kind``) from a score file and a judgments file (see
    ``standard_setting_files``). Outputs: <kind>.csv and summary.json."""
    if kind not in COMPROMISE_METHODS:
        raise InputError(f"unknown compromise method {kind!r}; choose one of {', '.join(COMPROMISE_METHODS)}")
    result = COMPROMISE_METHODS[kind](scores, judgments, n_items)
    return CompromiseStudy(result, kind, n_items, {f"{kind}.csv": result.to_frame()}, result.summary())


# ---- one standard across forms ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewStandard:
    """A validated standard ready to store: ``record`` is what ``bank.save_standard`` keeps."""

    name: str
    record: dict
    export_path: Path | None = None
    replaced: float | None = None

    def write(self, bank, replace: bool = False) -> "NewStandard":
        """Store the standard in the bank, then write the export file (if any) atomically. A standard of the
        same name is replaced only with ``replace`` (the result keeps the old θ cut for the message): a
        silent replacement would move every later pass/fail line."""
        with bank.transaction():
            try:
                old = float(bank.get_standard(self.name)["theta_cut"])
            except NotFoundError:
                old = None
            if old is not None and not replace:
                raise InputError(f"The bank already has a standard {self.name!r} (θ cut {old:.4f}); give --replace "
                                 "to replace it (the audit log keeps the old one), or choose another name.")
            bank.save_standard(self.name, self.record["theta_cut"],
                               {k: v for k, v in self.record.items() if k != "theta_cut"})
        result = NewStandard(self.name, self.record, self.export_path, old)
        if self.export_path:
            text = json.dumps(dict(self.record, name=self.name), indent=2, default=float)
            atomic_write(self.export_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return result

    def message(self) -> str:
        s = self.record["scale"]
        was = f" (replaced the old θ cut {self.replaced:.4f})" if self.replaced is not None else ""
        return (f"Standard {self.name}: θ cut {self.record['theta_cut']:.4f}, scaled cut {s['cut']:g} on "
                f"{s['low']:g}–{s['high']:g}{was}.")


def new_standard(name: str, *, theta_cut: float | None = None, angoff_dir=None,
                 scale: ScaleDefinition | Mapping | None = None, export_path=None) -> NewStandard:
    """A standard NAME from a θ cut given directly or from a `cutscore angoff|bookmark --out DIR` folder
    (its summary.json), with its reporting scale (a ScaleDefinition or its fields as a mapping)."""
    if (theta_cut is None) == (angoff_dir is None):
        raise InputError("Give exactly one of --theta X or --from-angoff DIR.")
    export_path = Path(export_path) if export_path else None
    if export_path and not export_path.parent.is_dir():
        raise InputError(f"The folder of --export ({export_path.parent}) does not exist; nothing was stored.")
    source = {"method": "theta"}
    if angoff_dir is not None:
        summary_path = Path(angoff_dir) / "summary.json"
        if not summary_path.is_file():
            raise InputError(f"{summary_path} does not exist; run `certbank cutscore angoff ... --out {angoff_dir}`.")
        source = json.loads(summary_path.read_text(encoding="utf-8"))
        if source.get("theta_cut") is None:
            raise InputError(f"{summary_path} has no θ cut (the form had no IRT parameters).")
        theta_cut = float(source["theta_cut"])
    if scale is not None and not isinstance(scale, ScaleDefinition):
        scale = ScaleDefinition(**scale)
    return NewStandard(name, make_standard(theta_cut, source, scale), export_path)


@dataclass(frozen=True)
class AppliedStandard:
    """A standard on one form: ``table`` raw → θ → scaled → passed (attrs raw_cut); ``decisions`` the decision
    quality on candidates' scores (None without scores); ``parameters`` where the form's item parameters came
    from (bank parameter sets, or a file); ``neat`` the observed-score equating to an earlier form beside the
    IRT cut (None unless asked for)."""

    name: str
    form: str
    rule: str
    params: ItemParameters
    theta_cut: float
    table: pd.DataFrame
    decisions: pd.DataFrame | None = None
    parameters: FormParameters | None = None
    neat: NeatComparison | None = None

    @property
    def raw_cut(self) -> int:
        return int(self.table.attrs["raw_cut"])

    @property
    def summary(self) -> dict:
        """The result in JSON-ready form: standard, form, θ cut, raw cut, the parameter sets used and, with
        NEAT, each method's cut."""
        out = {"standard": self.name, "form": self.form, "rule": self.rule, "theta_cut": self.theta_cut,
               "raw_cut": self.raw_cut, "n_items": self.params.n_items,
               "parameter_sets": self.parameters.source_records() if self.parameters is not None else []}
        if self.neat is not None:
            out["neat"] = {"old_form": self.neat.old_form, "old_raw_cut": self.neat.comparison.old_raw_cut,
                           "n_anchor_items": len(self.neat.anchor),
                           "cuts": self.neat.comparison.table.to_dict("records"),
                           "sentence": self.neat.comparison.sentence()}
        return out

    def write(self, out_path=None, decision_path=None, equating_path=None) -> list[Path]:
        """Write the conversion table, the decision-quality table and/or the NEAT comparison (each .csv,
        atomically)."""
        written = [write_csv(out_path, self.table)] if out_path else []
        if decision_path and self.decisions is not None:
            written.append(write_csv(decision_path, self.decisions))
        if equating_path and self.neat is not None:
            written += self.neat.write(equating_path)
        return written

    def message(self, out_path=None, equating_path=None) -> str:
        lines = [f"  {row.method}: accuracy {row.accuracy:.3f}, consistency {row.consistency:.3f}, "
                 f"kappa {row.kappa:.3f}" for row in (self.decisions.itertuples() if self.decisions is not None
                                                      else ())]
        if self.parameters is not None:
            lines.append(self.parameters.sentence())
        lines.append(f"Standard {self.name} on {self.form}: pass at raw {self.raw_cut} of {self.params.n_items} "
                     f"(true score at the cut {self.params.tcc([self.theta_cut])[0]:.2f}; rule {self.rule})."
                     + (f" Wrote {out_path}." if out_path else ""))
        if self.neat is not None:
            lines.append(self.neat.message(equating_path))
        return "\n".join(lines)


def apply_standard(bank, name: str, *, form_id: str | None = None, params_file=None, rule: str = "at_least",
                   scores_file=None, reliability: float | None = None, decision_table: bool = False,
                   equate_from: str | None = None, responses=None, old_responses=None,
                   equating_table: bool = False, w1: float = 0.5) -> AppliedStandard:
    """The form's raw cut and conversion table for standard NAME (bank name or .json file), from the form's
    parameters on the bank scale (``bank_form_parameters``, which names the parameter sets used and refuses
    a form whose items lack them); with ``scores_file`` (column score) also decision accuracy and consistency.
    ``decision_table`` says the caller wants that table written, which needs ``scores_file``.

    ``equate_from`` (an earlier bank form sharing an anchor block), with ``responses`` (this form's) and
    ``old_responses`` (the earlier form's): also the NEAT observed-score equating of this form to that one,
    each method's raw cut beside the IRT one (``workflows.equating.equate_forms_neat``); ``equating_table``
    says the caller wants it written."""
    if decision_table and not scores_file:
        raise InputError("--decision-out needs --scores.")
    neat_inputs = {"--responses": responses, "--old-responses": old_responses}
    if equate_from:
        if not form_id:
            raise InputError("--equate-from needs --form (the new bank form), not --params.")
        missing = [k for k, v in neat_inputs.items() if v is None]
        if missing:
            raise InputError(f"--equate-from {equate_from} needs {' and '.join(missing)} (each form's response "
                             f"file).")
    elif equating_table or any(v is not None for v in neat_inputs.values()):
        raise InputError("--responses, --old-responses and --equating-out go with --equate-from OLD_FORM.")
    record = load_standard(bank, name)
    theta_cut = float(record["theta_cut"])
    found = bank_form_parameters(bank, form_id, params_file)
    params = found.params
    table = conversion_table(params, theta_cut, scale_from_dict(record.get("scale")), rule)
    decisions = None
    if scores_file:
        decisions = decision_summary(read_raw_scores(scores_file, params.n_items), params.n_items,
                                     table.attrs["raw_cut"], reliability, params, theta_cut)
    neat = None
    if equate_from:
        neat = equate_forms_neat(bank, form_id, equate_from, responses, old_responses, theta_cut=theta_cut,
                                 rule=rule, w1=w1)
    return AppliedStandard(name, str(form_id or params_file), rule, params, theta_cut, table, decisions, found,
                           neat)


@dataclass(frozen=True)
class StandardAcrossFormsReport:
    """What the standard-setting workbook of a stored standard shows: the record, the standard carried to
    every form, the Angoff raters table (if found) and the input files."""

    name: str
    record: dict
    carried: StandardAcrossForms
    raters: pd.DataFrame | None = None
    input_files: tuple[Path, ...] = ()

    def message(self, out) -> str:
        return f"Wrote {out}: raw cuts " + ", ".join(f"{f} {c}" for f, c in self.carried.raw_cuts.items()) + "."


def standard_across_forms(bank, name: str, forms: Sequence[str], *, scores_file=None,
                          group_column: str | None = "language", angoff_dir=None) -> StandardAcrossFormsReport:
    """Standard NAME (bank or .json) carried to each bank form in ``forms`` (the first is the reference, whose
    candidates' raw scores ``scores_file`` give impact and decision quality); ``angoff_dir`` is the
    `cutscore angoff --out` folder whose raters.csv is shown when present."""
    record = load_standard(bank, name)
    params = {f: form_parameters(bank, f)[0] for f in forms}
    n_ref = params[forms[0]].n_items
    scores, groups = read_scores_and_groups(scores_file, n_ref, group_column) if scores_file else (None, None)
    carried = carry_standard(float(record["theta_cut"]), params, scores=scores, groups=groups,
                             cut_se=float((record.get("source") or {}).get("se") or 0.0),
                             scale=scale_from_dict(record.get("scale")))
    raters_path = Path(angoff_dir) / "raters.csv" if angoff_dir else None
    raters = pd.read_csv(raters_path) if raters_path and raters_path.exists() else None
    return StandardAcrossFormsReport(name, record, carried, raters, (Path(scores_file),) if scores_file else ())


