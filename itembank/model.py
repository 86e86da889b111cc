"""What the item bank holds, as frozen dataclasses and enums.

Nothing here speaks SQL or reads files: ``store.py`` turns rows into these objects and ``importing.py`` /
``exporting.py`` turn spreadsheet rows into them. An :class:`ItemVersion` is immutable; changing any of its
content (text, options, key, competencies, keywords, author, source, cognitive level) makes version n+1.
Status and enemies belong to the :class:`Item`, not to a version.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum


def utc_now() -> str:
    """The bank's clock: ISO 8601 UTC with milliseconds, the form every timestamp column holds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


#: Option labels in order; an item has the first ``n_options`` of them.
OPTION_LABELS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
MIN_OPTIONS = 2
MAX_OPTIONS = len(OPTION_LABELS)
#: English is required on every item; other languages are optional.
REQUIRED_LANGUAGE = "en"
#: Separator of list-valued cells (secondary competencies, keywords, enemies) in the wide layout.
LIST_SEPARATOR = "; "


class ItemStatus(str, Enum):
    DRAFT = "draft"
    REVIEW = "review"
    APPROVED = "approved"
    PRETEST = "pretest"
    OPERATIONAL = "operational"
    RETIRED = "retired"


#: The item lifecycle: draft → review → approved → pretest → operational → retired, and review → draft.
ITEM_TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.DRAFT: frozenset({ItemStatus.REVIEW}),
    ItemStatus.REVIEW: frozenset({ItemStatus.APPROVED, ItemStatus.DRAFT}),
    ItemStatus.APPROVED: frozenset({ItemStatus.PRETEST}),
    ItemStatus.PRETEST: frozenset({ItemStatus.OPERATIONAL}),
    ItemStatus.OPERATIONAL: frozenset({ItemStatus.RETIRED}),
    ItemStatus.RETIRED: frozenset(),
}


class TranslationStatus(str, Enum):
    DRAFT = "draft"
    TRANSLATED = "translated"
    REVIEWED = "reviewed"


class CognitiveLevel(str, Enum):
    RECALL = "recall"
    APPLICATION = "application"
    ANALYSIS = "analysis"


class FormStatus(str, Enum):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


#: Form lifecycle: draft → approved → published (frozen), and approved → draft.
FORM_TRANSITIONS: dict[FormStatus, frozenset[FormStatus]] = {
    FormStatus.DRAFT: frozenset({FormStatus.APPROVED}),
    FormStatus.APPROVED: frozenset({FormStatus.PUBLISHED, FormStatus.DRAFT}),
    FormStatus.PUBLISHED: frozenset(),
}


def can_transition(old: ItemStatus, new: ItemStatus) -> bool:
    return new in ITEM_TRANSITIONS[ItemStatus(old)]


# ---- frameworks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Competency:
    code: str  # e.g. "SAMHSA.IX.6"
    title: str
    area_code: str
    framework_code: str


@dataclass(frozen=True)
class Area:
    code: str  # e.g. "SAMHSA.IX"
    title: str
    framework_code: str
    competencies: tuple[Competency, ...] = ()


@dataclass(frozen=True)
class Framework:
    code: str  # prefix of every code in it, e.g. "SAMHSA"
    name: str
    version: str
    areas: tuple[Area, ...] = ()

    @property
    def competencies(self) -> tuple[Competency, ...]:
        return tuple(c for a in self.areas for c in a.competencies)


@dataclass(frozen=True)
class CrosswalkLink:
    from_code: str
    to_code: str
    note: str = ""


# ---- items --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemText:
    """The text of one item version in one language. ``options`` has exactly the version's n_options."""

    language: str
    stem: str
    options: tuple[str, ...]
    rationale: str = ""
    translation_status: TranslationStatus = TranslationStatus.DRAFT


