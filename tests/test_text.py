"""Text analysis: normalisation, thesaurus, spelling, stems; and that it all works with no nltk data."""

from __future__ import annotations

import json

import subprocess
import sys
import textwrap

import pytest

from assistant.text import normalise, words
from conftest import CORPUS


def test_normalise_quotes_dashes_and_emoji():
    assert normalise("Don’t “rush” — 2–3 times 💡") == "don't \"rush\" - 2-3 times "


def test_words_open_contractions():
    assert words("She isn't pregnant; he's fine, can't stop") == [
        "she", "is", "not", "pregnant", "he", "fine", "can", "not", "stop"]
    assert words("no fever, but sore", boundaries=True) == ["no", "fever", "|", "but", "sore"]
    # typed without the apostrophe, as chat is: opened the same way (a word that is a word, "shed", is left alone)
    assert words("hes fine, weve tried and itll help") == words("he's fine, we've tried and it'll help")
    assert words("shed") == ["shed"]


def test_a_contraction_that_is_also_a_word_is_opened_only_where_the_word_cannot_stand():
    # "ill" typed for "i'll" opens a clause, after a filler at most; "she's ill" and "ill since monday" are ill
    assert words("ok ill stop now, cheers") == ["ok", "i", "stop", "now", "cheers"]
    assert words("thanks! ill let you know") == ["thanks", "i", "let", "you", "know"]
    assert "ill" in words("she's been ill all week") and "ill" in words("ill since monday, is that ok")
    assert words("ill") == ["ill"]  # a word alone (the safety rules' trigger) is the word


def test_ill_before_a_verb_is_i_will_unless_a_word_before_it_makes_it_the_adjective():
    # chat puts "ill" for "i'll" mid-message too ("ty ill let u know"); the adjective keeps its word
    # after a copula, an intensifier or a noun with 's, and opening a question ("ill do i ...")
    assert words("ty ill let u know how it goes") == ["ty", "i", "let", "u", "know", "how", "it", "goes"]
    assert words("nice one ill give that a go") == ["nice", "one", "i", "give", "that", "a", "go"]
    assert words("thx id say start with the shoulders")[:3] == ["thx", "i", "say"]
    for sick in ("she is ill let me know what to do", "he was so ill give him a minute", "the kid's ill give him space",
                 "mum ill do i still massage her", "shes been ill try to be gentle"):
        assert "ill" in words(sick), sick


def test_thesaurus_maps_lay_words_to_the_guides_words(index):
    a = index.analyzer
    assert a.terms("back rub") == a.terms("back massage")
    assert "oil" in a.terms("which lotion")
    assert a.stem("pregnant") in a.terms("my wife is expecting")
    assert a.stem("frequency") in a.terms("how often?")
    assert a.stem("frequency") in a.terms("practice 2-3 times per week")
    assert a.stem("osteoporosis") in a.terms("she has brittle bones")


def test_misspellings_are_corrected_to_known_words(index):
    a = index.analyzer
    assert a.terms("pregant") == a.terms("pregnant")
    assert a.terms("masage oil") == a.terms("massage oil")
    assert a.terms("offten") == a.terms("often") == a.terms("offen")
    # two neighbouring letters swapped, the commonest slip
    assert a.terms("how do i stnad") == a.terms("how do i stand")
    assert a.terms("sholuder and spien") == a.terms("shoulder and spine")
    # apostrophes left out: contractions, not misspellings ("shouldnt" is not "shoulder")
    assert words("i shouldnt, she doesnt") == ["i", "should", "not", "she", "does", "not"]
    assert "shoulder" not in a.canonical_words("what shouldnt i do")
    # real words near a known one stay themselves
    assert words("every single day in town") == [w for w in a.canonical_words("every single day in town")
                                                 if w != "frequency"]
    assert a.canonical_words("husband") == ["husband"]  # a real word stays itself
    # an inflection of a known word is not a slip for another one ("pains" is not "pins")
    assert a.terms("shooting pains") == a.terms("shooting pain")
    # a longer word may hold two slips; the names people use for each other are no slips at all
    assert a.terms("her excema") == a.terms("her eczema") == a.terms("her exzema")
    assert a.canonical_words("my missus and my bloke") == ["my", "missus", "and", "my", "bloke"]


def test_everyday_words_are_not_taken_for_slips(index):
    # words the guides never use, one letter from one they do ("boil" / "oil", "warning" / "wearing")
    a = index.analyzer
    for word in ("boil", "kneel", "warning", "tried", "bought", "cooking", "sent", "train", "lose"):
        assert a.canonical_words(word)[0] == word  # ("kneel" also gets its concept tag)
    assert a.terms("masage") == a.terms("massage")  # a slip that is no word is still corrected
    # slips that are words themselves are mapped by the thesaurus
    assert a.terms("a back message") == a.terms("a back massage")
    assert a.terms("sore mussels") == a.terms("sore muscles")


