"""The rules every piece of text a user gives certbank must meet, and what a supported format can hold.

One rule for items, frameworks and response files alike, so that nothing is accepted that an export cannot
write back exactly:

* no control characters other than tab, newline and carriage return (BEL, ESC, NUL … cannot be stored in an
  .xlsx cell, are never meant in exam text, and would make a later export or workbook fail);
* at most :data:`MAX_CELL_CHARS` characters in one value, the most an Excel cell holds: longer text would
  be cut without a word by the .xlsx export and re-imported cut.

``text_problem`` says what is wrong with a value (None when it is fine); ``xlsx_safe`` is the cleaner for
text that reaches a workbook from somewhere certbank did not check (a file name, an exception message).
``json_value_problem`` names a JSON value whose type cannot be a cell (an object, a nested list).
"""
from __future__ import annotations

import re

#: The most characters one cell of an .xlsx workbook holds (Excel's specification and limits).
MAX_CELL_CHARS = 32_767

#: Control characters other than tab, newline and carriage return (XML 1.0 forbids most of them).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 11: "VT", 12: "FF", 27: "ESC", 127: "DEL"}


def control_name(char: str) -> str:
    """A control character as a user can look it up: 'BEL (U+0007)'."""
    code = ord(char)
    name = _NAMES.get(code)
    return f"{name} (U+{code:04X})" if name else f"U+{code:04X}"


def text_problem(value: str) -> str | None:
    """What is wrong with ``value`` as certbank text, in a few words, or None when nothing is."""
    if not isinstance(value, str) or not value:
        return None
    found = CONTROL_CHARACTERS.search(value)
    if found:
        return (f"contains the control character {control_name(found.group())} at position {found.start() + 1} "
                "(only tab and line breaks are allowed)")
    if len(value) > MAX_CELL_CHARS:
        return (f"holds {len(value):,} characters; the limit is {MAX_CELL_CHARS:,} (the most an Excel cell "
                "holds, so an export could not keep it)")
    return None


def xlsx_safe(value):
    """``value`` with the control characters an .xlsx cell cannot hold removed (other values unchanged)."""
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        return CONTROL_CHARACTERS.sub("", value)
    return value


def json_value_problem(value) -> str | None:
    """Why a JSON value cannot be one cell (an object, a list holding objects or lists), or None."""
    if isinstance(value, dict):
        return "is a JSON object; give text (or a list of texts)"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "is a list holding objects or lists; give text (or a list of texts)"
    return None
