"""The chat: commands, follow-ups, held safety conditions, prompt-toolkit session, a real terminal."""

from __future__ import annotations

import json
import sys

import pexpect
import pytest
from prompt_toolkit.history import FileHistory
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


def test_why_explains_route_intent_scores_and_the_conversation_state(chat):
    chat.handle("my wife had flu last week but she's fine now. how often should I give her a back massage?")
    chat.handle("and how long on her shoulders?")
    why = chat.handle("/why")
    assert "route       retrieval" in why and "intent      duration" in why
    assert "person      wife" in why and "area shoulders" in why
    assert "condition   wife: fever_infection past" in why  # what she said, and that it is over
    assert "bm25" in why and "tfidf" in why
    chat.handle("what about the lower back?")
    assert "follow-up of: and how long on her" in chat.handle("/why")  # the shoulders replaced


def test_conditions_are_held_per_person_and_come_back_with_them(chat):
    chat.handle("my wife is 6 months pregnant, what oil should i use")
    assert "pregnancy" in chat.toolbar()
    chat.handle("my dad wants one too, how long for him")
    assert chat.last.route.rules == ()  # a new person starts with none of hers
    chat.handle("ok back to my wife, how often can i do it")
    assert [r.id for r in chat.last.route.rules] == ["pregnancy"]
    assert "wife: pregnancy" in chat.toolbar()


def test_a_condition_withdrawn_or_over_is_no_longer_held(chat):
    chat.handle("my husband has a fever, can i massage him")
    chat.handle("actually he's fine now, no fever. what mistakes should i avoid?")
    assert chat.last.route.rules == () and chat.last.route.route == "retrieval"
    chat.handle("can i press right on his spine")  # a caution about what is asked, for this question only
    assert [r.id for r in chat.last.route.rules] == ["spine_pressure"]
    chat.handle("how do i do effleurage")
    assert chat.last.route.rules == ()


def test_follow_up_keeps_the_topic(chat):
    chat.handle("what oil should I use?")
    reply = chat.handle("what about for sensitive skin?")
    assert chat.last.route.carried == "what oil should I use?"
    assert "oil" in reply.lower()


def test_a_follow_up_replaces_the_slots_it_names_and_keeps_the_rest(chat):
    chat.handle("how often can i massage my wife")
    chat.handle("what about her neck?")  # names an area: asks about the neck, not how often
    assert chat.last.route.carried == "" and chat.last.route.intent != "frequency"
    chat.handle("how do i massage the shoulder blades")
    chat.handle("what about the lower back?")  # replaces the area, keeps what was asked
    assert "shoulder" not in chat.last.route.carried and "massage" in chat.last.route.carried
    assert "lower back" in chat.last.route.query


def test_a_follow_up_naming_only_another_area_asks_what_was_asked_of_it(chat):
    chat.handle("how long should i massage my partner's lower back for")
    chat.handle("what about her neck?")  # how long, for the neck: not "how to massage a neck"
    assert chat.last.route.intent == "duration" and "area neck" in chat.handle("/why")
    chat.handle("how often can i give my husband an upper back massage")
    chat.handle("and his hips?")
    assert chat.last.route.intent == "frequency" and "area hips" in chat.handle("/why")


def test_a_question_too_short_to_name_its_area_keeps_the_area(chat):
    chat.handle("how do i knead someones hips")
    chat.handle("how long for")
    assert chat.last.route.intent == "duration" and chat.last.route.carried == "hips"
    assert "area hips" in chat.handle("/why")


def test_a_follow_up_to_a_long_story_carries_only_what_was_asked(chat):
    chat.handle("My wife has been on her feet all day at work and her lower back aches. I want to help her "
                "relax tonight. How long should the massage last?")
    assert "asked       How long should the massage last?" in chat.handle("/why")
    chat.handle("and what oil?")  # a question of its own: keeps the area, not the story or "how long"
    assert chat.last.route.carried == "lower back" and chat.last.route.intent == "oil_choice"


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


def test_sigterm_ends_the_chat_cleanly_and_two_chats_share_one_history(index_dir, tmp_path):
    import signal

    env = {"MASSAGE_QA_INDEX": str(index_dir), "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    chats = [pexpect.spawn(sys.executable, ["-m", "assistant", "chat"], cwd=str(ROOT), env=env,
                           encoding="utf-8", timeout=60, dimensions=(40, 160)) for _ in range(2)]
    for n, child in enumerate(chats):
        child.expect(">")
        child.sendline(f"how often should i massage number {n}")
        child.expect("Sources:")
        child.expect(">")
    for child in chats:
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 128 + signal.SIGTERM and "Traceback" not in (child.before or "")
    history = next((tmp_path / "data").rglob("history")).read_text("utf-8")
    assert "number 0" in history and "number 1" in history  # neither chat lost the other's lines