def test_the_words_small_talk_replies_are_chosen_by_are_no_slips(index, assistant):
    """Thanks in another language is no slip for a guide's word ("grazie" is not "graze", a skin
    problem): after a held condition, it is thanked for, and no new condition is read into it."""
    assert index.analyzer.canonical_words("grazie")[0] == "grazie"
    from assistant.pipeline import Conversation

    conversation = Conversation()
    assistant.ask("my nan is 88, how gentle should i be on her back", conversation)
    before = set(conversation.in_force())
    answer = assistant.ask("grazie, ill let u know how it goes", conversation)
    assert answer.route.route == "smalltalk" and set(conversation.in_force()) == before
    # an acknowledgement is no slip for a guide word either ("righto" is not "right")
    assert assistant.ask("righto", conversation).route.route == "smalltalk"


def test_an_unseen_inflection_gets_the_stem_of_the_word_it_inflects(index):
    a = index.analyzer
    assert "kneadings" not in a.stems and a.stem("kneadings") == a.stem("knead")
    assert a.stem("lotioned") == a.stem("lotion")
    assert a.stem("zzyzx") == "zzyzx"  # a word no passage holds keeps itself: it matches nothing
    assert a.stem("gentler") == a.stem("gentle") and a.stem("firmest") == a.stem("firm")


def test_stop_words_are_scikit_learns_with_the_data_files_adjustments(index):
    import tomllib
    from importlib import resources

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    adjust = tomllib.loads(resources.files("assistant.data").joinpath("thesaurus.toml").read_text("utf-8"))["stop_words"]
    expected = (frozenset(ENGLISH_STOP_WORDS) - set(adjust["keep"])) | set(adjust["add"])
    assert index.analyzer.stop_words == expected


def test_filler_words_do_not_steer_retrieval(index):
    # "thing" is rare in the guides: as a term it pulled "a few key things are ignored" to the top
    assert index.analyzer.terms("how do you do the kneading thing") == ["knead"]
    assert "knead" in index.search("how do you do the kneading thing", k=1)[0].passage.text.lower()


def test_verbs_of_asking_are_no_topic(index):
    # "does" was a term (stem "doe") in every "does it help" and "doesn't": the rarest word of many questions
    assert index.analyzer.terms("he doesn't have any back pain") == index.analyzer.terms("he has back pain")
    assert index.analyzer.terms("does the oil need to be warm") == index.analyzer.terms("the oil need to be warm")


def test_an_age_is_not_a_topic(index):
    terms = index.analyzer.terms
    assert "15" not in terms("my 15 year old son has a sore back")
    assert "15" not in terms("my 15-year-old son") and "80" not in terms("she is 80 yrs")
    assert "15" in terms("is 15 minutes enough")
    assert "older" in terms("how to massage an old lady") and "older" in terms("massage for old people")


