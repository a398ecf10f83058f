"""The guides: load them from a folder, clean away site boilerplate, find sections, cut passages.

Cleaning never edits a file: it decides which lines of the original count, so every passage
and sentence keeps its character offsets into the file a user can open. The rules are in
data/cleaning.toml.
"""

from __future__ import annotations

import bisect
import errno
import functools
import json
import math
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from assistant.schema import Passage, Span
from assistant.text import punkt_tokenizer, sentence_spans, squash

GUIDE_SUFFIXES = (".txt", ".md")
MANIFEST = "manifest.json"


class CorpusError(Exception):
    """A corpus folder or guide that cannot be read, with a one-line reason."""


@dataclass(frozen=True)
class Guide:
    """One guide file as stored: its name in the corpus folder, title and full original text."""

    name: str
    title: str
    text: str
    # (heading, group heading) pairs from manifest.json's "outline": heading levels the plain
    # text lost (the page's h2 over its h3s)
    outline: tuple[tuple[str, str], ...] = ()
    # manifest.json's "cleaning" for this guide alone (its site's boilerplate: a shop's name, an
    # affiliate link): lines to drop and sentences never shown as answers, as regular expressions
    drop_lines: tuple[str, ...] = ()
    not_answers: tuple[str, ...] = ()

    @functools.cached_property
    def slug(self) -> str:
        return Path(self.name).stem


@dataclass(frozen=True)
class Line:
    start: int
    end: int
    text: str  # stripped
    kind: str  # "blank" | "content" | "heading" | "removed"


@dataclass(frozen=True)
class CleaningRules:
    cut_from: tuple[re.Pattern, ...]
    drop_lines: tuple[re.Pattern, ...]
    drop_sections: tuple[re.Pattern, ...]
    caption_max_words: int
    not_answers: tuple[re.Pattern, ...] = ()  # sentences kept for retrieval, never shown as an answer
    claims: tuple[re.Pattern, ...] = ()  # sentences promising a cure or a sure result: never shown either

    def starts(self, kind: str) -> Callable[[str], re.Match | None]:
        """Whether one of the patterns of a kind (cut_from, drop_lines, drop_sections) matches at
        the start of a line: one alternation, one search a line (each line of every guide is read)."""
        patterns = getattr(self, kind)
        if not patterns:
            return lambda line: None
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE).match

    @classmethod
    def load(cls) -> "CleaningRules":
        from assistant.datafiles import load

        doc = load("cleaning.toml")
        return cls(tuple(doc.get("cut_from", ())), tuple(doc.get("drop_lines", ())), tuple(doc.get("drop_sections", ())),
                   doc.get("caption_max_words", 12), tuple(doc.get("not_answers", ())), tuple(doc.get("claims", ())))


def shipped_corpus_dir() -> Path:
    """The guides that come with massage-qa: corpus/ of the checkout, or the copy inside the wheel."""
    package = Path(__file__).resolve().parent
    checkout = package.parent / "corpus"
    if (checkout / MANIFEST).is_file():
        return checkout
    return package / "shipped_corpus"


# A bigger guide is skipped: cleaning and the latent space grow faster than its size.
MAX_GUIDE_BYTES = 2_000_000


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")  # control characters but for white space (\t \n \v \f \r)


