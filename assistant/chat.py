"""The interactive chat: a prompt-toolkit session (history, suggestions, completion, toolbar,
colour) around ChatSession, which holds the conversation and the slash commands.

Piped input (stdin not a terminal) gets the same answers, plain, one question a line.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import platformdirs

from assistant.config import APP_NAME
from assistant.display import clean, render_answer, source_line
from assistant.pipeline import Assistant, Conversation, QuestionError
from assistant.retrieval import MODES
from assistant.schema import Answer, Route

COMMANDS = {
    "/help": "this list",
    "/sources": "the guides answers come from",
    "/show N": "the full passage behind citation [N]",
    "/why": "why this answer: route, intent, confidence, rules, scores, carried topic",
    "/mode M": "retriever: hybrid, bm25 or tfidf",
    "/k N": "how many passages to rank",
    "/rate N": "label the last question: passage N of its ranking answers it (or /rate none)",
    "/clear": "forget the conversation (topic and safety conditions)",
    "/quit": "leave (or Ctrl-D)",
}
TOPICS = ["what oil should I use", "how often should I give a back massage", "how long should a massage last",
          "common mistakes to avoid", "when should you not give a back massage", "how do I get rid of knots",
          "can I massage my own back", "what to do after a massage", "does massage help posture",
          "how do I prepare the room"]


class Quit(Exception):
    """The user asked to leave."""


@dataclass
class ChatSession:
    """The chat's state and commands, free of any terminal: `handle(line)` returns the text to show."""

    assistant: Assistant
    mode: str = "hybrid"
    k: int = 10
    conversation: Conversation = field(default_factory=Conversation)
    last: Answer | None = None
    rated_path: Path | None = None

    def handle(self, line: str) -> str:
        line = clean(line).strip()  # escape sequences typed or pasted are not part of a question or command
        if not line:
            return ""
        if line.startswith("/"):
            command, _, arg = line.partition(" ")
            handler = getattr(self, "cmd_" + command[1:].lower(), None)
            if handler is None:
                return f"Unknown command {clean(command)}; /help lists the commands."
            return handler(arg.strip())
        try:
            self.last = self.assistant.ask(line, self.conversation, mode=self.mode, k=self.k)
        except QuestionError as exc:
            return f"Sorry: {exc}."
        return render_answer(self.last) + self._still_held(self.last.route)

    @staticmethod
    def _still_held(route: Route) -> str:
        """A note when the answer keeps to a condition mentioned earlier, not in this question."""
        earlier = [r.condition for r in route.rules if r.id in route.held]
        if not earlier:
            return ""
        return f"\n(Still going by what you said earlier: {'; '.join(earlier)}. /clear forgets it.)"

    # -- commands ---------------------------------------------------------------------
    def cmd_help(self, arg: str) -> str:
        return "Ask a question in plain words, or:\n" + "\n".join(f"  {c:<10} {d}" for c, d in COMMANDS.items())

    def cmd_sources(self, arg: str) -> str:
        guides = self.assistant.index.manifest["guides"]
        return "The guides:\n" + "\n".join(clean(f"  {g['title']}  ({g['name']})") for g in guides)

    def cmd_show(self, arg: str) -> str:
        if not self.last:
            return "Nothing to show yet: ask a question first."
        if not self.last.citations:
            return "The last answer has no sources to show."
        n = _number(arg, len(self.last.citations))
        if n is None:
            return f"Usage: /show N, with N from 1 to {len(self.last.citations)}."
        p = self.last.citations[n - 1].passage
        return "\n".join([source_line(n, p.title, p.section),
                          clean(f"  {p.guide}, characters {p.start}-{p.end}"), "", clean(p.text)])

    def cmd_why(self, arg: str) -> str:
        if not self.last:
            return "Nothing to explain yet: ask a question first."
        r = self.last.route
        lines = [f"route       {r.route}", clean(f"intent      {r.intent} (confidence {r.intent_confidence:.2f})"),
                 f"best score  {r.top_score:.3f} (hybrid)", f"mode, k     {self.mode}, {self.k}"]
        if r.carried:
            lines.append(clean(f"carried     follow-up of: {r.carried}"))
        if r.focus:
            lines.append(clean(f"asked       {r.focus}"))
        for rule in r.rules:
            lines.append(clean(f"rule        {rule.id} [{rule.verdict}] matched {rule.matched!r}"))
        lines += self._state_lines()
        for h in self.last.hits[:5]:
            parts = "  ".join(f"{name} {score:.3f}" for name, score in h.scores.items())
            why = f"  [{h.reason}]" if h.reason else ""
            lines.append(clean(f"  {h.rank}. {h.score:.3f}  ({parts})  {h.passage.id} - {h.passage.section}{why}"))
        return "\n".join(lines)

    def _state_lines(self) -> list[str]:
        """The conversation's slots: who is spoken of, the topic, and each person's conditions."""
        state = self.conversation.state
        topic = state.topic
        lines = [clean(f"person      {state.person or '(not named)'}")]
        if topic.question:
            area = f", area {topic.area}" if topic.area else ""
            lines.append(clean(f"topic       {topic.intent}{area}: {topic.question}"))
        for person, conditions in state.conditions:
            for c in conditions:
                lines.append(clean(f"condition   {person or '(not named)'}: {c.rule.id} {c.status} (\"{c.words}\")"))
        for rule in state.asked_now:
            lines.append(clean(f"caution     {rule.id} for this question only"))
        return lines

    def cmd_mode(self, arg: str) -> str:
        if arg not in MODES:
            return f"Usage: /mode {'|'.join(MODES)} (now {self.mode})."
        self.mode = arg
        return f"Mode is now {arg}."

    def cmd_k(self, arg: str) -> str:
        n = _number(arg, 100)
        if n is None:
            return f"Usage: /k N, with N from 1 to 100 (now {self.k})."
        self.k = n
        return f"Ranking {self.k} passages."

    def cmd_clear(self, arg: str) -> str:
        self.conversation.clear()
        self.last = None
        return "Conversation cleared."

    def cmd_quit(self, arg: str) -> str:
        raise Quit

    cmd_exit = cmd_quit

    def cmd_rate(self, arg: str) -> str:
        if not self.last or self.last.route.route == "smalltalk":
            return "Nothing to rate yet: ask a question first."
        question = self.last.route.question
        # unique across questions, sessions and processes (eval rejects a set with duplicate ids)
        key = hashlib.sha256(f"{question}\0{time.time_ns()}\0{os.getpid()}\0{id(self)}".encode("utf-8", "replace"))
        record = {"id": f"rated-{key.hexdigest()[:16]}", "question": question,
                  "intent": self.last.route.intent, "safety": bool(self.last.route.rules)}
        if arg == "none":
            record.update(intent=self.assistant.intents.role("not_covered"), evidence=[])
        elif (n := _number(arg, len(self.last.hits))) is not None:
            p = self.last.hits[n - 1].passage
            record["evidence"] = [{"quote": p.text, "guide": p.guide}]
        else:
            return f"Usage: /rate N (1 to {len(self.last.hits)}, a passage of the last ranking) or /rate none."
        path = self.rated_path or default_rated_path(self.assistant)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            return f"Could not save the rating: {exc.strerror or exc}."
        return clean(f"Saved to {path}.")

    def toolbar(self) -> str:
        r = self.last.route if self.last else None
        last = f"last: {r.route}/{r.intent}" if r else "last: -"
        held = ""
        in_force = [(who, [c.rule.id for c in conds if c.status == "active"]) for who, conds in self.conversation.state.conditions]
        if any(ids for _, ids in in_force):
            held = " | holding: " + "; ".join(f"{who or 'them'}: {', '.join(ids)}" for who, ids in in_force if ids)
        return f" mode {self.mode} | k {self.k} | {last}{held} | /help"


