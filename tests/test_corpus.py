"""Corpus: cleaning removes every site's boilerplate, passages keep checkable offsets and sections."""

from __future__ import annotations

import json
import re

import pytest

from assistant.corpus import CleaningRules, CorpusError, build_passages, classify_lines, load_guides, split_guide
from assistant.text import squash
from conftest import CORPUS

GONE = {
    "good-back-massage-at-home.txt": ["Affiliate Disclaimer", "As an affiliate, we may earn", "About the author",
                                      "Latest posts", "Zodiac Signs", "commitment phobia", "Why Play Is Important",
                                      "Read more"],
    "femspa-how-to-do-back-massage.txt": ["Home Back Massage How To Do", "by Femspa_Spa", "Leave a Comment",
                                          "You may also like", "Jogeshwari West", "Mail Us at", "11:00 am to 9:30 pm",
                                          "Monday to Sunday", "All rights reserved", "Chat with us",
                                          "crafted a sanctuary", "fem-spa-logo"],
    "smart-ways-back-massage.txt": ["Apply Now", "Learn More in 2025"],
    "relaxing-back-massage.txt": ["Watch the Step-by-Step Video", "I created a simple video tutorial",
                                  "Watch the video below", "Previous", "Next", "Double Thumb Glide",
                                  "Self Chest Massage"],
    "best-back-massage-for-back-pain.txt": ["Fractioned Aromatherapy or Massage oil", "applying oil as give a back massage",
                                            "thimb strips as you give", "shingles effleurage as you give a back massage"],
}
KEPT = {
    "good-back-massage-at-home.txt": ["jojoba oil or coconut oil", "Avoid these common mistakes", "effleurage"],
    "femspa-how-to-do-back-massage.txt": ["avoid massaging the lower back and abdomen", "Once or twice a week is common",
                                          "natural oils like coconut or almond"],
    "smart-ways-back-massage.txt": ["once a week to once a month", "foam roller"],
    "relaxing-back-massage.txt": ["practice 2–3 times per week", "Stop immediately if there is sharp pain",
                                  "Place your hands on the lower back"],
    "best-back-massage-for-back-pain.txt": ["Avoid Using Pressure If You Have Not Taken Classes",
                                            "about 15 to 20 minutes"],
}


@pytest.fixture(scope="module")
def passages(guides):
    return build_passages(list(guides.values()))


@pytest.mark.parametrize("guide", sorted(GONE))
def test_boilerplate_is_gone_and_content_stays(passages, guide):
    text = " ".join(p.text for p in passages if p.guide == guide)
    for phrase in GONE[guide]:
        assert phrase not in text, f"boilerplate {phrase!r} still in {guide}"
    for phrase in KEPT[guide]:
        assert phrase in text, f"content {phrase!r} lost from {guide}"


def test_every_passage_is_the_whitespace_normalised_slice_of_its_file(passages, guides):
    for p in passages:
        original = guides[p.guide].text
        assert squash(original[p.start:p.end]) == p.text, p.id
        for s in p.sentences:
            assert p.start <= s.start < s.end <= p.end, p.id
            assert squash(original[s.start:s.end]) == s.text
            assert s.text in p.text


def test_passages_are_sized_and_never_cross_a_section(passages, guides):
    rules = CleaningRules.load()
    sizes = sorted(len(p.text.split()) for p in passages)
    assert sizes[len(sizes) // 2] >= 40 and max(sizes) <= 140
    for name, guide in guides.items():
        headings = [l for l in classify_lines(guide.text, rules) if l.kind == "heading"]
        for p in (p for p in passages if p.guide == name):
            inside = [h for h in headings if p.start < h.start < p.end]
            assert not inside, f"{p.id} crosses heading {inside[0].text!r}"


def test_ids_are_stable_and_unique(guides):
    first = build_passages(list(guides.values()))
    second = build_passages(list(guides.values()))
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)
    assert all(re.fullmatch(r"[a-z0-9-]+-\d{3}", p.id) for p in first)


def test_headings_faq_questions_and_numbered_steps_become_sections(passages):
    sections = {p.section for p in passages}
    assert "1. Warm-Up Strokes" in sections
    assert "Choosing the Right Oil or Lotion" in sections
    faq = next(p for p in passages if p.section.startswith("Q3: How long should a back massage last"))
    assert faq.text.startswith("Q3: How long should a back massage last?")
    assert "10 to 15 minutes" in faq.text  # question and answer in one passage
    oils = next(p for p in passages if p.section.startswith("Are there any specific oils"))
    assert "jojoba oil or coconut oil" in oils.text