def _decode(data: bytes) -> tuple[str | None, str]:
    """(text, note) of a guide file's bytes, or (None, why it is not text). Offsets stay those of
    the characters: a UTF-8 byte-order mark becomes a space; Windows-1252 (Latin-1) is one byte
    a character."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = None
    if encoding:
        try:
            return data.decode(encoding), ""
        except UnicodeDecodeError:
            return None, f"starts like {encoding.upper()} but is not"
    if b"\x00" in data:
        return None, "binary, not text"
    try:
        text = data.decode("utf-8")
        note = ""
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        note = (f"not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start}): read as Windows-1252/Latin-1; "
                f"save it as UTF-8 if its accents look wrong")
    sample = text[:4096]
    if len(_CONTROL.findall(sample)) > len(sample) // 20:
        return None, "binary, not text"
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets: the byte-order mark becomes white space
    return text, note


def _read_manifest(manifest: Path) -> tuple[dict[str, str], dict[str, tuple[tuple[str, str], ...]],
                                            dict[str, dict[str, tuple[str, ...]]]]:
    """Titles, outlines and guide-specific cleaning by guide file name, from a corpus folder's manifest.json."""
    try:
        doc = json.loads(manifest.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise CorpusError(f"{manifest}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CorpusError(f"{manifest}: not valid JSON ({exc}); fix or remove it") from None
    described = doc.get("guides", {}) if isinstance(doc, dict) else None
    if not isinstance(described, dict):
        raise CorpusError(f"{manifest}: 'guides' must be an object of guide file names; fix or remove it")
    titles, outlines, cleaning = {}, {}, {}
    for name, meta in described.items():
        where = f"{manifest}: guide {name!r}"
        if not isinstance(meta, dict):
            raise CorpusError(f"{where} must be an object with a 'title' (and an 'outline')")
        title, outline = meta.get("title", ""), meta.get("outline", {})
        if not isinstance(title, str):
            raise CorpusError(f"{where}: 'title' must be text, not {type(title).__name__}")
        if not isinstance(outline, dict) or not all(isinstance(g, str) and isinstance(c, list) and all(isinstance(x, str) for x in c)
                                                    for g, c in outline.items()):
            raise CorpusError(f"{where}: 'outline' must map each group heading to a list of section headings")
        titles[name] = title
        outlines[name] = tuple((squash(child), squash(group)) for group, children in outline.items() for child in children)
        cleaning[name] = _guide_cleaning(meta.get("cleaning", {}), where)
    return titles, outlines, cleaning


def _guide_cleaning(raw, where: str) -> dict[str, tuple[str, ...]]:
    """A guide's own cleaning rules ({"drop_lines": [...], "not_answers": [...]}), each a regular expression."""
    if not isinstance(raw, dict) or set(raw) - {"drop_lines", "not_answers"}:
        raise CorpusError(f"{where}: 'cleaning' must be an object with 'drop_lines' and/or 'not_answers' lists")
    out = {}
    for key, patterns in raw.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise CorpusError(f"{where}: cleaning {key!r} must be a list of regular expressions")
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise CorpusError(f"{where}: cleaning {key!r}: bad regular expression {p!r} ({exc})") from None
        out[key] = tuple(patterns)
    return out


def _guide_files(folder: Path) -> list[str]:
    """The names in a corpus folder, or CorpusError saying why the folder cannot be used."""
    try:
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise CorpusError(f"corpus folder {folder} is a file; give the folder that holds the guides")
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        raise CorpusError(f"corpus folder not found: {folder}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorpusError(f"corpus folder {folder} is a symbolic link that loops; point --corpus at a real folder") from None
        raise CorpusError(f"corpus folder {folder} cannot be read ({exc.strerror or exc})") from None


def _is_guide_name(name: str) -> bool:
    """Whether a corpus folder's entry is read as a guide (by its name: .txt or .md, not hidden)."""
    return Path(name).suffix.lower() in GUIDE_SUFFIXES and not name.startswith(".")


def corpus_stamp(folder: Path) -> dict[str, list[int]]:
    """The size and modification time (ns) of every file of a corpus folder load_guides reads (its
    guides and manifest.json): an index built from the same stamp is known to be fresh without
    reading the guides again. CorpusError when the folder cannot be used."""
    folder = Path(folder)
    stamp: dict[str, list[int]] = {}
    for name in _guide_files(folder):
        if name == MANIFEST or _is_guide_name(name):
            try:
                info = os.stat(folder / name)
                stamp[name] = [info.st_size, info.st_mtime_ns]
            except OSError:
                stamp[name] = [-1, -1]  # a broken link: load_guides says so
    return stamp


def _read_guide(path: Path) -> tuple[str | None, str]:
    """(text, note) of a guide file, or (None, why it cannot be used)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return None, "its name is not valid UTF-8; rename it"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return None, "a folder, not a file"
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file"
        if info.st_size > MAX_GUIDE_BYTES:
            return None, f"larger than {MAX_GUIDE_BYTES // 1_000_000} MB; split it into smaller guides"
        data = path.read_bytes()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "a symbolic link that loops"
        if exc.errno == errno.ENOENT:
            return None, "a symbolic link to nothing"
        return None, f"cannot read ({exc.strerror or exc})"
    text, note = _decode(data)
    if text is not None and not text.strip():
        return None, "empty"
    return text, note


def load_guides(folder: Path, notify: Callable[[str], None] | None = None) -> list[Guide]:
    """Every .txt/.md guide of a folder, in name order, titled from manifest.json or its first line.

    A file that cannot be used (unreadable, binary, empty, too big, a broken link, a copy of
    another guide) is skipped with one line to `notify`; CorpusError only when no guide is left.
    A file that is not UTF-8 is read as Windows-1252 (Latin-1), with a line; UTF-16/32 with a
    byte-order mark are read as such.
    """
    folder = Path(folder)
    entries = _guide_files(folder)
    titles, outlines, cleaning = _read_manifest(folder / MANIFEST) if (folder / MANIFEST).is_file() else ({}, {}, {})
    guides: list[Guide] = []
    skipped: list[str] = []
    notes: list[str] = []  # told only when some guide is left (else the error says it)
    seen: dict[str, str] = {}  # text -> the guide that has it
    for name in entries:
        if not _is_guide_name(name):
            continue
        text, note = _read_guide(folder / name)
        if text is not None and text in seen:
            text, note = None, f"the same text as {seen[text]}"
        if text is None:
            skipped.append(f"{name}: {note}")
            notes.append(f"skipped {folder / name}: {note}")
            continue
        if note:
            notes.append(f"{folder / name}: {note}")
        seen[text] = name
        first = next((squash(l) for l in text.splitlines() if l.strip()), Path(name).stem)
        own = cleaning.get(name, {})
        guides.append(Guide(name, titles.get(name) or first.lstrip("# "), text, outlines.get(name, ()),
                            own.get("drop_lines", ()), own.get("not_answers", ())))
    if not guides:
        if not skipped:
            raise CorpusError(f"no .txt or .md guides in {folder}")
        more = f" (and {len(skipped) - 1} more skipped)" if len(skipped) > 1 else ""
        raise CorpusError(f"no usable guide in {folder}: {skipped[0]}{more}")
    for note in notes if notify else ():
        notify(note)
    return guides


# -- cleaning and structure ------------------------------------------------------------
_LEAD_SYMBOLS = re.compile(r"^[^\w\"'(\u201c\u2018#]+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_FAQ_MARK = re.compile(r"^Q\d+\s*[:.]", re.IGNORECASE)
_BULLET = re.compile(r"^[\u2022\u2023\u25aa\u25cf\u2013\u2014*\-]\s")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+\S")


_WORD = re.compile(r"[\w'’-]+")


def _words(line: str) -> list[str]:
    return _WORD.findall(line)


def is_faq_question(text: str) -> bool:
    return bool(_FAQ_MARK.match(text)) or (text.endswith("?") and len(_words(text)) <= 25)


def _is_heading(text: str, standalone: bool) -> bool:
    if _MD_HEADING.match(text):
        return True
    if not standalone or _BULLET.match(text):
        return False
    if _FAQ_MARK.match(text):
        return True
    words = _WORD.findall(text, 0, 160)
    if len(words) > 14:
        return False  # a paragraph, told by its start (a word its end cuts still counts once)
    if len(text) > 160:
        words = _words(text)
    if not words or len(words) > 14 or not (text[0].isupper() or text[0].isdigit()):
        return False
    if text.endswith("?"):
        return len(words) <= 25
    if text[-1] in ".!,;":
        return False
    if text.endswith(":"):
        capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in {"a", "an", "and", "or", "the", "to", "for", "of", "on", "in", "with"})
        return capitalised / len(words) >= 0.8
    if _NUMBERED.match(text):
        return len(words) <= 9
    return True


def _is_caption(text: str, max_words: int) -> bool:
    return (text[:1].islower() and text[-1] not in ".!?:;," and len(_words(text)) <= max_words
            and not _BULLET.match(text))


def classify_lines(text: str, rules: CleaningRules) -> list[Line]:
    """Each line of a guide with its offsets and what it is; lines after a cut are "removed"."""
    lines: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    out: list[Line] = []
    cuts, drops, drop_sections = rules.starts("cut_from"), rules.starts("drop_lines"), rules.starts("drop_sections")
    cut = False
    dropping_section = False
    kept_any = False  # a heading or content line came before (the first one is the title)
    for i, (start, end, line) in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            out.append(Line(start, end, "", "blank"))
            continue
        lead = len(line) - len(line.lstrip())
        start, end = start + lead, start + lead + len(stripped)
        plain = _LEAD_SYMBOLS.sub("", stripped).strip() or stripped
        if cut or cuts(plain):
            cut = True
            out.append(Line(start, end, stripped, "removed"))
            continue
        if drops(plain) or _is_caption(plain, rules.caption_max_words):
            out.append(Line(start, end, stripped, "removed"))
            continue
        before = not lines[i - 1][2].strip() if i > 0 else True
        after = not lines[i + 1][2].strip() if i + 1 < len(lines) else True
        if not kept_any or (not _BULLET.match(stripped) and _is_heading(plain, before and after)):
            dropping_section = bool(drop_sections(_MD_HEADING.sub("", plain)))
            out.append(Line(start, end, stripped, "removed" if dropping_section else "heading"))
        else:
            out.append(Line(start, end, stripped, "removed" if dropping_section else "content"))
        kept_any = kept_any or not dropping_section
    return out


def heading_name(line: str) -> str:
    return squash(_LEAD_SYMBOLS.sub("", _MD_HEADING.sub("", line)).strip() or line)


# -- passages -----------------------------------------------------------------------
def _chunk(spans: list[tuple[int, int]], text: str, max_words: int) -> list[list[tuple[int, int]]]:
    """Split a run of sentences into near-equal groups of at most max_words (a longer sentence stands alone)."""
    counts = [len(text[s:e].split()) for s, e in spans]
    total = sum(counts)
    target = total / max(1, math.ceil(total / max_words))
    groups: list[list[tuple[int, int]]] = [[]]
    size = 0
    for span, n in zip(spans, counts):
        if groups[-1] and (size + n > max_words or size >= target):
            groups.append([])
            size = 0
        groups[-1].append(span)
        size += n
    return groups


def _any_between(ascending: list[int], low: int, high: int) -> bool:
    """Whether an ascending list holds a value strictly between low and high."""
    at = bisect.bisect_right(ascending, low)
    return at < len(ascending) and ascending[at] < high


def _group_headings(lines: list[Line], title_line: Line | None, outline: dict[str, str]) -> dict[int, str]:
    """For each heading line (by start offset), the heading of the group it belongs to, or "".

    A heading with no text of its own before the next heading opens a group ("Common Mistakes and
    How to Avoid Them" over its sections) that lasts until the next such heading; when the group's
    first section is numbered ("1. Warm-Up Strokes"), it ends at the first unnumbered one. The
    guide's outline from the manifest names groups the text cannot show (a group with an intro).
    """
    headings = [l for l in lines if l.kind == "heading" and l is not title_line]
    content_starts = [l.start for l in lines if l.kind == "content"]  # ascending, as the lines are
    groups: dict[int, str] = {}
    group, numbered = "", False
    for i, line in enumerate(headings):
        name = heading_name(line.text)
        following = headings[i + 1] if i + 1 < len(headings) else None
        body = following is None or _any_between(content_starts, line.start, following.start)
        if not body:
            group, numbered = name, bool(following and _NUMBERED.match(heading_name(following.text)))
            groups[line.start] = ""
            continue
        if numbered and not _NUMBERED.match(name):
            group, numbered = "", False
        # a question heading says all it is about ("Frequently Asked Questions" over it adds nothing)
        groups[line.start] = "" if is_faq_question(name) else outline.get(name, group)
    return groups


def _passages_of_run(guide: Guide, run: list[tuple[int, int]], max_words: int, question: Line | None,
                     section: str, group: str, numbered: int) -> list[Passage]:
    """A run of contiguous sentences of one section cut into passages (a FAQ question heading opens the first)."""
    out = []
    for i, chunk in enumerate(_chunk(run, guide.text, max_words) if run else []):
        start, end = chunk[0][0], chunk[-1][1]
        if i == 0 and question is not None:
            start = question.start
        sentences = tuple(Span(s, e, squash(guide.text[s:e])) for s, e in chunk)
        out.append(Passage(id=f"{guide.slug}-{numbered + len(out) + 1:03d}", guide=guide.name, title=guide.title,
                           section=section or guide.title, text=squash(guide.text[start:end]),
                           start=start, end=end, sentences=sentences, group=group))
    return out


def split_guide(guide: Guide, rules: CleaningRules, max_words: int = 120, tokenizer=None) -> list[Passage]:
    """Passages of a guide: sentence-aligned chunks of contiguous clean text inside one section.

    A FAQ question heading is kept at the start of its answer's first passage. Each passage also
    carries the heading of the group its section belongs to (see _group_headings).
    """
    tokenizer = tokenizer or punkt_tokenizer()
    if guide.drop_lines:
        rules = replace(rules, drop_lines=rules.drop_lines + tuple(re.compile(p, re.IGNORECASE) for p in guide.drop_lines))
    lines = classify_lines(guide.text, rules)
    title_line = next((l for l in lines if l.kind in ("heading", "content")), None)
    groups = _group_headings(lines, title_line, dict(guide.outline))
    passages: list[Passage] = []
    section = ""
    group_heading = ""
    question: Line | None = None
    run: list[tuple[int, int]] = []  # sentence spans of the current contiguous run

    def flush() -> None:
        nonlocal run, question
        passages.extend(_passages_of_run(guide, run, max_words, question, section, group_heading, len(passages)))
        run = []
        question = None

    parent = guide.title  # the last heading that is not a FAQ question
    blanks = 0
    for line in lines:
        if line is title_line and line.kind == "heading":
            continue
        if line.kind == "blank":
            blanks += 1
            continue
        if blanks >= 2 and line.kind == "content" and run and is_faq_question(section):
            # two blank lines after a FAQ answer: what follows is no longer the answer
            flush()
            section = parent
        blanks = 0
        if line.kind == "removed":
            flush()
            continue
        if line.kind == "heading":
            flush()
            section = heading_name(line.text)
            group_heading = groups.get(line.start, "")
            question = line if is_faq_question(section) else None
            if question is None:
                parent = section
            continue
        run.extend(sentence_spans(guide.text, line.start, line.end, tokenizer))
    flush()
    return passages


def build_passages(guides: list[Guide], max_words: int = 120, workers: int = 1) -> Sequence[Passage]:
    """Every guide's passages, in guide order: a list, or with workers > 1, StoredPassages (the
    guides are split in that many processes, each handing its passages back as arrays; guides
    are independent until the vocabulary is merged)."""
    from assistant.parallel import map_chunks
    from assistant.passages import StoredPassages

    rules = CleaningRules.load()
    tokenizer = punkt_tokenizer()  # made (nltk imported) once, before the workers fork

    def split_some(chunk: list[Guide]) -> list[Passage]:
        return [p for g in chunk for p in split_guide(g, rules, max_words, tokenizer)]

    if min(workers, len(guides)) <= 1:
        return split_some(guides)
    return StoredPassages.joined(map_chunks(lambda chunk: StoredPassages.pack(split_some(chunk)), guides, workers))
