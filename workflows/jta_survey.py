"""The job-analysis survey as a file: its layout, its bilingual labels, and reading a filled-in survey.

Layout (CSV, or the "Responses" sheet of the template workbook): one row per respondent; background columns
``respondent_id``, ``years`` (whole years in practice), ``setting``, ``region``, ``language``; then for every
competency of the framework two columns, ``importance:<code>`` (0–4) and ``frequency:<code>`` (0–5). A blank
cell is "not rated"; a respondent rates both scales of a competency or neither. Other columns are ignored.

Every problem is collected with file, row (the header is row 1) and column and raised as one ``InputError``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.jta.ratings import FREQUENCY_MAX, IMPORTANCE_MAX

BACKGROUND = ("respondent_id", "years", "setting", "region", "language")
SCALES = {"importance": IMPORTANCE_MAX, "frequency": FREQUENCY_MAX}
#: Most problems listed in one error (the rest are counted).
MAX_PROBLEMS = 12

#: Anchors of the rating scales, English and Spanish.
IMPORTANCE_ANCHORS = (
    (0, "Not important", "No es importante"),
    (1, "Slightly important", "Poco importante"),
    (2, "Moderately important", "Moderadamente importante"),
    (3, "Very important", "Muy importante"),
    (4, "Essential for safe and effective practice", "Esencial para una práctica segura y eficaz"),
)
FREQUENCY_ANCHORS = (
    (0, "Never: I do not perform this", "Nunca: no lo realizo"),
    (1, "Once a year or less", "Una vez al año o menos"),
    (2, "A few times a year", "Algunas veces al año"),
    (3, "About monthly", "Más o menos una vez al mes"),
    (4, "About weekly", "Más o menos una vez a la semana"),
    (5, "Daily", "A diario"),
)
BACKGROUND_LABELS = (
    ("respondent_id", "Respondent id (any unique code)", "Identificador de la persona (cualquier código único)"),
    ("years", "Years working as a peer support specialist (whole number)",
     "Años de trabajo como especialista de apoyo entre pares (número entero)"),
    ("setting", "Main work setting (e.g. community, clinical, hospital, justice, other)",
     "Entorno principal de trabajo (p. ej., comunitario, clínico, hospitalario, justicia, otro)"),
    ("region", "Region or state where you work", "Región o estado donde trabaja"),
    ("language", "Language you answered in (en or es)", "Idioma en que respondió (en o es)"),
)

#: Spanish titles of the 12 SAMHSA categories (written for certbank; the competencies' Spanish titles are
#: left to the program's translators).
SPANISH_AREA_TITLES = {
    "SAMHSA.I": "Involucra a los pares en relaciones de colaboración y cuidado",
    "SAMHSA.II": "Brinda apoyo",
    "SAMHSA.III": "Comparte experiencias vividas de recuperación",
    "SAMHSA.IV": "Personaliza el apoyo entre pares",
    "SAMHSA.V": "Apoya la planificación de la recuperación",
    "SAMHSA.VI": "Vincula con recursos, servicios y apoyos",
    "SAMHSA.VII": "Brinda información sobre habilidades relacionadas con la salud, el bienestar y la recuperación",
    "SAMHSA.VIII": "Ayuda a los pares a manejar crisis",
    "SAMHSA.IX": "Valora la comunicación",
    "SAMHSA.X": "Apoya la colaboración y el trabajo en equipo",
    "SAMHSA.XI": "Promueve el liderazgo y la defensa de derechos",
    "SAMHSA.XII": "Promueve el crecimiento y el desarrollo",
}

#: Experience bands for the subgroup comparison (whole years in practice).
EXPERIENCE_BANDS = ((0, 2, "0-2 years"), (3, 5, "3-5 years"), (6, None, "6+ years"))


def rating_column(scale: str, code: str) -> str:
    return f"{scale}:{code}"


def survey_columns(codes) -> list[str]:
    """The header of the survey layout for competencies ``codes``."""
    return list(BACKGROUND) + [rating_column(s, c) for c in codes for s in SCALES]


def competency_sheet(framework) -> pd.DataFrame:
    """Every competency of ``framework`` with area and titles in English and Spanish (blank where certbank
    has no Spanish title: for translators)."""
    rows = []
    for area in framework.areas:
        for comp in area.competencies:
            rows.append((comp.code, area.code, area.title, SPANISH_AREA_TITLES.get(area.code, ""), comp.title, ""))
    return pd.DataFrame(rows, columns=["code", "area", "area_title_en", "area_title_es", "title_en", "title_es"])


@dataclass(frozen=True)
class Survey:
    """A checked survey: ratings as respondents × competencies arrays (NaN = not rated) and background."""

    path: Path
    codes: tuple[str, ...]
    areas: tuple[str, ...]
    respondent_ids: tuple[str, ...]
    importance: np.ndarray
    frequency: np.ndarray
    background: pd.DataFrame  # the background columns present, as text ('' = not answered)
    rows: np.ndarray  # spreadsheet row of each respondent


def experience_band(years) -> np.ndarray:
    """The band label of each whole number of years (NaN → '')."""
    y = np.asarray(years, dtype=float)
    out = np.full(y.shape, "", dtype=object)
    for lo, hi, label in EXPERIENCE_BANDS:
        inside = (y >= lo) & ((y <= hi) if hi is not None else True) & ~np.isnan(y)
        out[inside] = label
    return out


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(Problem("the survey file does not exist", str(path)))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            sheets = pd.ExcelFile(path).sheet_names
            sheet = "Responses" if "Responses" in sheets else sheets[0]
            return pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=[])
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(Problem(f"the survey file cannot be read ({err})", str(path))) from None
    raise InputError(Problem(f"unsupported file type '{path.suffix}' (use .csv or .xlsx)", str(path)))


def _raise(problems: list[Problem]) -> None:
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem(f"and {len(problems) - MAX_PROBLEMS} more problems like these", shown[0].file))
        raise InputError(shown)


def read_survey(path, framework) -> Survey:
    """Read and check a filled-in survey against ``framework`` (module docstring for the layout)."""
    path = Path(path)
    fname = str(path)
    table = _read_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    codes = [c.code for c in framework.competencies]
    areas = [c.area_code for c in framework.competencies]
    known = set(codes)
    problems = []
    if "respondent_id" not in table.columns:
        problems.append(Problem("the column 'respondent_id' is missing", fname))
    for col in table.columns:
        scale, _, code = col.partition(":")
        if scale in SCALES and code and code not in known:
            problems.append(Problem(f"the competency {code} is not in framework {framework.code}", fname, 1, col))
    for code in codes:
        for scale in SCALES:
            if rating_column(scale, code) not in table.columns:
                problems.append(Problem(f"the survey has no column for rating {code} on {scale}", fname, 1,
                                        rating_column(scale, code)))
    _raise(problems)
    if len(table) < 2:
        raise InputError(Problem(f"the survey has {len(table)} respondent(s); at least 2 are needed", fname))
    rows = np.arange(len(table)) + 2
    arrays = {}
    for scale, top in SCALES.items():
        cols = [rating_column(scale, c) for c in codes]
        text = table[cols].apply(lambda s: s.str.strip()).to_numpy(dtype=object)
        blank = text == ""
        values = pd.DataFrame(text).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        bad = ~blank & (np.isnan(values) | (values != np.round(values)) | (values < 0) | (values > top))
        for i, j in zip(*np.nonzero(bad)):
            problems.append(Problem(f"{text[i, j]!r} is not a rating on the {scale} scale (a whole number "
                                    f"0-{top}, or blank)", fname, int(rows[i]), cols[j]))
        arrays[scale] = np.where(blank | bad, np.nan, values)
    _raise(problems)
    imp, freq = arrays["importance"], arrays["frequency"]
    half = np.isnan(imp) != np.isnan(freq)
    for i, j in zip(*np.nonzero(half)):
        missing = "frequency" if np.isnan(freq[i, j]) else "importance"
        problems.append(Problem(f"{codes[j]} is rated on one scale only: give its {missing} too, or leave both "
                                f"blank", fname, int(rows[i]), rating_column(missing, codes[j])))
    for i in np.nonzero(np.isnan(imp).all(axis=1) & np.isnan(freq).all(axis=1))[0]:
        problems.append(Problem("this respondent rated no competency (remove the row or add the ratings)",
                                fname, int(rows[i]), "respondent_id"))
    ids = table["respondent_id"].str.strip()
    for i in np.nonzero((ids == "").to_numpy())[0]:
        problems.append(Problem("the respondent id is blank", fname, int(rows[i]), "respondent_id"))
    for i in np.nonzero((ids.duplicated() & (ids != "")).to_numpy())[0]:
        problems.append(Problem(f"the respondent id {ids.iloc[i]!r} appears on an earlier row", fname, int(rows[i]),
                                "respondent_id"))
    background = pd.DataFrame({c: table[c].str.strip() for c in BACKGROUND if c in table.columns})
    if "years" in background:
        years = pd.to_numeric(background["years"], errors="coerce")
        wrong = (background["years"] != "") & (years.isna() | (years < 0) | (years > 70) | (years != years.round()))
        for i in np.nonzero(wrong.to_numpy())[0]:
            problems.append(Problem(f"{background['years'].iloc[i]!r} is not a whole number of years (0-70)",
                                    fname, int(rows[i]), "years"))
    _raise(problems)
    return Survey(path, tuple(codes), tuple(areas), tuple(ids), imp, freq, background.reset_index(drop=True), rows)


def subgroup_labels(survey: Survey, variables, min_size: int) -> dict[str, np.ndarray]:
    """Each requested background variable's label per respondent ('experience' = the years banded); a
    missing column or a group below ``min_size`` is an error naming file and column."""
    fname = str(survey.path)
    out, problems = {}, []
    for var in variables:
        column = "years" if var == "experience" else var
        if column not in survey.background:
            problems.append(Problem(f"the column '{column}' is missing, so respondents cannot be compared by {var}",
                                    fname))
            continue
        values = survey.background[column].to_numpy(dtype=object)
        if var == "experience":
            values = experience_band(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy())
        labels, counts = np.unique(values[values != ""], return_counts=True)
        for label, count in zip(labels, counts):
            if count < min_size and len(labels) > 1:
                problems.append(Problem(f"the group {label!r} has {count} respondents, fewer than the {min_size} a "
                                        f"subgroup comparison needs (merge it with another group, or lower "
                                        f"--min-subgroup)", fname, None, column))
        out[var] = values
    _raise(problems)
    return out
