"""Numbers and Latin text inside Arabic keep their order: a phone number in a sentence sits in a Unicode isolate
(what <bdi> does), else its plus reads at the wrong end ("201001234567+"); filled template values too."""

from __future__ import annotations

import re

from fleet_dashboard import strings
from fleet_dashboard.web.format import fill_preview, isolated

PHONE_IN_TEXT = re.compile(r"(.)?\+\d{8,15}(.)?")


def _texts():
    for name in dir(strings):
        value = getattr(strings, name)
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict):
            yield from ((f"{name}[{k}]", v) for k, v in value.items() if isinstance(v, str))


def test_a_phone_number_in_an_arabic_sentence_is_isolated() -> None:
    for name, text in _texts():
        if name.endswith("PLACEHOLDER"):
            continue  # shown inside a left-to-right input
        for match in PHONE_IN_TEXT.finditer(text):
            assert match.group(1) in ("\u2066", "\u2068") and match.group(2) == "\u2069", (name, text)


def test_filled_values_that_are_not_arabic_are_isolated() -> None:
    assert isolated("+201001234567") == "\u2068+201001234567\u2069"
    assert isolated("سارة") == "سارة" and isolated("1042") == "1042"
    assert fill_preview("للرقم {{phone}} بتاريخ {{due_date}}", {"phone": "+201001234567"}) == (
        "للرقم \u2068+201001234567\u2069 بتاريخ [تاريخ الاستحقاق]")
