"""The chat: commands, follow-ups, held safety conditions, prompt-toolkit session, a real terminal."""

from __future__ import annotations

import json
import sys

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from assistant.chat import ChatSession, interactive, make_prompt_session, piped
from conftest import ROOT


@pytest.fixture
def chat(assistant, tmp_path):
    return ChatSession(assistant, rated_path=tmp_path / "rated.jsonl")


def test_answers_are_cited_and_show_opens_the_passage(chat):
    reply = chat.handle("what oil should I use?")
    assert "[1]" in reply and "Sources:" in reply
    cited = chat.last.citations[0].passage
    shown = chat.handle("/show 1")
    assert cited.text in shown and f"characters {cited.start}-{cited.end}" in shown
    assert "Usage: /show N" in chat.handle("/show 99")


def test_why_explains_route_intent_scores_and_carried_topic(chat):
    chat.handle("how often should I give a back massage?")
    chat.handle("and how long?")
    why = chat.handle("/why")
    assert "route       retrieval" in why and "intent      duration" in why
    assert "follow-up of: how often should I give a back massage?" in why
    assert "bm25" in why and "tfidf" in why


def test_follow_up_keeps_the_topic(chat):
    chat.handle("what oil should I use?")
    reply = chat.handle("what about for sensitive skin?")
    assert chat.last.route.carried == "what oil should I use?"
    assert "oil" in reply.lower()


def test_a_follow_up_to_a_long_story_carries_only_what_was_asked(chat):
    chat.handle("My wife has been on her feet all day at work and her lower back aches. I want to help her "
                "relax tonight. How long should the massage last?")
    assert "asked       How long should the massage last?" in chat.handle("/why")
    chat.handle("and what oil?")
    assert chat.last.route.carried == "How long should the massage last?"


def test_a_condition_stays_in_force_until_clear(chat):
    assert "/clear" not in chat.handle("my wife is pregnant")
    shown = chat.handle("how long should a massage last?")
    assert [r.id for r in chat.last.route.rules] == ["pregnancy"]
    assert "said earlier: pregnancy" in shown and "/clear" in shown  # the user learns why, and the way out
    assert "prenatal" in chat.handle("what oil should I use?")
    chat.handle("/clear")
    chat.handle("what oil should I use?")
    assert chat.last.route.rules == () and chat.last.route.route == "retrieval"


def test_a_new_condition_is_not_taken_for_a_follow_up(chat):
    chat.handle("how do i loosen a tight knot between her shoulder blades")
    chat.handle("she is 8 months pregnant")
    assert chat.last.route.carried == "" and [r.id for r in chat.last.route.rules] == ["pregnancy"]
    chat.handle("and if she is pregnant?")  # opens like a follow-up: the topic is carried
    assert chat.last.route.carried


def test_settings_commands_validate_their_arguments(chat):
    assert chat.handle("/mode bm25") == "Mode is now bm25." and chat.mode == "bm25"
    assert "Usage: /mode" in chat.handle("/mode fast")
    assert chat.handle("/k 3") == "Ranking 3 passages."
    chat.handle("what oil should I use?")
    assert len(chat.last.hits) <= 3
    assert "Usage: /k" in chat.handle("/k zero")
    assert "Unknown command /frob" in chat.handle("/frob")


def test_rate_appends_a_labelled_question_in_eval_format(chat):
    chat.handle("how do I work out a knot near the shoulder blade?")
    assert "Saved to" in chat.handle("/rate 1")
    record = json.loads(chat.rated_path.read_text("utf-8").splitlines()[-1])
    assert record["question"] == "how do I work out a knot near the shoulder blade?"
    assert record["evidence"][0]["quote"] == chat.last.hits[0].passage.text
    chat.handle("/rate none")
    assert json.loads(chat.rated_path.read_text("utf-8").splitlines()[-1])["intent"] == "out_of_scope"


def test_escape_sequences_from_users_never_reach_the_terminal(chat):
    reply = chat.handle("/frob\x1b]0;pwned\x07\x1b[2J")
    assert "\x1b" not in reply and "\x07" not in reply


def test_prompt_session_with_pipe_input(chat, tmp_path):
    shown = []
    with create_pipe_input() as inp:
        session = make_prompt_session(chat, input=inp, output=DummyOutput(), warn=shown.append)
        inp.send_text("what oil should I use?\n/show 1\n/why\n")
        inp.send_text("\x04")  # Ctrl-D
        assert interactive(chat, session, shown.append) == 0
    text = "\n".join(map(str, shown))
    assert "[1]" in text and "characters" in text and "route       retrieval" in text
    history = (tmp_path / "xdg_data_home" / "massage-qa" / "history").read_text("utf-8")
    assert "what oil should I use?" in history


def test_history_that_cannot_be_written_is_a_warning(chat, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    warnings = []
    with create_pipe_input() as inp:
        session = make_prompt_session(chat, input=inp, output=DummyOutput(), warn=warnings.append)
        inp.send_text("hello\n\x04")
        assert interactive(chat, session, lambda m: None) == 0
    assert warnings and warnings[0].startswith("warning: chat history not saved")


def test_piped_input_answers_line_by_line(chat, capsys):
    piped(chat, iter(["what oil should I use?\n", "\n", "/quit\n", "never reached\n"]), sys.stdout)
    out = capsys.readouterr().out
    assert out.count("Sources:") == 1 and "never reached" not in out


def test_real_terminal_session(index_dir, tmp_path):
    env = {"MASSAGE_QA_INDEX": str(index_dir), "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "assistant", "chat"], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect("Ctrl-D to leave")
    child.expect(">")
    child.sendline("what oil should I use?")
    child.expect(r"\[1\]")
    child.expect("Sources:")
    child.expect(">")
    child.sendline("/show 1")
    child.expect("characters")
    child.expect(">")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
