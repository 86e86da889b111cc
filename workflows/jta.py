"""The job (practice) analysis: what ``certbank jta template`` and ``certbank jta analyze`` run.

``write_template`` writes the survey for a framework (workbook, or the CSV layout alone). ``analyze_survey``
reads a filled-in survey, computes the competency statistics, agreement, subgroup differences and area
weights (``psychometrics.jta``), and writes competencies.csv, areas.csv, subgroups.csv, summary.json and the
board's workbook jta_report.xlsx into a folder, plus, when asked, a blueprint derived from a base blueprint
with the new counts. Everything is computed and checked before the first file is written.

The derived blueprint is the base blueprint's text with new area counts and provenance: the base (the shipped ``blueprints/default/peer_support.toml`` unless told otherwise) keeps every
rule; only each ``[[content.areas]]`` block's ``count`` (and ``exam.length``) change, and the comment that
explained the hand-set counts is replaced by the job analysis's provenance: survey SHA-256, date, the rules.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from blueprints.loading import load_blueprint, parse_blueprint
from blueprints.model import Blueprint
from certbank_core import __version__
from certbank_core.errors import EstimationError, InputError, Problem
from certbank_core.files import sha256_of
from psychometrics.jta import (InclusionRule, allocate_items, area_weights, compare_subgroups, competency_ratings,
                               intraclass, rwg_j)
from psychometrics.jta.ratings import IMPORTANCE_MAX
from reports.jta_report import JtaReport, SurveyTemplate, build_jta_workbook, build_survey_template
from reports.workbook import check_writable
from workflows import jta_survey as layout
from workflows.assembly import resolve_blueprint
from workflows.outputs import write_atomically

DEFAULT_SUBGROUPS = ("language", "setting", "experience")
REPORT_NAME = "jta_report.xlsx"


def _instructions(framework) -> list[str]:
    return [
        f"This survey asks practitioners how important each competency of the {framework.name} is to their work "
        f"and how often they perform it. / Esta encuesta pregunta qué tan importante es cada competencia para su "
        f"trabajo y con qué frecuencia la realiza.",
        "Fill in one row per respondent on the Responses sheet: the background columns, then for every competency "
        "an importance rating (0-4) and a frequency rating (0-5); the Scales sheet gives the words for each point. "
        "/ Complete una fila por persona en la hoja Responses; la hoja Scales explica cada punto.",
        "Leave both ratings of a competency blank if you cannot judge it; if you never perform it, give frequency 0. "
        "/ Deje ambas en blanco si no puede juzgarla; si nunca la realiza, marque frecuencia 0.",
        "The category titles are given in English and Spanish. The Spanish titles of the individual competencies "
        "are left blank for the program's translators: certbank does not write them. / Los títulos en español de "
        "las competencias quedan en blanco para los traductores del programa.",
        "The same layout works as a CSV file (write the template with a .csv name to get its header row).",
    ]


def template_parts(framework) -> SurveyTemplate:
    """What the survey template shows for ``framework``."""
    comps = layout.competency_sheet(framework)
    scales = pd.DataFrame(
        [("importance", p, en, es) for p, en, es in layout.IMPORTANCE_ANCHORS]
        + [("frequency", p, en, es) for p, en, es in layout.FREQUENCY_ANCHORS],
        columns=["scale", "point", "label_en", "label_es"])
    background = pd.DataFrame(layout.BACKGROUND_LABELS, columns=["column", "question_en", "question_es"])
    return SurveyTemplate(f"Job analysis survey: {framework.name}", _instructions(framework), comps, scales,
                          background, layout.survey_columns(comps["code"]), dict(layout.SCALES),
                          settings={"framework": framework.code, "framework_version": framework.version})


def write_template(bank, path, framework_code: str, force: bool = False) -> Path:
    """The survey template for a framework of the bank: an .xlsx workbook, or the CSV header for .csv."""
    path = Path(path)
    framework = bank.get_framework(framework_code)
    parts = template_parts(framework)
    if path.suffix.lower() == ".csv":
        if path.exists() and not force:
            raise InputError(f"{path} already exists; use --force to overwrite it.")
        if not path.parent.is_dir():
            raise InputError(f"{path.parent}: the folder for the template does not exist.")
        return write_atomically([(path, ",".join(parts.columns) + "\n")])[0]
    return build_survey_template(parts, path, force=force)


# ---- the derived blueprint ----------------------------------------------------------------------------------
_COUNT = re.compile(r"^(\s*)count\s*=\s*\d+(.*)$")
_CODE = re.compile(r'^\s*code\s*=\s*"([^"]+)"')
_LENGTH = re.compile(r"^(\s*)length\s*=\s*\d+(.*)$")


def area_counts(bp: Blueprint) -> dict[str, tuple[str, int]]:
    """The blueprint's fixed item count of each area: code → (label, count)."""
    out = {}
    for rule in bp.counts:
        if rule.attribute == "area" and len(rule.values) == 1 and rule.lower is not None and rule.lower == rule.upper:
            out[rule.values[0]] = (rule.label, int(rule.lower))
    return out


