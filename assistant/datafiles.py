"""The one loader for the knowledge files in assistant/data/: each file has a schema, and a file
that breaks it (an unknown or misspelt key, a wrong type, a regular expression that does not
compile, a phrase listed twice) is an error at load naming the file and the entry.

Regular expressions are case-insensitive (patterns.Regex). A file read for the first time, or
changed since, is checked whole: its patterns are compiled here, so a bad one is an error at load.
A file exactly as an index build checked it (same sha256; the build keeps a snapshot, `trust`)
is taken from that snapshot: no TOML to parse, and each pattern compiled when first needed. Each
file is read once per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Callable

from assistant.patterns import Regex, required_strings

# the shipped data files (a plain folder of the package: importlib.resources would import tempfile,
# shutil, bz2, lzma and random on the way, 8 ms of a cold start)
DATA_DIR = Path(__file__).resolve().parent / "data"


class DataFileError(ValueError):
    """A data file that does not match its schema, with the file and the entry at fault."""


# A schema is a dict of key -> spec; a spec is one of:
#   str, int, float, bool          a value of that type
#   "regex"                        a string compiled with re.IGNORECASE
#   [spec]                         a list of such values (strings in it must be unique)
#   {key: spec}                    a table with exactly these optional keys
#   ("*", spec)                    a table of any keys, each value matching spec
# Keys are optional unless REQUIRED lists them.
REGEX = "regex"
WORDS = [str]
REGEXES = [REGEX]

_SENSE = {"question": REGEXES, "passages": REGEXES}
_INTENT = {"role": str, "examples": WORDS, "sections": REGEXES, "cues": WORDS, "values": REGEXES,
           "patterns": REGEXES, "person_patterns": REGEXES, "child_patterns": REGEXES, "asks_to_avoid": WORDS, "replies": ("*", WORDS), "reply_variants": ("*", WORDS), "senses": ("*", _SENSE)}
_RULE = {"id": str, "condition": str, "verdict": str, "triggers": WORDS, "near": [WORDS], "patterns": REGEXES,
         "word_patterns": REGEXES, "exclude": WORDS, "body_excludes": WORDS, "quotes": WORDS, "can_pass": bool,
         "passing": WORDS, "scope": str, "beside": WORDS, "on_area": bool, "signs": WORDS, "sign_dimensions": WORDS, "explained_by": WORDS, "lasting": bool}

LEXICON_DIMENSIONS = ("medical", "lay", "slang", "symptoms", "causes", "body", "cure_claims")
_LEXICON = {"note": str, "patterns": REGEXES, "reactions": WORDS, **{d: WORDS for d in LEXICON_DIMENSIONS}}

SCHEMAS: dict[str, dict] = {
    "cleaning.toml": {"cut_from": REGEXES, "drop_lines": REGEXES, "drop_sections": REGEXES, "caption_max_words": int,
                      "not_answers": REGEXES, "claims": REGEXES},
    "thesaurus.toml": {"synonyms": ("*", WORDS), "concepts": ("*", WORDS), "shorthand": ("*", str),
                       "ages": {"units": WORDS}, "stop_words": {"add": WORDS, "keep": WORDS}},
    "intents.toml": ("*", _INTENT),
    "safety.toml": {"disclaimer": str, "negation_cues": WORDS, "negation_window": int, "negation_joins": WORDS, "negation_blockers": WORDS,
                    "clause_breaks": WORDS, "near_window": int, "phrase_gap": int, "hypothetical_cues": WORDS, "supposition_joins": WORDS, "past_cues": WORDS,
                    "ongoing_cues": WORDS, "uncertain_cues": WORDS, "confirming_cues": WORDS, "long_ago_cues": WORDS, "future_cues": WORDS, "rules": [_RULE]},
    "replies.toml": {"greeting": str, "thanks": str, "help": str, "goodbye": str, "aside": str, "abstain": str, "suggest": str,
                     "no_sentences": str, "read_as": str, "topics": ("*", str), "safety_stop": str, "safety_avoid": str, "safety_caution": str, "safety_if": str,
                     "sense_notes": ("*", str), "differ": str, "agree": str, "suggestions": WORDS},
    "conditions.toml": ("*", _LEXICON),
    "language.toml": {"contractions": ("*", WORDS), "bare_contractions": ("*", WORDS),
                      "clause_start_contractions": ("*", WORDS), "clause_start_not_before": WORDS,
                      "contraction_verbs_after": WORDS, "contraction_not_after": WORDS,
                      "bare_contraction_stems": WORDS, "question_words": WORDS, "also_asking": WORDS,
                      "indirect_asking": WORDS, "indirect_question_words": WORDS, "follow_up_openers": WORDS,
                      "pronouns": WORDS, "refers_back": WORDS, "points_back": WORDS, "part_joiners": WORDS,
                      "leading_fillers": WORDS, "leans_on_previous": WORDS, "heading_function_words": WORDS,
                      "people": ("*", WORDS), "first_person": WORDS, "third_person": WORDS, "correction_cues": WORDS,
                      "areas": ("*", WORDS), "pronoun_people": ("*", WORDS),
                      "pronoun_forms": ("*", WORDS), "self_naming": WORDS, "self_naming_determiners": WORDS, "receiving_verbs": WORDS,
                      "address_forms": WORDS, "person_determiners": WORDS, "reporting_verbs": WORDS, "reporting_adverbs": WORDS, "young_people": WORDS, "giving_verbs": WORDS},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "safety.toml": ("disclaimer", "negation_cues", "negation_window", "negation_blockers", "clause_breaks",
                    "near_window", "rules"),
    "safety.toml/rules": ("id", "condition", "verdict", "triggers", "quotes"),
    "replies.toml": tuple(SCHEMAS["replies.toml"]),
}


def _where(path: tuple[str, ...]) -> str:
    return "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(path)) if path else "(top level)"


def _check(value: Any, spec: Any, path: tuple[str, ...], file: str, needles: dict | None = None) -> Any:
    """The value as the program uses it (patterns compiled), or DataFileError. `needles`: given for
    a file a build has checked, each pattern's required strings; its patterns are then Regex,
    compiled when first used."""
    if spec is REGEX:
        if not isinstance(value, str):
            raise DataFileError(f"{file}: {_where(path)} should be a regular expression string")
        if needles is not None:
            return Regex(value, needles.get(value))
        try:
            return re.compile(value, re.IGNORECASE)  # checked whole: compiled now (a build's loops run it bare)
        except re.error as exc:
            raise DataFileError(f"{file}: {_where(path)}: bad regular expression {value!r} ({exc})") from None
    if isinstance(spec, type):
        ok = isinstance(value, spec) and not (spec is int and isinstance(value, bool))
        if not ok:
            raise DataFileError(f"{file}: {_where(path)} should be {spec.__name__}, not {type(value).__name__}")
        return value
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise DataFileError(f"{file}: {_where(path)} should be a list")
        if spec is WORDS and all(type(item) is str for item in value) and len({w.lower() for w in value}) == len(value):
            return value  # the common case, checked in one pass (a cold start reads some 20,000 words)
        seen: set = set()
        out = []
        for i, item in enumerate(value):
            key = item.lower() if isinstance(item, str) else None
            if key is not None and key in seen:
                raise DataFileError(f"{file}: {_where(path)}: {item!r} is listed twice")
            if key is not None:
                seen.add(key)
            out.append(_check(item, spec[0], path + (f"[{i}]",), file, needles))
        return out
    if isinstance(spec, tuple):  # ("*", item spec): any keys
        if not isinstance(value, dict):
            raise DataFileError(f"{file}: {_where(path)} should be a table")
        return {k: _check(v, spec[1], path + (k,), file, needles) for k, v in value.items()}
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise DataFileError(f"{file}: {_where(path)} should be a table")
        unknown = sorted(set(value) - set(spec))
        if unknown:
            raise DataFileError(f"{file}: {_where(path)}: unknown key {unknown[0]!r} (known: {', '.join(spec)})")
        table = next((p for p in reversed(path) if not p.startswith("[")), "")
        required = REQUIRED.get(f"{file}/{table}" if table else file, ())
        missing = [k for k in required if k not in value]
        if missing:
            raise DataFileError(f"{file}: {_where(path)}: missing {missing[0]!r}")
        return {k: _check(v, spec[k], path + (k,), file, needles) for k, v in value.items()}
    raise TypeError(f"bad schema spec {spec!r}")  # a programming error, not a data error


def parse(name: str, text: str) -> dict:
    """A data file's text, checked against its schema."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{name}: not valid TOML ({exc})") from None
    return _check(doc, SCHEMAS[name], (), name)