def test_a_new_guide_gets_the_same_cleaning(tmp_path):
    (tmp_path / "new-guide.md").write_text(
        "# Shoulder Rubs Made Simple\n\nApply Now\n\n## Getting Started\n\n"
        "Warm your hands and use a little almond oil before you begin. Ask where it feels tight and go slowly. "
        "Keep one hand on the back at all times so the massage flows without breaks.\n\n"
        "Leave a Comment\n\nGreat post, thanks for sharing!\n", encoding="utf-8")
    guide, = load_guides(tmp_path)
    assert guide.title == "Shoulder Rubs Made Simple"
    passages = split_guide(guide, CleaningRules.load())
    text = " ".join(p.text for p in passages)
    assert "almond oil" in text and passages[0].section == "Getting Started"
    assert "Apply Now" not in text and "Great post" not in text


def test_unreadable_guides_give_a_one_line_error(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02\x00binary")
    with pytest.raises(CorpusError, match="binary, not text"):
        load_guides(tmp_path)
    with pytest.raises(CorpusError, match="no .txt or .md guides"):
        load_guides(_empty(tmp_path))
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_guides(tmp_path / "missing")


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_group_headings_come_from_the_text_or_the_manifest_outline(tmp_path):
    (tmp_path / "g.md").write_text(
        "# Back Rubs\n\n## Common Slip-Ups\n\n### Going Too Fast\n\nSlow down and let each stroke land before the next one.\n\n"
        "### Pressing Too Hard\n\nBuild pressure gradually and ask how it feels as you go.\n\n"
        "## Strokes to Try\n\n1. Warm-Up Glide\n\nGlide both palms up the back from the waist to the shoulders.\n\n"
        "2. Thumb Circles\n\nMake small circles with your thumbs beside the spine, never on it.\n\n"
        "## Afterwards\n\nA short rest and a glass of water help the body settle.\n\n"
        "### Stretch Gently\n\nA few shoulder rolls keep the muscles loose after the massage.\n\n"
        "### Is it ok to shower after?\n\nA warm shower is fine once they have rested for a while.\n", encoding="utf-8")
    (tmp_path / "manifest.json").write_text(
        '{"guides": {"g.md": {"title": "Back Rubs", "outline": {"Afterwards": ["Stretch Gently"]}}}}', encoding="utf-8")
    guide, = load_guides(tmp_path)
    groups = {p.section: p.group for p in split_guide(guide, CleaningRules.load())}
    # a heading with no text of its own heads the sections under it
    assert groups["Going Too Fast"] == groups["Pressing Too Hard"] == "Common Slip-Ups"
    # a numbered group ends with its numbered steps
    assert groups["1. Warm-Up Glide"] == groups["2. Thumb Circles"] == "Strokes to Try"
    assert groups["Afterwards"] == ""
    # an intro hides the level in plain text; the manifest's outline restores it
    assert groups["Stretch Gently"] == "Afterwards"
    # a question heading stands alone
    assert groups["Is it ok to shower after?"] == ""


def test_group_headings_are_indexed_with_their_sections(index):
    from assistant.index import index_text

    rushing = next(p for p in index.passages if p.section == "Rushing Through the Process")
    assert rushing.group == "Common Mistakes to Avoid"
    assert "mistak" in index.analyzer.terms(index_text(rushing))


def test_a_sites_own_boilerplate_is_cleaned_from_its_guide_alone(tmp_path):
    import json

    text = "Oil Guide\n\nChoosing Oil\n\nUse a light oil such as grapeseed oil.\nBuy our Lavender Dream blend today!\n"
    (tmp_path / "a.txt").write_text(text, "utf-8")
    (tmp_path / "b.txt").write_text(text.replace("Oil Guide", "Other Guide"), "utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"guides": {"a.txt": {"title": "A", "cleaning": {
        "drop_lines": ["^buy our lavender dream"]}}}}), "utf-8")
    a, b = load_guides(tmp_path)
    rules = CleaningRules.load()
    assert "Lavender Dream" not in " ".join(p.text for p in split_guide(a, rules))
    assert "Lavender Dream" in " ".join(p.text for p in split_guide(b, rules))
    (tmp_path / "manifest.json").write_text(json.dumps({"guides": {"a.txt": {"cleaning": {"drop_lines": ["(oops"]}}}}), "utf-8")
    with pytest.raises(CorpusError, match=r"guide 'a.txt': cleaning 'drop_lines': bad regular expression"):
        load_guides(tmp_path)


def test_the_shared_cleaning_rules_name_no_site():
    import tomllib
    from importlib import resources

    text = resources.files("assistant.data").joinpath("cleaning.toml").read_text("utf-8")
    for guide in json.loads((CORPUS / "manifest.json").read_text("utf-8"))["guides"].values():
        for pattern in guide.get("cleaning", {}).get("not_answers", []) + guide.get("cleaning", {}).get("drop_lines", []):
            assert pattern not in text  # a site's own lines live in its manifest entry only
    assert tomllib.loads(text)