def bank_supply(pool, bp: Blueprint) -> dict[str, int]:
    """Items of each area that may fill a scored slot: a scored status and reviewed in every required
    language beyond English (the bank's ``<lang>_status`` columns)."""
    eligible = pool["status"].isin(bp.eligibility.scored_statuses)
    for lang in bp.eligibility.reviewed_languages:
        column = f"{lang}_status"
        if lang != "en" and column in pool.columns:
            eligible &= pool[column] == "reviewed"
    return pool[eligible].groupby("area").size().to_dict()


def check_base_areas(bp: Blueprint, area_codes, base_name: str) -> dict[str, tuple[str, int]]:
    """The base blueprint's area counts; its areas must be exactly the framework's."""
    current = area_counts(bp)
    problems = []
    missing = [a for a in area_codes if a not in current]
    extra = [a for a in current if a not in set(area_codes)]
    if missing:
        problems.append(Problem(f"the base blueprint has no fixed count for the area(s) {', '.join(missing)}; a "
                                f"derived blueprint needs one [[content.areas]] block with a count per area",
                                base_name))
    if extra:
        problems.append(Problem(f"the base blueprint counts area(s) {', '.join(extra)} that are not in the "
                                f"framework", base_name))
    if problems:
        raise InputError(problems)
    return current


def derive_blueprint_text(base_text: str, counts: dict[str, int], length: int, provenance: list[str],
                          file: str = "<blueprint>") -> str:
    """The base blueprint's text with each area's ``count`` and ``exam.length`` replaced and the comment
    just above the first ``[[content.areas]]`` replaced by ``provenance`` (lines without '#')."""
    lines = base_text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip() == "[[content.areas]]"), None)
    if first is None:
        raise InputError(Problem("the base blueprint has no [[content.areas]] block", file))
    start = first
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    out = lines[:start] + [f"# {ln}".rstrip() for ln in provenance] + lines[first:]
    section, code, done = "", None, set()
    for i, ln in enumerate(out):
        stripped = ln.strip()
        if stripped.startswith("["):
            section, code = stripped, None
            continue
        if section == "[exam]" and _LENGTH.match(ln):
            out[i] = _LENGTH.sub(lambda m: f"{m.group(1)}length = {length}{m.group(2)}", ln)
        if section != "[[content.areas]]":
            continue
        m = _CODE.match(ln)
        if m:
            code = m.group(1)
        if _COUNT.match(ln) and code in counts:
            out[i] = _COUNT.sub(lambda m: f"{m.group(1)}count = {int(counts[code])}{m.group(2)}", ln)
            done.add(code)
    missing = [c for c in counts if c not in done]
    if missing:
        raise InputError(Problem("the base blueprint's area blocks must give 'code' before 'count'; no count was "
                                 f"replaced for {', '.join(missing)}", file))
    text = "\n".join(out) + "\n"
    bp = parse_blueprint(text, file=file)
    got = {code: count for code, (_, count) in area_counts(bp).items()}
    if got != {c: int(v) for c, v in counts.items()} or bp.exam.length != length:
        raise InputError(Problem("the derived blueprint does not read back with the new counts", file))
    return text