_TRUSTED: dict[str, Any] = {}  # an index build's snapshot (see trust)
_READ: dict[str, tuple[str, Any]] = {}  # name -> (sha256, the TOML as parsed) of each file checked whole


@functools.cache
def load(name: str) -> dict:
    """A shipped data file, parsed and checked once per process. Treat the result as read-only."""
    if name not in SCHEMAS:
        raise KeyError(name)
    raw = raw_bytes(name)
    known = _TRUSTED.get("files", {}).get(name)
    if known is not None and known.get("sha256") == hashlib.sha256(raw).hexdigest():
        return _check(known["doc"], SCHEMAS[name], (), name, _TRUSTED["needles"])
    return _check_whole(name, raw)


def _check_whole(name: str, raw: bytes) -> dict:
    """A data file's bytes parsed and checked whole (patterns compiled), remembered for `snapshot`."""
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{name}: not valid TOML ({exc})") from None
    checked = _check(doc, SCHEMAS[name], (), name)
    _READ[name] = (hashlib.sha256(raw).hexdigest(), doc)
    return checked


def snapshot() -> dict:
    """Every data file checked whole (those this process took from a snapshot are read again),
    with its sha256 and each pattern's required strings: what an index build keeps for `trust`."""
    for name in SCHEMAS:
        if name not in _READ:
            _check_whole(name, raw_bytes(name))
    files = {name: {"sha256": digest, "doc": doc} for name, (digest, doc) in _READ.items()}
    sources: set[str] = set()

    def patterns(value: Any, spec: Any) -> None:
        if spec is REGEX:
            sources.add(value)
        elif isinstance(spec, list):
            for item in value:
                patterns(item, spec[0])
        elif isinstance(spec, tuple):
            for item in value.values():
                patterns(item, spec[1])
        elif isinstance(spec, dict):
            for key, item in value.items():
                patterns(item, spec[key])

    for name, entry in files.items():
        patterns(entry["doc"], SCHEMAS[name])
    return {"files": files, "needles": {p: strings for p in sorted(sources) if (strings := required_strings(p)) is not None}}


