"""Rendering for the terminal: removes control characters and escape sequences from any text
that came from a guide or a user, and lays out answers, sources and rankings as plain text."""

from __future__ import annotations

import json
import re
import textwrap

from assistant.schema import Answer, Hit

# ANSI/VT escape sequences (CSI, OSC, other ESC sequences), then any other C0/C1 control character.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
# bidirectional and invisible formatting characters: they reorder or hide what is shown
_BIDI = "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
_CONTROLS = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_BIDI_ONLY = re.compile(rf"[{_BIDI}]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # undecodable bytes of argv or a file name (surrogateescape)
# a spreadsheet runs a cell that starts with one of these as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str) -> str:
    """Text safe to print: escape sequences and control characters removed (newlines and tabs
    kept); bytes that were not UTF-8 shown as U+FFFD."""
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", _ESCAPES.sub("", str(text))))


def to_json(obj) -> str:
    """One line of JSON: control characters (C0, DEL and C1) escaped, never raw; bidi and invisible
    formatting characters removed; undecodable bytes as U+FFFD."""
    text = _BIDI_ONLY.sub("", _SURROGATES.sub("\ufffd", json.dumps(obj, ensure_ascii=False)))
    return re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


def csv_cell(value):
    """A CSV cell safe to open in a spreadsheet: text cleaned like `clean` (newlines kept), and a
    leading ' when it would start a formula (=, +, -, @, tab, CR)."""
    if not isinstance(value, str):
        return value
    text = clean(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def source_line(n: int, title: str, section: str) -> str:
    return clean(f"[{n}] {title} - {section}" if section and section != title else f"[{n}] {title}")


def render_answer(answer: Answer) -> str:
    out = [clean(answer.text)]
    if answer.citations:
        out += ["", "Sources:"]
        out += ["  " + source_line(c.n, c.passage.title, c.passage.section) for c in answer.citations]
    return "\n".join(out)


def render_hits(hits: list[Hit], width: int = 100) -> str:
    if not hits:
        return "No passage matches that query."
    out = []
    for h in hits:
        p = h.passage
        out.append(clean(f"{h.rank:>2}. {h.score:.3f}  {p.title} - {p.section}  ({p.id})"))
        out.append(textwrap.indent(textwrap.shorten(clean(p.text), width=width * 2, placeholder=" ..."), "    "))
    return "\n".join(out)