def _number(arg: str, high: int) -> int | None:
    """arg as a whole number from 1 to high (ASCII digits only: "²" is a digit to str.isdigit), else None."""
    if not (arg.isascii() and arg.isdigit()):
        return None
    return int(arg) if 1 <= int(arg) <= high else None


def default_rated_path(assistant: Assistant) -> Path:
    configured = assistant.config.chat_rated_questions
    return Path(configured).expanduser() if configured else Path(platformdirs.user_data_dir(APP_NAME)) / "rated-questions.jsonl"


def history_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "history"


# -- the terminal -----------------------------------------------------------------------
def _styled(text: str, colour: bool):
    """Citations, headings and sources in colour (prompt-toolkit formatted text)."""
    import re

    from prompt_toolkit.formatted_text import FormattedText

    if not colour:
        return FormattedText([("", text + "\n")])
    parts = []
    for line in text.split("\n"):
        if line.startswith(("Stop and see", "Avoid massage", "Take care")):
            parts.append(("bold ansired", line))
        elif line == "Sources:" or line.startswith(("Where the guides", "What the guides")):
            parts.append(("bold", line))
        elif line.startswith("massage-qa repeats"):
            parts.append(("italic ansibrightblack", line))
        else:
            for piece in re.split(r"(\[\d+\])", line):
                parts.append(("ansicyan" if re.fullmatch(r"\[\d+\]", piece) else "", piece))
        parts.append(("", "\n"))
    return FormattedText(parts)


