"""Numbers a person types are read in ASCII digits (full-width folded to them where a form says
so); other scripts' digits (Arabic-Indic ٣, Devanagari ३) are refused, never read as a number.

Python's ``int()`` and a regex's ``\\d`` both take any Unicode digit: "٨" would be 8 yuan, a
period "٢٠٢٤Q1" would be stored under a key no page can find."""

from __future__ import annotations

from datetime import date

import pytest

from inventory.donations import fen_from_yuan
from inventory.stock import parse_yuan
from kiosk import assessments
from kiosk.api.contract import PERIOD_RE
from kiosk.api.monthend import MONTH_RE
from kiosk.errors import ValidationFailed
from kiosk.households import parse_birth_date
from kiosk.imports import parse_date
from kiosk.rules import presets
from kiosk.rules.periods import parse_period
from kiosk.rules.policy import PERIOD_QUARTER

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("script", [ARABIC, DEVANAGARI], ids=["arabic-indic", "devanagari"])
def test_other_scripts_digits_are_refused(app, script):
    with pytest.raises(ValidationFailed):
        fen_from_yuan("8".translate(script))
    with pytest.raises(ValidationFailed):
        parse_yuan("12.50".translate(script))
    with pytest.raises(ValueError):
        parse_period("2024Q1".translate(script))
    assert not PERIOD_RE.match("2024Q1".translate(script))  # the API's period field
    assert not MONTH_RE.match("2024-03".translate(script))  # the API's month-end month
    with pytest.raises(ValidationFailed):
        parse_birth_date("1950-03-07".translate(script))
    with pytest.raises(ValidationFailed):
        parse_birth_date("19500307".translate(script))
    with pytest.raises(ValueError):  # the import names the row and the column
        parse_date("2024-03-05".translate(script))
    with pytest.raises(ValidationFailed):
        assessments.validate_period("2024Q1".translate(script), presets.preset("zhaili"))


def test_ascii_and_full_width_digits_are_read(app):
    assert fen_from_yuan("8") == 800
    assert fen_from_yuan("12.5".translate(FULL_WIDTH)) == 1250
    assert parse_yuan("12.50") == 1250
    assert parse_yuan("12.50".translate(FULL_WIDTH)) == 1250
    assert parse_period("2024Q1") == (PERIOD_QUARTER, 2024, 1)
    assert PERIOD_RE.match("2024Q1") and MONTH_RE.match("2024-03")
    assert parse_birth_date("1950-03-07") == date(1950, 3, 7)
    assert parse_birth_date("19500307".translate(FULL_WIDTH)) == date(1950, 3, 7)
    assert parse_date("2024-03-05") == date(2024, 3, 5)
    assert assessments.validate_period("2024Q1", presets.preset("zhaili")) == "2024Q1"
