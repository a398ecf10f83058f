"""Rendering for the terminal: removes control characters and escape sequences from any text
that came from a guide or a user, and lays out answers, sources and rankings as plain text."""

from __future__ import annotations

import json
import re
import textwrap

from assistant.schema import Answer, Hit

# ANSI/VT escape sequences (CSI, OSC, other ESC sequences), then any other C0/C1 control character.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Text safe to print: escape sequences and control characters removed (newlines and tabs kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def to_json(obj) -> str:
    """One line of JSON; control characters (C0, DEL and C1) always escaped, never raw."""
    text = json.dumps(obj, ensure_ascii=False)
    return re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


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
