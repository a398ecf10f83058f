"""The `massage-qa` command: parses arguments and hands over to the core or a front end.

No logic lives here; heavy modules are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings
from pathlib import Path

from assistant import __version__

EXAMPLES = """\
examples:
  massage-qa chat                                   talk to it (what `make chat` opens)
  massage-qa ask "what oil should I use?"           one answer, cited
  massage-qa ask "she's pregnant, is it safe?" --json
  massage-qa search "knots in the shoulders" --k 5  the ranked passages behind answers
  massage-qa route "my wife is expecting"           intent, route and safety rules
  massage-qa batch faq.txt -o answers.md --format md
  massage-qa eval                                   measure it on the shipped question set

The guides are in corpus/ (or --corpus DIR / $MASSAGE_QA_CORPUS); the index is built
automatically the first time and whenever the guides or settings change.
Settings: ~/.config/massage-qa/config.toml (see assistant/data/defaults.toml).
"""


class CliError(Exception):
    """An error to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, and where to look, instead of usage + error
        raise CliError(f"{message} (see '{self.prog} --help')", 2)


MAX_K = 100  # passages a ranking may hold (as the chat's /k)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_K:
        raise argparse.ArgumentTypeError(f"must be at least 1 and at most {MAX_K}, got {value}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) to 256, got {value}")
    return value