def make_prompt_session(chat: ChatSession, input=None, output=None, warn: Callable[[str], None] = print):
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    class SafeFileHistory(FileHistory):
        """History that warns once (instead of crashing) when it cannot be read or written."""

        warned = False

        def load_history_strings(self):
            try:
                yield from list(super().load_history_strings())
            except OSError as exc:
                if not SafeFileHistory.warned:
                    SafeFileHistory.warned = True
                    warn(clean(f"warning: chat history not read ({exc.strerror or exc})"))

        def store_string(self, string: str) -> None:
            try:
                super().store_string(string)
            except OSError as exc:
                if not SafeFileHistory.warned:
                    SafeFileHistory.warned = True
                    warn(f"warning: chat history not saved ({exc.strerror or exc})")

    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_file():
            raise IsADirectoryError(f"{path} is not a file; remove or rename it")
        history = SafeFileHistory(str(path))
    except OSError as exc:
        reason = exc.strerror if exc.strerror and not isinstance(exc, IsADirectoryError) else str(exc)
        warn(clean(f"warning: chat history not saved ({reason})"))
        history = InMemoryHistory()
    words = list(COMMANDS) + [c.split()[0] for c in COMMANDS] + [f"/mode {m}" for m in MODES] + TOPICS
    completer = WordCompleter(sorted(set(words)), sentence=True, ignore_case=True)
    return PromptSession(history=history, auto_suggest=AutoSuggestFromHistory(), completer=completer,
                         bottom_toolbar=chat.toolbar, input=input, output=output, complete_while_typing=False)


def interactive(chat: ChatSession, session, write: Callable[[object], None]) -> int:
    write(_styled("massage-qa: ask about giving a back massage. /help for commands, Ctrl-D to leave.", False))
    while True:
        try:
            line = session.prompt("> ")
        except KeyboardInterrupt:
            continue  # Ctrl-C clears the line
        except EOFError:
            return 0
        try:
            reply = chat.handle(line)
        except Quit:
            return 0
        except KeyboardInterrupt:  # Ctrl-C while answering cancels that answer, not the chat
            reply = "(cancelled)"
        except Terminated:
            raise
        except Exception as exc:  # an error while answering costs one line, not the session
            if os.environ.get("MASSAGE_QA_DEBUG"):
                raise
            reply = clean(f"Sorry, something went wrong answering that: {type(exc).__name__}: {exc}")
        if reply:
            write(reply)


def piped(chat: ChatSession, lines, out) -> int:
    """Answer lines (text, or bytes as read from a pipe: a line that is not UTF-8, or longer than
    the batch bound (None), gets a one-line reply and the chat goes on)."""
    for n, line in enumerate(lines, 1):
        try:
            if line is None:
                reply = f"Sorry: line {n} is too long to be a question; it was skipped."
            elif isinstance(line, bytes):
                reply = chat.handle(line.decode("utf-8-sig" if n == 1 else "utf-8"))
            else:
                reply = chat.handle(line)
        except UnicodeDecodeError as exc:
            reply = f"Sorry: line {n} is not UTF-8 text (byte {exc.object[exc.start]:#04x}); it was skipped."
        except Quit:
            break
        except Terminated:
            raise
        except Exception as exc:
            if os.environ.get("MASSAGE_QA_DEBUG"):
                raise
            reply = clean(f"Sorry, something went wrong answering that: {type(exc).__name__}: {exc}")
        if reply:
            out.write(reply + "\n\n")
            out.flush()
    return 0


class Terminated(Exception):
    """SIGTERM: the chat ends as it would on Ctrl-D (history is already on disk, line by line)."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def run_chat(assistant: Assistant, mode: str | None = None, k: int | None = None) -> int:
    import signal

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run_chat(assistant, mode, k)
    except Terminated:
        print("massage-qa: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_chat(assistant: Assistant, mode: str | None = None, k: int | None = None) -> int:
    chat = ChatSession(assistant, mode or assistant.config.retrieval_mode, k or assistant.config.retrieval_k)
    if not sys.stdin.isatty():
        from assistant.batch import bounded_lines

        return piped(chat, bounded_lines(sys.stdin.buffer), sys.stdout)
    from prompt_toolkit import print_formatted_text

    colour = not os.environ.get("NO_COLOR")

    def write(text) -> None:
        print_formatted_text(_styled(text, colour) if isinstance(text, str) else text, end="")

    session = make_prompt_session(chat, warn=lambda m: print(m, file=sys.stderr))
    if not colour:
        from prompt_toolkit.output.color_depth import ColorDepth

        session.color_depth = ColorDepth.MONOCHROME
    return interactive(chat, session, write)
