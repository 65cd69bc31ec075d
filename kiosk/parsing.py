"""Strict parsing of untrusted text: whole numbers, control characters, JSON nesting, image size.

A leaf module (the standard library only, Pillow inside one function) so that the API, the
office forms, the importer and the hardware pages can share it. Each parser refuses rather than
guesses: ``int("²")`` raises, ``int("٣")`` is 3 and ``int(" 1_0 ")`` is 10 in Python, yet none
of them is a number a keeper typed; a number beyond the database's integer column is refused
here, not by PostgreSQL in the middle of a transaction.
"""

from __future__ import annotations

import io
import re
import unicodedata
from itertools import accumulate
from typing import Any

# The largest id or quantity a database column holds: INTEGER is 32-bit on PostgreSQL. A real
# id never gets near it; a larger one is refused at the edge (404 in a path, 400 in a body).
DB_INT_MAX = 2**31 - 1
DB_INT_MIN = -(2**31)

_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
_UNSIGNED_RE = re.compile(r"\+?[0-9]{1,18}")

# Tab, line feed and carriage return: allowed in multi-line text (a note from a textarea).
LINE_BREAKS = frozenset("\t\n\r")


def parse_int(
    text: Any,
    *,
    minimum: int | None = DB_INT_MIN,
    maximum: int | None = DB_INT_MAX,
    signed: bool = True,
) -> int:
    """A whole number written in ASCII digits (optional sign when ``signed``), within bounds.

    Raises ``ValueError`` (so it works as werkzeug's ``request.args.get(..., type=...)``) for
    anything else: blank, ``1.5``, ``1_0``, ``²``, ``٣``, or a number out of range. Surrounding
    spaces are ignored.
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError("not a whole number")
    if isinstance(text, int):
        value = text
    else:
        stripped = text.strip()
        pattern = _INT_RE if signed else _UNSIGNED_RE
        if not pattern.fullmatch(stripped):
            raise ValueError("not a whole number")
        value = int(stripped)
    if minimum is not None and value < minimum:
        raise ValueError("too small")
    if maximum is not None and value > maximum:
        raise ValueError("too large")
    return value


def db_id(text: Any) -> int:
    """A row id: ASCII digits, 1 to 2³¹−1 (a ``type=`` for ``request.args.get``)."""
    return parse_int(text, minimum=1, maximum=DB_INT_MAX, signed=False)


def count(text: Any) -> int:
    """A non-negative whole number a database column holds (quantities, pages, seconds)."""
    return parse_int(text, minimum=0, maximum=DB_INT_MAX, signed=False)


def optional_int(text: Any, **bounds: Any) -> int | None:
    """``parse_int`` for an optional field: None when blank or not a valid number."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return parse_int(text, **bounds)
    except ValueError:
        return None


def bad_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character text may not hold, or None.

    Refused: control characters (NUL and the rest of C0, DEL, C1) — PostgreSQL cannot store
    NUL, and the others garble receipts and exports — and lone surrogates, which cannot be
    written as UTF-8. Tab and line breaks are allowed in ``multiline`` text only.
    """
    for ch in text:
        if ch.isprintable() or ch == " ":
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            if multiline and ch in LINE_BREAKS:
                continue
            return ch
        if category == "Cs":
            return ch
    return None


def describe_character(ch: str) -> str:
    """How a refused character is shown: its code point (a NUL cannot be printed)."""
    return f"U+{ord(ch):04X}"


def json_depth(data: bytes | str) -> int:
    """How deeply a JSON text nests arrays and objects, counted without parsing it.

    Brackets inside strings do not count. Linear time in C loops: strings are removed by one
    regular expression, and the running depth is summed by ``itertools.accumulate``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    without_strings = _JSON_STRING.sub(b"", data)
    brackets = without_strings.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)))


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def image_pixels(data: bytes) -> int | None:
    """Width × height from an image's header, without decoding it; None when it is no image.

    A 279 kB PNG can declare 16000×16000 pixels, 256 MB once decoded: callers compare this with
    their limit before handing the bytes to a decoder.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        return 2**62  # larger than any limit: Pillow refused to even open it
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return width * height