def _text(words: list[str]) -> str:
    """Words of the command line as one text; bytes that were not UTF-8 become U+FFFD."""
    return " ".join(words).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", type=Path, help="folder of guides (.txt/.md); default: the shipped guides")
    common.add_argument("--index-dir", metavar="DIR", type=Path, help="where the index lives; default: index/ or the user cache")
    retrieval = Parser(add_help=False)
    retrieval.add_argument("--k", type=_positive, metavar="N", help="how many passages to rank (default 10)")
    retrieval.add_argument("--mode", choices=("hybrid", "bm25", "tfidf"), help="retriever (default hybrid)")
    as_json = Parser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of text")

    parser = Parser(prog="massage-qa", description="Cited answers to back-massage questions, from five how-to guides, offline.",
                    epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"massage-qa {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("index", parents=[common], help="build the index (only if stale unless --rebuild) and show its statistics")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if the index is up to date")

    p = sub.add_parser("search", parents=[common, retrieval, as_json], help="rank passages for a query")
    p.add_argument("query", nargs="+", help="the words to search for")

    p = sub.add_parser("route", parents=[common, as_json], help="show the intent, route and safety rules of a question")
    p.add_argument("question", nargs="+", help='the question (quote it if it has ? or other shell characters)')

    p = sub.add_parser("ask", parents=[common, retrieval, as_json], help="answer one question with cited sentences")
    p.add_argument("question", nargs="+", help='the question: massage-qa ask "what oil should I use?" (quotes keep the shell off ?)')

    p = sub.add_parser("chat", parents=[common, retrieval], help="interactive chat (reads lines from a pipe too)")

    p = sub.add_parser("batch", parents=[common, retrieval], help="answer every question of a file (txt, csv, jsonl)",
                       description="Answer every question of a FAQ file. Input: .txt (one question a line, # comments), "
                                   ".csv (a 'question' column) or .jsonl ({\"question\": ...}); '-' reads stdin.")
    p.add_argument("file", help="questions file, or - for stdin")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    p.add_argument("--format", choices=("jsonl", "csv", "md"), help="output format (default: from OUT's suffix, else jsonl)")
    p.add_argument("--input-format", choices=("txt", "csv", "jsonl"), help="input format (default: from the file's suffix)")
    p.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                   help="answer in N processes (0: one per core; default 1). Rows sharing a 'conversation' "
                        "stay in one process, in order")
    p.add_argument("--compare", metavar="PREVIOUS", help="an earlier jsonl output: mark answers that changed since")

    p = sub.add_parser("eval", parents=[common, as_json], help="measure retrieval, routing, safety and answers on labelled questions",
                       description="Measure the assistant on labelled questions or conversations. A set is split in two "
                                   "halves by id: the tune half may be looked at while improving it, the held half is "
                                   "the estimate.",
                       epilog="examples:\n"
                              "  massage-qa eval --summary                          every shipped set, held half first\n"
                              "  massage-qa eval --questions corpus/questions-lay.jsonl --split held\n"
                              "  massage-qa eval --dialogues corpus/dialogues-twelfth.jsonl --split held\n"
                              "  massage-qa eval --details misses.jsonl             each answer's off-topic sentences\n"
                              "  massage-qa eval --trec-dir runs/                   qrels and runs for trec_eval\n"
                              "  massage-qa eval --answers corpus/expert-answers-a.jsonl   score answers written elsewhere",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--questions", metavar="FILE", help="question set (jsonl); default: the shipped set")
    p.add_argument("--k", type=_positive, default=10, metavar="N", help="ranking depth (default 10)")
    p.add_argument("--trec-dir", metavar="DIR", help="write TREC qrels and runs here")
    p.add_argument("--details", metavar="FILE", help="write one JSON line per question here")
    p.add_argument("--split", choices=("all", "tune", "held"), default="all", help="which part of the set to report")
    p.add_argument("--dialogues", nargs="?", const=True, metavar="FILE",
                   help="evaluate labelled conversations turn by turn (default: the shipped corpus/dialogues.jsonl)")
    p.add_argument("--answers", metavar="FILE",
                   help='score answers written elsewhere (jsonl of {"id", "answer": [sentences]}) against the '
                        "shipped sentence labels")
    p.add_argument("--summary", action="store_true",
                   help="one table of every shipped set, held half first (what `make eval` prints)")
    return parser


def _notify(message: str) -> None:
    from assistant.display import clean

    print(clean(f"massage-qa: {message}"), file=sys.stderr, flush=True)


def _warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning (a config key to fix, a library's notice) as one line on stderr."""
    from assistant.display import clean

    print(clean(f"massage-qa: warning: {message}").replace("\n", " "), file=sys.stderr, flush=True)


def _error(message: str) -> None:
    from assistant.display import clean

    print(clean(f"massage-qa: error: {message}").replace("\n", " "), file=sys.stderr, flush=True)


def open_assistant(args, rebuild: bool = False):
    from assistant.pipeline import Assistant

    assistant = Assistant.open(args.corpus, args.index_dir, rebuild=rebuild, notify=_notify)
    _settle()
    return assistant


def _settle() -> None:
    """Collect garbage again, the objects made so far (modules, index, models) set aside for good.

    `main` starts with the collector off: opening makes some hundred thousand objects that live
    as long as the process, and the collections they trigger, then the ones at exit, cost a
    cold `ask` about a fifth of its time (`make bench`'s cold start measures it)."""
    gc.freeze()
    gc.enable()


def cmd_index(args) -> int:
    started = time.perf_counter()
    assistant = open_assistant(args, rebuild=args.rebuild)
    seconds = time.perf_counter() - started
    m = assistant.index.manifest
    state = "built" if assistant.rebuilt else "up to date"
    print(f"index {state}: {assistant.index_dir}")
    print(f"  guides      {len(m['guides'])}")
    print(f"  passages    {m['passages']}")
    print(f"  vocabulary  {m['vocabulary']} terms")
    print(f"  seconds     {seconds:.2f}")
    return 0


def cmd_search(args) -> int:
    from assistant.config import load_config
    from assistant.display import render_hits, to_json
    from assistant.index import default_corpus_dir, open_index
    from assistant.pipeline import MAX_QUESTION_CHARS

    config = load_config()
    query = " ".join(_text(args.query).split())
    if len(query) > MAX_QUESTION_CHARS:  # as long as a question may be; the rest costs time and adds nothing
        query = query[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0]
        _notify(f"query cut to its first {len(query)} characters (at most {MAX_QUESTION_CHARS})")
    index, _, _ = open_index(args.corpus or default_corpus_dir(), args.index_dir, config, notify=_notify)
    _settle()
    mode = args.mode or config.retrieval_mode
    hits = index.search(query, mode, args.k or config.retrieval_k)
    if args.json:
        print(to_json({"query": query, "mode": mode, "passages": [
            {"rank": h.rank, "id": h.passage.id, "guide": h.passage.guide, "title": h.passage.title,
             "section": h.passage.section, "score": round(h.score, 6), "text": h.passage.text,
             "start": h.passage.start, "end": h.passage.end} for h in hits]}))
    else:
        print(render_hits(hits))
    return 0


def cmd_route(args) -> int:
    from assistant.display import clean, to_json

    assistant = open_assistant(args)
    route, _ = assistant.route(_text(args.question))
    if args.json:
        print(to_json(route.to_dict()))
        return 0
    print(clean(f"intent      {route.intent} ({route.intent_confidence:.2f})"))
    print(f"route       {route.route}")
    print(f"best score  {route.top_score:.3f}")
    for rule in route.rules:
        print(clean(f"rule        {rule.id} [{rule.verdict}] matched {rule.matched!r}"))
    return 0


def cmd_ask(args) -> int:
    from assistant.display import render_answer, to_json

    assistant = open_assistant(args)
    answer = assistant.ask(_text(args.question), mode=args.mode, k=args.k)
    print(to_json(answer.to_dict()) if args.json else render_answer(answer))
    return 0


def cmd_chat(args) -> int:
    from assistant.chat import run_chat

    return run_chat(open_assistant(args), mode=args.mode, k=args.k)


def cmd_batch(args) -> int:
    from assistant.batch import run_batch

    return run_batch(args, open_assistant)


def cmd_eval(args) -> int:
    from assistant.evaluate import run_eval

    return run_eval(args, open_assistant)


COMMANDS = {"index": cmd_index, "search": cmd_search, "route": cmd_route, "ask": cmd_ask,
            "chat": cmd_chat, "batch": cmd_batch, "eval": cmd_eval}


def _one_blas_thread() -> None:
    """Ask OpenBLAS for one thread unless the user chose a count, before numpy loads it.

    Its pool starts when numpy is imported: on the 2-core machine that was 40-60 ms of a cold `ask`
    (a third of numpy's import) for threads no command uses; the build runs its fits on one thread
    anyway (index.build), and `batch --jobs` splits over processes, not threads."""
    if not any(name in os.environ for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def main(argv: list[str] | None = None) -> int:
    gc.disable()  # until the assistant is open (see _settle)
    _one_blas_thread()
    from assistant.config import ConfigError
    from assistant.corpus import CorpusError

    debug = bool(os.environ.get("MASSAGE_QA_DEBUG"))
    warnings.showwarning = _warning
    try:
        args = build_parser().parse_args(argv)
        if args.debug:
            debug = True
            os.environ["MASSAGE_QA_DEBUG"] = "1"  # batch and chat re-raise too
        if not args.command:
            build_parser().print_help()
            return 0
        return COMMANDS[args.command](args)
    except CliError as exc:
        _error(str(exc))
        return exc.status
    except (CorpusError, ConfigError) as exc:
        if debug:
            raise
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from assistant.pipeline import QuestionError
        from assistant.safety import SafetyRuleError

        if debug:
            raise
        if isinstance(exc, (QuestionError, SafetyRuleError, OSError)):
            _error(str(exc))
            return 1
        from assistant.display import clean

        print(clean(f"massage-qa: internal error: {type(exc).__name__}: {exc} (run with --debug for the details)")
              .replace("\n", " "), file=sys.stderr)
        return 1
    finally:
        gc.enable()