def test_analysis_and_sentence_splitting_need_no_nltk_data(tmp_path):
    """With NLTK_DATA pointing at an empty folder (and no other data), everything still works."""
    script = textwrap.dedent("""
        import nltk
        nltk.data.path[:] = []
        from assistant.text import Analyzer, sentence_spans, sklearn_stop_words
        a = Analyzer(sklearn_stop_words())
        assert a.terms("Massaging the shoulders gently") == ["massag", "shoulder", "gentl"], a.terms("x")
        text = "Dr. Smith says relax. Then glide up.\\n  • Use oil\\nAns: Yes, you can."
        spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
        assert spans == ["Dr.", "Smith says relax.", "Then glide up.", "Use oil", "Yes, you can."], spans
        try:
            nltk.data.find("tokenizers/punkt")
        except LookupError:
            print("no-data-ok")
    """)
    env = {"NLTK_DATA": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "no-data-ok" in out.stdout


@pytest.mark.parametrize("a, b, n", [("pregant", "pregnant", 1), ("fevr", "fever", 1), ("offen", "often", 1),
                                     ("teh", "the", 1), ("single", "shingles", 2), ("weather", "whether", 2),
                                     ("", "oil", 3), ("oil", "oil", 0)])
def test_edit_distance_counts_typos_like_nltk(a, b, n):
    from nltk.metrics.distance import edit_distance as nltk_distance

    from assistant.text import edit_distance

    assert edit_distance(a, b) == nltk_distance(a, b, transpositions=True) == n


def test_shorthand_people_type_is_spelled_out(index):
    a = index.analyzer
    assert a.terms("hw often shld i massage my hubby") == a.terms("how often should i massage my husband")
    # "after" is a stop word, so spelling correction leaves "aftr" alone; the aftercare phrase needs it
    assert a.canonical_words("what do i do aftr the massage") == a.canonical_words("what do i do after the massage")
    assert a.stem("pregnant") in a.terms("shes preg")


def test_sentences_are_punkt_s_whether_or_not_a_line_ends_one():
    """A line with no sentence-ending mark is split without Punkt, to the same spans."""
    from assistant.text import sentence_spans

    text = "  Warm the oil first  \n- Use long strokes. Then knead\nAns: yes \n   \n\u2022 \U0001F33F Breathe slowly\n"
    spans = list(sentence_spans(text, 0, len(text)))
    assert spans == [(2, 20), (25, 42), (43, 53), (59, 62), (72, 86)]
    assert [text[s:e] for s, e in spans] == ["Warm the oil first", "Use long strokes.", "Then knead", "yes", "Breathe slowly"]


def test_a_line_split_without_punkt_is_split_as_punkt_splits_it(guides):
    """A line is cut where Punkt always breaks, and a piece whose only sentence marks end it is one
    sentence without asking Punkt: the same spans Punkt gives, on every line of the shipped guides,
    every labelled question and turn, and lines made to be awkward (abbreviations, initials,
    numbers, quotes, ellipses: Punkt's own decisions)."""
    from assistant.text import _line_sentences, punkt_tokenizer

    punkt = punkt_tokenizer()
    lines = [line for g in guides.values() for line in g.text.split("\n") if line.strip()]
    for path in CORPUS.glob("*.jsonl"):
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            lines += [row[k] for k in ("question", "text") if k in row] + [t["text"] for t in row.get("turns", ())]
    lines += ["Is it safe?", "Stop!!!", "Really?!  ", "He said \u201cstop.\u201d", "(See below.)", "Wait... what?",
              "e.g. this one", "Dr. Smith. ", "3.5 kg of oil", "...", "Ends with a dot. \u201d", "One. Two.",
              "Wait..", "x!?", "Hm?.", "So good!! ", "[Step 2.]",
              "Dr. Smith said so. Then he left.", "J. Bach wrote it. Mr. Jones agreed.", "Step 3. Then rub.",
              "Use oils, e.g. Jojoba. It works.", "The U.S. Army uses it. Fine.", "He said 'no.' Then left.",
              "Really?! Then go.", "Wait... Then stop.", "It costs 3.5 dollars. Then pay.", "Apply it (gently). Then rest.",
              "Is it ok? Yes it is. Go ahead!", "ok. Then. Fine.", "No. I. Am.", "Two  spaces.  And\ttab. Here.",
              "A. B. C.", "x-ray. Then go.", "\u201cQuoted.\u201d Then go.", "It's 5 p.m. Then we go.", "word.Next. Ok.",
              "The end.\u00a0Next starts.", "Oh no! What now? Stop.", "Mid. lowercase next. Upper Next"]
    assert len(lines) > 2000
    for line in lines:
        assert list(_line_sentences(line, punkt)) == list(punkt.span_tokenize(line)), line


def test_plain_ascii_is_normalised_like_any_text():
    assert normalise("Caret^ and `back` TICKS") == "caret and back ticks"
    assert normalise("caf\u00e9 \u201cdeep\u201d") == "caf\u00e9 \"deep\""



def test_spelling_correction_compares_a_slip_with_every_dictionary_word_difflib_could_find(index):
    """The letter-count arrays only rule out words difflib's own quick_ratio would: a correction is
    the one a scan of the whole letter-and-length bucket gives (here for 600 slips of dictionary
    words, accented ones among them)."""
    import difflib
    import random

    analyzer = index.analyzer
    rnd = random.Random(7)
    known = sorted(w for w in analyzer.dictionary if len(w) >= 5)
    checked = 0
    for _ in range(600):
        w = rnd.choice(known)
        i = rnd.randrange(len(w))
        slip = [w[:i] + rnd.choice("aeiouéstrn") + w[i + 1:], w[:i] + w[i + 1:], w[:i] + rnd.choice("aeiou") + w[i:]][rnd.randrange(3)]
        if not slip.isalpha() or len(slip) < 5:
            continue
        for cutoff in (analyzer.spell_cutoff, 0.75):
            bucket = sorted({x for at in (0, 1) for n in range(len(slip) - 2, len(slip) + 3)
                             for x in analyzer._by_letter.get((at, slip[at], n), ())})
            assert difflib.get_close_matches(slip, analyzer._pool(slip, cutoff), n=3, cutoff=cutoff) == \
                difflib.get_close_matches(slip, bucket, n=3, cutoff=cutoff), slip
            checked += 1
    assert checked > 800