@dataclass(frozen=True)
class ItemVersion:
    """One immutable version of an item's content. ``texts`` is ordered with English first."""

    item_id: str
    version: int
    key: str
    primary_competency: str
    texts: tuple[ItemText, ...]
    secondary_competencies: tuple[str, ...] = ()
    cognitive_level: CognitiveLevel = CognitiveLevel.RECALL
    author: str = ""
    source: str = ""
    keywords: tuple[str, ...] = ()
    created_by: str = ""
    created_at: str = ""

    @property
    def n_options(self) -> int:
        return len(self.texts[0].options) if self.texts else 0

    @property
    def option_labels(self) -> tuple[str, ...]:
        return OPTION_LABELS[: self.n_options]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(t.language for t in self.texts)

    def text(self, language: str = REQUIRED_LANGUAGE) -> ItemText | None:
        for t in self.texts:
            if t.language == language:
                return t
        return None

    def content(self) -> dict:
        """Everything that defines this version's content (not its number, author of the change or date)."""
        return {
            "key": self.key,
            "primary_competency": self.primary_competency,
            "secondary_competencies": list(self.secondary_competencies),
            "cognitive_level": CognitiveLevel(self.cognitive_level).value,
            "author": self.author,
            "source": self.source,
            "keywords": list(self.keywords),
            "texts": [
                {
                    "language": t.language,
                    "stem": t.stem,
                    "options": list(t.options),
                    "rationale": t.rationale,
                    "translation_status": TranslationStatus(t.translation_status).value,
                }
                for t in sorted(self.texts, key=lambda t: (t.language != REQUIRED_LANGUAGE, t.language))
            ],
        }

    def content_hash(self) -> str:
        """SHA-256 of :meth:`content` as canonical JSON; equal hashes mean the same content."""
        blob = json.dumps(self.content(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Item:
    """An item: its stable id, lifecycle status, enemies and its current (latest) version."""

    item_id: str
    status: ItemStatus
    current: ItemVersion
    enemies: tuple[str, ...] = ()
    exposure_count: int = 0
    last_used_form: str = ""

    @property
    def version(self) -> int:
        return self.current.version


@dataclass(frozen=True)
class ItemDraft:
    """An item as an author or an import file states it: content plus the status and enemies wanted."""

    version: ItemVersion  # item_id and content; version number and created_* are assigned by the bank
    status: ItemStatus = ItemStatus.DRAFT
    enemies: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusChange:
    item_id: str
    from_status: ItemStatus | None
    to_status: ItemStatus
    user: str
    at: str
    reason: str


@dataclass(frozen=True)
class AuditEntry:
    entry_id: int
    at: str
    user: str
    action: str
    item_id: str | None
    before: dict | None
    after: dict | None


# ---- forms --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormItem:
    position: int  # 1-based order on the form
    item_id: str
    version: int
    is_pretest: bool = False


@dataclass(frozen=True)
class Form:
    form_id: str
    name: str
    items: tuple[FormItem, ...]
    blueprint_name: str = ""
    blueprint_hash: str = ""
    status: FormStatus = FormStatus.DRAFT
    created_by: str = ""
    created_at: str = ""
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(fi.item_id for fi in sorted(self.items, key=lambda fi: fi.position))

    @property
    def scored_item_ids(self) -> tuple[str, ...]:
        return tuple(fi.item_id for fi in sorted(self.items, key=lambda fi: fi.position) if not fi.is_pretest)


# ---- administrations and parameter sets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Administration:
    """One delivery of a form: a testing window, its candidates and (when known) the SHA-256 of the response
    file, so the same file is never analysed as two administrations. ``form_id`` is None only for the legacy
    administrations a V1 bank's statistics were migrated into (their form was never recorded)."""

    administration_id: str
    form_id: str | None
    window_start: str | None = None  # ISO date, YYYY-MM-DD
    window_end: str | None = None
    n_candidates: int | None = None
    language_counts: dict = field(default_factory=dict, compare=False, hash=False)  # e.g. {"en": 2000}
    responses_sha256: str | None = None
    created_at: str = ""
    created_by: str = ""
    notes: str = ""


#: Calibration methods a parameter set may name. 'free' is an unlinked calibration (its own scale);
#: 'fixed-anchor' holds anchors at bank values; the linking methods transform a free calibration with
#: constants A, B (theta_bank = A·theta + B); 'legacy' marks sets migrated from a V1 bank and 'unspecified'
#: those saved through ``save_item_parameters`` without a method.
CALIBRATION_METHODS: tuple[str, ...] = (
    "free", "fixed-anchor", "concurrent", "stocking-lord", "haebara", "mean-sigma", "mean-mean",
    "unspecified", "legacy",
)
#: Methods that only make sense with linking constants A and B.
LINKING_METHODS = frozenset({"stocking-lord", "haebara", "mean-sigma", "mean-mean"})
#: The scale id of the bank's one operational scale.
BANK_SCALE = "bank"


@dataclass(frozen=True)
class ParameterSet:
    """One saved calibration with its provenance (the rows of ``parameter_sets``).

    ``linking`` is {"A": float, "B": float} or None; ``anchors`` is the caller's JSON about anchor items (held,
    released for drift, displacements), kept verbatim. ``starts_scale`` is True for the set that defined its
    scale (the first accepted one) or started a new bank scale (``new_scale=True``)."""

    parameter_set_id: int
    model: str
    D: float
    method: str
    scale: str
    administration_id: str | None = None
    form_id: str | None = None
    linking: dict | None = field(default=None, compare=False, hash=False)
    anchors: object = field(default=None, compare=False, hash=False)
    accepted: bool = True
    starts_scale: bool = False
    label: str = ""
    n_items: int = 0
    created_at: str = ""
    created_by: str = ""
