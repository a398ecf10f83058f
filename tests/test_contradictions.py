"""An answer never contradicts its own warning: a condition + question list, each with what the
condition rules out. (Checked on the answer's body and its "where the guides differ" line.)"""

from __future__ import annotations

import re

import pytest

NUTS = r"\b(almond|argan|walnut|macadamia|hazelnut|peanut)"
PREGNANCY = r"\b(lower back|abdomen|belly|stomach|face down|pressure points?)\b"
SPINE = r"\b(spinal cord|center line|(down|on|along) (the|their|his|her) spine)\b"
DEEP = r"\b(deep(er)? pressure|firm pressure|press firmly|elbows?|forearms?|deep tissue)\b"
CLAIMS = r"\b(cure-?all|magical|miracle|definitely|guarantee|sleeping pills|instant relieving|get rid of the pain)\b"
PAIN_SPOT = r"\b(where (most of )?the pain is|pain is felt|painful (area|spot)s?|sore spots?)\b"
NOTHING = r"."  # a stop/avoid condition: the warning is the whole answer, no technique at all

PAIRS = [
    ("my husband is allergic to nuts, what oil should i use", NUTS),
    ("she has a nut allergy, which massage oil is best", NUTS),
    ("allergic to almonds, any oil recommendations", NUTS),
    ("he has sensitive skin, is almond oil ok", NUTS),
    ("my wife is pregnant, how do i massage her lower back", PREGNANCY),
    ("she's 7 months pregnant, how hard can i press", PREGNANCY),
    ("my pregnant girlfriend wants a back rub, what technique", PREGNANCY),
    ("wife is expecting, how should she lie for a massage", PREGNANCY),
    ("she is pregnant, how do i get rid of knots", PREGNANCY),
    ("can i press on her spine", SPINE),
    ("is it ok to rub right on the spine to loosen it", SPINE),
    ("how hard can i push on his backbone", SPINE),
    ("should i press directly on the vertebrae", SPINE),
    ("my grandma is 85, how do i give her a deep massage", DEEP),
    ("my elderly dad wants deep pressure, how do i do it", DEEP),
    ("my nan is in her nineties, can i use my elbows", DEEP),
    ("i want to do deep tissue on my wife like the pros", DEEP),
    ("how do i use my forearms for a deep massage", DEEP),
    ("will massage cure my chronic back pain", CLAIMS),
    ("can massage fix my back problem for good", CLAIMS),
    ("will a back rub cure my sciatica", CLAIMS),
    ("can a massage help me sleep better", CLAIMS),
    ("my back is killing me after work, can my wife massage it", CLAIMS),
    ("is massage better than painkillers for back pain", CLAIMS),
    ("what does a back massage actually do for you", CLAIMS),
    ("he's been stiff every morning for weeks, what strokes should i use on him", PAIN_SPOT),
    ("her back has been stiff and sore for months, which technique is best", PAIN_SPOT),
    ("he's had a sore back for about a year, where should i use my thumbs", PAIN_SPOT),
    ("he pulled a muscle yesterday, how do i knead it", NOTHING),
    ("she twisted her back this morning, what technique should i use", NOTHING),
    ("there's a rash on his back, what oil should i use", NOTHING),
    ("she got sunburnt, can i rub lotion in with a massage", NOTHING),
    ("he has a fever, how long should i massage him", NOTHING),
    ("my son has the flu, how do i rub his back", NOTHING),
    ("she has osteoporosis, how firm should the massage be", NOTHING),
    ("he has a blood clot in his leg, how do i massage his back", NOTHING),
    ("sharp shooting pain down her leg, what technique helps", NOTHING),
]


@pytest.mark.parametrize("question, ruled_out", PAIRS)
def test_no_answer_contradicts_its_warning(assistant, question, ruled_out):
    answer = assistant.ask(question)
    body = [line.text for line in answer.lines if line.kind in ("body", "summary")]
    if ruled_out is NOTHING:
        assert answer.route.route == "safety" and body == [], question
        return
    if ruled_out is not CLAIMS:
        assert answer.route.route == "safety", question
    offending = [text for text in body if re.search(ruled_out, text, re.IGNORECASE)]
    assert offending == [], question