def trust(shot: Any) -> None:
    """Take the files of an index build's snapshot as checked: a file still byte for byte the
    same loads from it (no TOML parse, no compiling up front). Anything else in `shot` is ignored."""
    if (isinstance(shot, dict) and isinstance(shot.get("files"), dict) and isinstance(shot.get("needles"), dict)
            and all(isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("doc"), dict)
                    for e in shot["files"].values())
            and all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in shot["needles"].values())):
        _TRUSTED.clear()
        _TRUSTED.update(shot)


def load_model(name: str, names_key: str, names: tuple[str, ...], weights_key: str,
               all_weights: Callable[[dict], list]) -> dict | None:
    """A fitted model shipped as data/NAME (JSON; see fit_selector.py, fit_scope.py): None when
    there is none; DataFileError when its feature names (`names_key`, with as many `weights_key`
    weights) are not the code's, its threshold is not in (0, 1) or a weight is not a finite number."""
    path = DATA_DIR / name
    if not path.is_file():
        return None
    doc = json.loads(path.read_text("utf-8"))
    if tuple(doc.get(names_key, ())) != names or len(doc.get(weights_key, ())) != len(names):
        raise DataFileError(f"{name}: its {names_key} {doc.get(names_key)} are not {list(names)}; refit it")
    if not 0.0 < float(doc["threshold"]) < 1.0 or not all(math.isfinite(float(w)) for w in all_weights(doc)):
        raise DataFileError(f"{name}: threshold must be in (0, 1) and weights finite; refit it")
    return doc


def raw_bytes(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


def check_all() -> list[str]:
    """Load every data file (the test suite and `index --rebuild` call this)."""
    for name in SCHEMAS:
        load(name)
    return list(SCHEMAS)