# -- robustness ---------------------------------------------------------------------------------
def test_superscript_and_other_non_ascii_digits_are_usage_not_a_crash(chat):
    chat.handle("what oil should I use?")
    for command in ("/show ²", "/show ١", "/k ²", "/rate ³"):
        assert chat.handle(command).startswith("Usage:"), command


def test_rate_ids_are_unique_even_for_questions_of_the_same_length(chat):
    for question in ("how do I work out a knot?", "what oil is best for it?", "how do I work out a knot?"):
        chat.handle(question)
        chat.handle("/rate 1")
    ids = [json.loads(line)["id"] for line in chat.rated_path.read_text("utf-8").splitlines()]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_undecodable_and_overlong_piped_lines_cost_one_reply_each(chat, capsys, monkeypatch):
    import io

    from assistant import batch

    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 5000)
    data = b"what oil should I use?\n\xff\xfe caf\xe9\n" + b"x" * 20000 + b"\n\x1b]0;pwned\x07/show \xc2\xb2\nhow long should a massage last?\n"
    piped(chat, batch.bounded_lines(io.BytesIO(data)), sys.stdout)
    out = capsys.readouterr().out
    assert out.count("Sources:") == 2
    assert "line 2 is not UTF-8 text" in out and "line 3 is too long" in out and "Usage: /show N" in out
    assert "\x1b" not in out and "\x07" not in out


def test_ctrl_c_while_answering_cancels_that_answer_only(chat, monkeypatch):
    answer = chat.handle

    def handle(line):
        if line.startswith("slow"):
            raise KeyboardInterrupt
        return answer(line)
    monkeypatch.setattr(chat, "handle", handle)
    shown = []
    with create_pipe_input() as inp:
        session = make_prompt_session(chat, input=inp, output=DummyOutput(), warn=shown.append)
        inp.send_text("slow question\nwhat oil should I use?\n\x04")
        assert interactive(chat, session, shown.append) == 0
    text = "\n".join(map(str, shown))
    assert "(cancelled)" in text and "Sources:" in text


def test_a_folder_at_the_history_path_is_a_one_line_warning(chat, tmp_path):
    (tmp_path / "xdg_data_home" / "massage-qa" / "history").mkdir(parents=True)
    warnings, shown = [], []
    with create_pipe_input() as inp:
        session = make_prompt_session(chat, input=inp, output=DummyOutput(), warn=warnings.append)
        assert not isinstance(session.history, FileHistory)  # reading a folder as history would print a traceback
        inp.send_text("what oil should I use?\n\x04")
        assert interactive(chat, session, shown.append) == 0
    assert len(warnings) == 1 and "history" in warnings[0] and "is not a file" in warnings[0] and "\n" not in warnings[0]
    assert "Sources:" in "\n".join(map(str, shown))


def test_piped_chat_through_the_real_entry_point_survives_bad_bytes(index_dir):
    import os
    import subprocess

    env = dict(os.environ, MASSAGE_QA_INDEX=str(index_dir), LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8:strict")
    out = subprocess.run([sys.executable, "-m", "assistant", "chat"], cwd=ROOT, env=env, capture_output=True, timeout=120,
                         input=b"what oil should I use?\n\xff bad byte\n\x1b[2J/show \xc2\xb2\nhow long should a massage last?\n")
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode("utf-8")
    assert text.count("Sources:") == 2 and "not UTF-8" in text and "\x1b" not in text and b"Traceback" not in out.stderr


def test_a_flood_of_random_lines_escapes_and_long_lines_gets_one_reply_each(chat):
    import random

    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz ?!.,'\u00e9\u4e2d\U0001F600\x1b[31m\x1b]0;title\x07\u202e\x00"
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.choice((1, 5, 40, 300, 3000)))) + "\n" for _ in range(120)]
    from assistant.display import clean

    lines = [line for line in lines if clean(line).strip() and not clean(line).lstrip().startswith("/")]

    class Replies(list):
        def write(self, text):
            self.append(text)

        def flush(self):
            pass

    replies = Replies()
    piped(chat, iter(lines), replies)
    out = "".join(replies)
    assert len(replies) == len(lines)  # every line with text answered (or refused) once, the chat still going
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x00" not in out
