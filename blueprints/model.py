"""A blueprint as data: what every form must contain, which items may fill it, and how parallel forms must be.

Every rule is structured data — an attribute of the item pool, the values it counts, and numeric bounds —
never an evaluated expression, so a blueprint from TOML, CSV or Excel means exactly the same thing and can be
checked independently of the optimiser (``verify.py``).

Rule kinds (each applies to every new form separately):

* :class:`CountRule` — the number of *scored* items whose ``attribute`` is one of ``values`` lies in
  ``[lower, upper]`` (content areas, competencies, key letters, cognitive levels).
* :class:`MeanRule` — the mean of a numeric attribute over scored items lies in ``[lower, upper]``
  (e.g. mean classical P).
* :class:`ItemBoundRule` — every scored item's numeric attribute lies in ``[lower, upper]``
  (e.g. point-biserial ≥ 0.15); this narrows eligibility.
* enemies (never two enemies on one form), max overlap (items shared by any two new forms), item order.

Statistical targets (:class:`InformationTarget`, :class:`CharacteristicTarget`) are soft: the optimiser
minimises how far forms stray beyond their tolerance (van der Linden 2005, *Linear Models for Optimal Test
Design*, ch. 5 — minimax deviation from a target), or maximises the minimum information (maximin).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

#: Item pool columns a count rule may count on.
CATEGORICAL_ATTRIBUTES = ("area", "primary_competency", "cognitive_level", "key", "status", "n_options")
#: Item pool columns a mean or per-item bound may constrain.
NUMERIC_ATTRIBUTES = ("p_value", "point_biserial", "a", "b", "c", "exposure_count")
#: Human names for language codes, for plain-language messages.
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese",
                  "vi": "Vietnamese", "ko": "Korean", "tl": "Tagalog"}
ITEM_ORDERS = ("area", "random", "none")
#: What happens to items that lack a statistic a rule needs (p_value, point_biserial, IRT a/b):
#: "exclude" — they cannot fill scored slots; "allow" — they may, and each statistical rule is computed over
#: the items that have the statistic; "pretest" — they may fill pretest (unscored) slots only.
WITHOUT_STATISTICS = ("exclude", "allow", "pretest")
TARGET_MODES = ("target", "maximin")
#: The largest number of unscored pretest slots we allow on a form (IC&RC mixes about 25 into 150).
MAX_PRETEST_SLOTS = 20


def language_name(code: str) -> str:
    """"es" → "Spanish", for messages; unknown codes come back unchanged."""
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Exam:
    name: str
    length: int = 120  # scored items per form
    pretest_slots: int = 0  # unscored items per form, on top of ``length``
    languages: tuple[str, ...] = ("en",)
    framework: str = ""


@dataclass(frozen=True)
class Eligibility:
    """Which items may fill scored and pretest slots.

    ``exclude_last_forms`` K: drop items whose last use was on one of the K most recent forms.
    ``max_exposure`` N: drop items already used on more than N published forms (None = no limit); forms of
    one run count too, so no item ends up on more than N + 1 forms once the run is published.
    ``without_statistics``: see :data:`WITHOUT_STATISTICS`.
    ``pretest_repeat``: False — a pretest item already on a published form that has statistics is not
    pretested again (it waits for promotion); one still without statistics may be placed again.
    """

    scored_statuses: tuple[str, ...] = ("operational",)
    pretest_statuses: tuple[str, ...] = ("pretest",)
    reviewed_languages: tuple[str, ...] = ("en",)
    exclude_last_forms: int = 0
    max_exposure: int | None = None
    without_statistics: str = "exclude"
    pretest_repeat: bool = False


@dataclass(frozen=True)
class Anchor:
    """An anchor block for equating (the common items of a NEAT design; Kolen & Brennan 2014, §8.1: at least
    20% of the test or 20 items, a mini version of the test in content and statistics).

    ``reference``: "" (none), "latest" (the most recently published form) or "form:<id>". Every new form
    shares at least ``min_items`` scored items with the reference form that have bank IRT parameters and
    classical statistics, spread over the content areas in proportion to the blueprint (see
    :func:`anchor_area_bounds`). ``keep_positions``: items shared with the reference form keep their position
    (so their key letter sits where it sat), the other items fill the remaining positions in blueprint order.
    ``shared_within_run``: the forms of one run share a common block of ``min_items`` scored items (same
    proportional spread, same positions on every form), so parallel forms can be equated to each other; those
    items need no parameters yet (they are calibrated together with the run's forms).
    """

    reference: str = ""
    min_items: int = 0
    keep_positions: bool = True
    shared_within_run: bool = False

    @property
    def reference_form(self) -> str | None:
        return self.reference[5:] if self.reference.startswith("form:") else None

    @property
    def active(self) -> bool:
        return self.min_items > 0 and (bool(self.reference) or self.shared_within_run)


def area_counts(bp: "Blueprint") -> dict[str, float]:
    """Blueprint count per content area (single-area count rules; a range counts as its midpoint)."""
    out: dict[str, float] = {}
    for rule in bp.active_counts:
        if rule.attribute == "area" and len(rule.values) == 1 and (rule.lower is not None or rule.upper is not None):
            lo = rule.lower if rule.lower is not None else rule.upper
            hi = rule.upper if rule.upper is not None else rule.lower
            out.setdefault(rule.values[0], (lo + hi) / 2.0)
    return out


def anchor_area_bounds(bp: "Blueprint") -> dict[str, tuple[int, int]]:
    """Per area, the anchor items allowed: within ±1 of count × min_items / length (Kolen & Brennan 2014,
    §8.1: the anchor is a proportional mini version of the test), i.e. [ceil(e − 1), floor(e + 1)], never
    below 0 or above the area's count."""
    m, length = bp.anchor.min_items, bp.exam.length
    out = {}
    for code, count in area_counts(bp).items():
        e = count * m / length
        out[code] = (max(0, math.ceil(e - 1 - 1e-9)), min(int(count), math.floor(e + 1 + 1e-9)))
    return out


@dataclass(frozen=True)
class CountRule:
    id: str
    attribute: str
    values: tuple[str, ...]
    lower: int | None = None
    upper: int | None = None
    label: str = ""  # how messages name it, e.g. "Category VIII"
    on: bool = True

    @property
    def name(self) -> str:
        return self.label or f"{self.attribute} {'/'.join(self.values)}"


@dataclass(frozen=True)
class _BoundRule:
    """Bounds on a numeric item attribute (p_value, point_biserial, ...); subclasses say what is bounded."""

    id: str
    attribute: str
    lower: float | None = None
    upper: float | None = None
    label: str = ""
    on: bool = True
    _kind = ""

    @property
    def name(self) -> str:
        return self.label or f"{self._kind} {self.attribute}"


@dataclass(frozen=True)
class MeanRule(_BoundRule):
    """The form's mean of the attribute lies within the bounds."""

    _kind = "mean"


@dataclass(frozen=True)
class ItemBoundRule(_BoundRule):
    """Every scored item's attribute lies within the bounds."""

    _kind = "item"

    def describe(self) -> str:
        if self.lower is not None and self.upper is not None:
            return f"{self.attribute.replace('_', '-')} between {self.lower:g} and {self.upper:g}"
        if self.lower is not None:
            return f"{self.attribute.replace('_', '-')} of at least {self.lower:g}"
        return f"{self.attribute.replace('_', '-')} of at most {self.upper:g}"


@dataclass(frozen=True)
class InformationTarget:
    """Test information at ``theta``.

    mode "target": keep each form's TIF within ``tolerance`` (a fraction of the target) of ``values``, or,
    when ``values`` is empty, of the reference form (exam length × the mean item information of the eligible
    scored pool at each θ). mode "maximin": maximise the smallest TIF(θ_k) / reference_k over forms and
    points, with no two forms further apart than ``tolerance`` of the reference.
    """

    theta: tuple[float, ...] = (-1.0, 0.0, 1.0)
    mode: str = "target"
    values: tuple[float, ...] = ()
    tolerance: float = 0.05


@dataclass(frozen=True)
class CharacteristicTarget:
    """Test characteristic curve (expected number-correct) at ``theta`` within ``tolerance`` score points of
    ``values`` or, when empty, of the reference form (exam length × mean P(θ) of the eligible pool)."""

    theta: tuple[float, ...] = (-1.0, 0.0, 1.0)
    values: tuple[float, ...] = ()
    tolerance: float = 1.0


@dataclass(frozen=True)
class Blueprint:
    exam: Exam
    eligibility: Eligibility = field(default_factory=Eligibility)
    counts: tuple[CountRule, ...] = ()
    means: tuple[MeanRule, ...] = ()
    item_bounds: tuple[ItemBoundRule, ...] = ()
    enemies: bool = True
    max_overlap: int | None = None  # None: no limit between new forms; 0: disjoint forms
    #: At most this many items of a new form may be on each of the ``recent_forms`` most recent published
    #: forms (anchor items included); None: no limit.
    max_shared_with_recent: int | None = None
    recent_forms: int = 1
    anchor: Anchor = field(default_factory=Anchor)
    order: str = "area"
    order_seed: int | None = None
    information: InformationTarget | None = None
    characteristic: CharacteristicTarget | None = None
    #: What targets without explicit values are relative to: "pool" (length × the mean over the eligible pool)
    #: or "form:<form_id>" (that form's TIF / TCC, rescaled to this exam's length).
    target_reference: str = "pool"
    source: str = ""  # the file it came from (not part of the hash)

    @property
    def name(self) -> str:
        return self.exam.name

    @property
    def active_counts(self) -> tuple[CountRule, ...]:
        return tuple(r for r in self.counts if r.on)

    @property
    def active_means(self) -> tuple[MeanRule, ...]:
        return tuple(r for r in self.means if r.on)

    @property
    def active_item_bounds(self) -> tuple[ItemBoundRule, ...]:
        return tuple(r for r in self.item_bounds if r.on)

    def content(self) -> dict:
        """Everything that defines the blueprint's meaning, as plain JSON-able data."""
        data = asdict(self)
        data.pop("source")
        return data

    @property
    def reference_form(self) -> str | None:
        """The form id targets are relative to, or None for the pool reference."""
        return self.target_reference[5:] if self.target_reference.startswith("form:") else None

    def hash(self) -> str:
        """SHA-256 of :meth:`content` as canonical JSON: the same rules give the same hash from any file."""
        blob = json.dumps(self.content(), sort_keys=True, separators=(",", ":"), default=_json_default)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _json_default(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
