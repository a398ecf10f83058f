"""Case-blind regular expressions of the data files: each compiled when it is first needed, and
not run at all over a text that lacks every string its matches must hold.

Compiling the data files' three hundred patterns costs a cold start about 50 ms, and a question
meets few of them: a pattern's required strings (read from its parse tree when the index is built)
rule the rest out with a substring test.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Iterable, Iterator


class Regex:
    """A pattern compiled with re.IGNORECASE on first use (used like the re.Pattern it stands for).
    `needles`: lowercase strings one of which any match holds (None: unknown, the pattern is always run)."""

    __slots__ = ("pattern", "needles", "_compiled")
    flags = re.IGNORECASE

    def __init__(self, pattern: str, needles: Iterable[str] | None = None):
        self.pattern = pattern
        self.needles = frozenset(needles) if needles is not None else None
        self._compiled: re.Pattern | None = None

    @property
    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, re.IGNORECASE)
        return self._compiled

    def cannot_match(self, text: str) -> bool:
        """Whether the text holds none of the needles (so no match), read without the pattern."""
        needles = self.needles
        if needles is None or not lowercase_is_faithful(text):
            return False
        lower = text.lower()
        return not any(n in lower for n in needles)

    # the window arguments (pos, endpos) go straight to the pattern: the test reads the whole text
    def search(self, text: str, *window: int) -> re.Match | None:
        return None if not window and self.cannot_match(text) else self.compiled.search(text, *window)

    def match(self, text: str, *window: int) -> re.Match | None:
        return None if not window and self.cannot_match(text) else self.compiled.match(text, *window)

    def fullmatch(self, text: str, *window: int) -> re.Match | None:
        return None if not window and self.cannot_match(text) else self.compiled.fullmatch(text, *window)

    def finditer(self, text: str, *window: int) -> Iterator[re.Match]:
        return iter(()) if not window and self.cannot_match(text) else self.compiled.finditer(text, *window)

    def __getattr__(self, name: str):  # sub, split, findall, groups... as the compiled pattern has them
        if name.startswith("_"):  # never for a slot not yet set (copy, pickle): that would recurse
            raise AttributeError(name)
        return getattr(self.compiled, name)

    def __reduce__(self):  # copied or pickled as its source and needles; compiled again when used
        return Regex, (self.pattern, self.needles)

    def __eq__(self, other: object) -> bool:  # the same pattern, compiled yet or not
        return (isinstance(other, (Regex, re.Pattern)) and other.pattern == self.pattern
                and other.flags & re.IGNORECASE == re.IGNORECASE)

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def required_strings(pattern: str) -> list[str] | None:
    """Lowercase ASCII strings one of which every case-blind match of the pattern holds, read
    from its parse tree; None when none can be said (the pattern is then always run)."""
    try:
        from re import _parser  # CPython's parse trees (3.11 on): without them every text is searched
    except ImportError:
        return None
    try:
        strings = required_in(_parser.parse(pattern, re.IGNORECASE))
    except (re.error, RecursionError):
        return None
    if not strings or not all(s.isascii() for s in strings):
        return None
    return sorted({s.lower() for s in strings})


def required_in(parsed) -> set[str] | None:
    """Strings one of which any match of a parsed pattern (a sequence of re._parser items) holds:
    a run of literal characters, or what a group, each branch of an alternation or a repeat that
    occurs at least once requires; of those, the set whose shortest string is longest."""
    from re._constants import BRANCH, LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN

    best: set[str] | None = None

    def keep(strings: set[str] | None) -> None:
        nonlocal best
        if strings and (best is None or min(map(len, strings)) > min(map(len, best))):
            best = strings

    run = ""
    for op, av in [*parsed, (None, None)]:
        if op is LITERAL:
            run += chr(av)
            continue
        keep({run} if run else None)
        run = ""
        if op is SUBPATTERN:
            keep(required_in(av[-1]))
        elif op is BRANCH:
            branches = [required_in(branch) for branch in av[1]]
            keep(None if None in branches else set().union(*branches))
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
            keep(required_in(av[2]))
    return best


def lowercase_is_faithful(text: str) -> bool:
    """Whether what a case-blind pattern matches of an ASCII string in the text is in text.lower():
    so unless a character of the text matches an ASCII one only when case is ignored (the Kelvin
    sign "K" matches "k")."""
    return text.isascii() or not any(_ascii_lookalike(ch) for ch in set(text) if not ch.isascii())


@functools.cache
def _ascii_lookalike(ch: str) -> bool:
    """Whether a pattern ignoring case matches this (non-ASCII) character with an ASCII one."""
    return any(re.fullmatch(re.escape(c), ch, re.IGNORECASE) for c in string.printable)