def provenance_lines(*, survey: Path, sha256: str, date: str, n_respondents: int, base: str, rule: str,
                     min_per_area: int, capped: dict[str, int], length: int, version: str) -> list[str]:
    """The comment block of a derived blueprint: where its counts came from."""
    paragraphs = [
        f"survey {survey.name}, {n_respondents} respondents, sha256 {sha256}; analysed {date} with certbank "
        f"{version}; base blueprint {base} (all its other rules kept).",
        "Criticality of a competency = the mean over respondents of importance (0-4) x frequency (0-5) (Raymond & "
        f"Neustel 2006); {rule}.",
        "Area weight = the area's share of the included competencies' criticality; items per area = weight x "
        f"{length}, at least {min_per_area} per area and at most what the bank can supply, rounded by largest "
        "remainder (Hamilton) so the counts sum to the length.",
    ] + [f"{code} is capped at {cap}: its weight asks for more items than the bank can supply (write more)."
         for code, cap in capped.items()]
    lines = ["Content weights from the job analysis (certbank jta analyze):"]
    for p in paragraphs:
        lines += textwrap.wrap(p, width=104, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
    return lines


# ---- the analysis -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JtaOutcome:
    """What ``analyze_survey`` wrote and found (``summary`` is summary.json)."""

    written: tuple[Path, ...]
    summary: dict

    def lines(self) -> list[str]:
        s = self.summary
        out = [f"{s['respondents']} respondents, {s['competencies_included']} of {s['competencies']} competencies "
               f"included; ICC(2,k) importance {s['agreement']['icc_2k_importance']:.2f}."]
        out += [f"  {c}" for c in s["findings"]]
        out += [f"Wrote {p}" for p in self.written]
        return out


def _agreement(survey, ratings) -> tuple[dict, dict]:
    """ICC(2,1)/ICC(2,k) over respondents who rated every competency; rwg(J) of importance by area."""
    complete = ~np.isnan(survey.importance).any(axis=1)
    out = {"icc_respondents": int(complete.sum()), "icc_targets": len(survey.codes)}
    for name, x in (("importance", survey.importance), ("frequency", survey.frequency)):
        try:
            r = intraclass(x[complete].T)
            out[f"icc_21_{name}"], out[f"icc_2k_{name}"] = r.icc_2_1, r.icc_2_k
        except EstimationError:
            out[f"icc_21_{name}"] = out[f"icc_2k_{name}"] = float("nan")
    var = ratings.importance_sd ** 2
    areas = np.array(survey.areas)
    by_area = {a: rwg_j(var[areas == a], IMPORTANCE_MAX + 1) for a in dict.fromkeys(survey.areas)}
    out["method"] = ("ICC(2,1) and ICC(2,k) (Shrout & Fleiss 1979) with competencies as targets and the "
                     "respondents who rated every competency as raters; rwg(J) of importance per area (James, "
                     "Demaree & Wolf 1984, uniform null)")
    return out, by_area


def analyze_survey(bank, responses, framework_code: str, outdir, *, blueprint_out=None, length: int = 120,
                   base: str = "default", min_importance: float = 2.0, max_not_performed: float = 0.5, min_per_area: int = 8,
                   min_subgroup: int = 30, subgroups=DEFAULT_SUBGROUPS, cap_to_bank: bool = True,
                   today: str | None = None) -> JtaOutcome:
    """Analyse a filled-in survey (module docstring); every input problem is one sentence, nothing written."""
    responses, outdir = Path(responses), Path(outdir)
    rule = InclusionRule(min_importance, max_not_performed)
    framework = bank.get_framework(framework_code)
    survey = layout.read_survey(responses, framework)
    labels = layout.subgroup_labels(survey, subgroups, min_subgroup)
    base_path = resolve_blueprint(base)
    bp = load_blueprint(base_path)
    area_codes = [a.code for a in framework.areas]
    current = check_base_areas(bp, area_codes, str(base_path))
    if outdir.exists() and not outdir.is_dir():
        raise InputError(Problem("the output folder is a file", str(outdir)))
    if blueprint_out is not None and Path(blueprint_out).suffix.lower() != ".toml":
        raise InputError(Problem("the blueprint must be written as a .toml file", str(blueprint_out)))

    ratings = competency_ratings(survey.importance, survey.frequency, survey.codes, survey.areas, rule)
    agreement, rwg_by_area = _agreement(survey, ratings)
    crit = survey.importance * survey.frequency
    try:
        sub = compare_subgroups({"criticality": crit, "importance": survey.importance}, survey.codes, labels,
                                min_size=min_subgroup)
    except EstimationError as err:
        raise InputError(Problem(str(err), str(responses))) from None
    try:
        weights = area_weights(ratings.criticality, survey.areas, ratings.included, area_codes)
    except EstimationError as err:
        raise InputError(Problem(f"{err} (check the inclusion rule)", str(responses))) from None
    supply = bank_supply(bank.item_pool(), bp) if cap_to_bank else {}
    cap = np.array([supply.get(a, length) if supply else length for a in area_codes], dtype=float)
    if min_per_area * len(area_codes) > length:
        raise InputError(f"--min-per-area {min_per_area} asks for {min_per_area * len(area_codes)} items over the "
                         f"{len(area_codes)} areas, more than the test length {length}.")
    short = [f"{a} ({int(c)})" for a, c in zip(area_codes, cap) if c < min_per_area]
    if short or cap.sum() < length:
        raise InputError("The bank cannot supply this test: it holds " + (
            f"fewer than {min_per_area} eligible items in " + ", ".join(short) if short else
            f"only {int(cap.sum())} eligible scored items for a {length}-item test")
            + "; grow the bank, or use --no-bank-cap to see the weights the survey asks for.")
    try:
        alloc = allocate_items(weights, area_codes, length, minimum=min_per_area, maximum=cap)
    except EstimationError as err:
        raise InputError(str(err)) from None

    titles = {c.code: c.title for c in framework.competencies}
    comp = ratings.to_frame()
    comp.insert(1, "title", [titles[c] for c in comp["competency"]])
    comp.insert(3, "status", np.where(comp["included"], "included", "excluded"))
    area_titles = {a.code: a.title for a in framework.areas}
    areas = alloc.to_frame().drop(columns="count")
    areas.insert(1, "label", [current[a][0] or area_titles[a] for a in area_codes])
    areas["current_count"] = [current[a][1] for a in area_codes]
    areas["proposed_count"] = alloc.counts
    areas["competencies_included"] = [int(ratings.included[np.array(survey.areas) == a].sum()) for a in area_codes]
    areas["rwg_j_importance"] = [rwg_by_area[a] for a in area_codes]
    areas["bank_supply"] = [int(supply.get(a, 0)) for a in area_codes] if supply else np.nan
    sub_frame = sub.to_frame()

    sha = sha256_of(responses)
    date = today or _dt.date.today().isoformat()
    capped = {a: int(c) for a, c, u in zip(area_codes, cap, alloc.unbounded_quota) if u > c + 1e-9}
    findings = _findings(framework, ratings, alloc, capped, sub_frame, current)
    summary = {
        "survey": str(responses), "survey_sha256": sha, "date": date, "certbank": __version__,
        "framework": framework.code, "respondents": len(survey.respondent_ids), "competencies": len(survey.codes),
        "competencies_included": int(ratings.included.sum()),
        "excluded": [c for c, inc in zip(survey.codes, ratings.included) if not inc],
        "criticality": "mean over respondents of importance (0-4) x frequency (0-5) (Raymond & Neustel 2006)",
        "inclusion_rule": rule.describe(), "length": length, "min_per_area": min_per_area,
        "caps": {a: int(c) for a, c in zip(area_codes, cap)} if supply else None, "capped_areas": capped,
        "counts": {a: int(c) for a, c in zip(area_codes, alloc.counts)}, "agreement": agreement,
        "subgroups": {"variables": list(labels), "min_size": min_subgroup, "flag": "|Hedges' g| >= 0.5",
                      "flagged": int(sub_frame["flagged"].sum()) if len(sub_frame) else 0},
        "base_blueprint": str(base_path), "findings": findings,
    }
    targets = [(outdir / "competencies.csv", comp.to_csv(index=False)), (outdir / "areas.csv", areas.to_csv(index=False)),
               (outdir / "subgroups.csv", sub_frame.to_csv(index=False)),
               (outdir / "summary.json", json.dumps(_no_nan(summary), indent=2, default=float,
                                                     ensure_ascii=False, allow_nan=False))]
    if blueprint_out is not None:
        prov = provenance_lines(survey=responses, sha256=sha, date=date, n_respondents=len(survey.respondent_ids),
                                base=base_path.name, rule=rule.describe(), min_per_area=min_per_area,
                                capped=capped, length=length, version=__version__)
        text = derive_blueprint_text(base_path.read_text(encoding="utf-8"), summary["counts"], length, prov,
                                     file=str(blueprint_out))
        targets.append((Path(blueprint_out), text))
    report = _report(framework, summary, comp, areas, sub_frame, responses)
    outdir.mkdir(parents=True, exist_ok=True)
    check_writable(outdir / REPORT_NAME, force=True)
    written = write_atomically(targets)
    written.append(build_jta_workbook(report, outdir / REPORT_NAME, force=True))
    return JtaOutcome(tuple(written), summary)


def _findings(framework, ratings, alloc, capped, sub_frame, current) -> list[str]:
    """The summary in plain words."""
    out = [f"{int(ratings.included.sum())} of {len(ratings.codes)} competencies meet the rule: "
           f"{ratings.rule.describe()}."]
    titles = {c.code: c.title for c in framework.competencies}
    for code, why in zip(ratings.codes, ratings.reasons()):
        if why:
            out.append(f"{code} ({titles.get(code, '')}) is left out of the exam: {why}.")
    changes = [f"{a} {current[a][1]} → {int(c)}" for a, c in zip(alloc.areas, alloc.counts) if int(c) != current[a][1]]
    out.append("Proposed item counts differ from the current blueprint in: " + "; ".join(changes) + "."
               if changes else "The proposed item counts equal the current blueprint's.")
    for a, c in capped.items():
        out.append(f"{a}'s weight asks for {alloc.unbounded_quota[alloc.areas.index(a)]:.1f} items but the bank can "
                   f"supply only {c}: capped at {c}; a bank-growth finding (write more {a} items).")
    if alloc.raised:
        out.append("Raised to the minimum of " + f"{int(alloc.minimum[0])} items: " + ", ".join(alloc.raised) + ".")
    flagged = sub_frame[sub_frame["flagged"]] if len(sub_frame) else sub_frame
    if len(flagged):
        top = flagged.reindex(flagged["hedges_g"].abs().sort_values(ascending=False).index).head(5)
        out.append(f"{len(flagged)} subgroup comparison(s) differ by |g| ≥ 0.5, e.g. " + "; ".join(
            f"{r.competency} {r.rating} ({r.variable} {r.group} vs the rest: {r.mean_group:.2f} vs {r.mean_rest:.2f}, "
            f"g = {r.hedges_g:.2f})" for r in top.itertuples()) + ".")
    else:
        out.append("No subgroup differs from the other respondents by a medium effect (|g| ≥ 0.5) or more.")
    return out


def _agreement_sentence(ag: dict) -> str:
    k, one = ag["icc_2k_importance"], ag["icc_21_importance"]
    if k != k:  # NaN
        return ("Agreement could not be measured: fewer than 2 respondents rated every competency.")
    level = "very reliable" if k >= 0.9 else "reliable" if k >= 0.75 else "only moderately reliable" if k >= 0.5 \
        else "not reliable"
    return (f"The panel's mean importance ratings are {level} (ICC(2,k) = {k:.2f} over {ag['icc_respondents']} "
            f"respondents who rated every competency); one respondent's ratings alone are much less reliable "
            f"(ICC(2,1) = {one:.2f}), which is why a job analysis asks many practitioners.")


def _no_nan(value):
    """NaN → None throughout a summary, so summary.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def _report(framework, summary, comp, areas, sub_frame, responses) -> JtaReport:
    subs = sub_frame.copy()
    if len(subs):
        subs["flagged"] = np.where(subs["flagged"], "yes", "")
        subs = subs.sort_values("flagged", ascending=False, kind="stable")
    ag = summary["agreement"]
    key = {"respondents": summary["respondents"], "competencies": summary["competencies"],
           "competencies included": summary["competencies_included"],
           "ICC(2,k) importance": ag["icc_2k_importance"], "ICC(2,1) importance": ag["icc_21_importance"],
           "ICC(2,k) frequency": ag["icc_2k_frequency"], "test length": summary["length"]}
    sentences = [f"{summary['respondents']} practitioners rated the {summary['competencies']} competencies of "
                 f"{framework.name} for importance (0-4) and frequency (0-5)."] + summary["findings"] + [
        _agreement_sentence(ag), f"How agreement is measured: {ag['method']}."]
    return JtaReport(f"Job analysis: {framework.code}", sentences, key, comp, areas, subs,
                     settings={"framework": framework.code, "length": summary["length"]},
                     input_files=[str(responses)])
