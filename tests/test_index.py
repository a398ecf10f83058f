"""The saved index: plain numpy/JSON files, rebuilt when stale or damaged, identical results when loaded."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from assistant.config import load_config
from assistant.index import build, load, open_index, save



def stored(folder, name: str):
    """Where the manifest says an index file (by its name: "passage_strings.npy") is stored."""
    return folder / json.loads((folder / "manifest.json").read_text("utf-8"))["files"][name]["file"]

def test_index_files_hold_no_pickle(index_dir):
    from assistant.index import LOCK_FILE

    files = [p for p in index_dir.iterdir() if p.name != LOCK_FILE]  # the lock file is empty
    assert all(p.name.endswith((".json", ".npy", ".npz")) for p in files), files
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)
        elif path.suffix == ".npz":
            with zipfile.ZipFile(path) as z:
                assert all(n.endswith(".npy") for n in z.namelist())
            with np.load(path, allow_pickle=False) as arrays:
                [arrays[k] for k in arrays.files]
        else:
            json.loads(path.read_text("utf-8"))


def test_loaded_index_answers_like_the_built_one(corpus_copy, tmp_path):
    config = load_config()
    built = build(corpus_copy, config)
    save(built, tmp_path / "ix")
    loaded = load(tmp_path / "ix", config)
    for q in ["what oil", "how often should I do it", "pregnant wife"]:
        assert [(h.passage.id, round(h.score, 12)) for h in built.search(q)] == \
               [(h.passage.id, round(h.score, 12)) for h in loaded.search(q)]
    assert list(loaded.passages) == built.passages and loaded.passages[-3:] == built.passages[-3:]
    assert not [p for p in (tmp_path / "ix").iterdir() if p.name.endswith(".tmp")]


def test_stale_missing_and_damaged_indexes_are_rebuilt_with_one_notice(tiny_copy, tmp_path):
    corpus_copy = tiny_copy
    config = load_config()
    notices: list[str] = []
    folder = tmp_path / "ix"
    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and notices == [f"no index in {folder} yet; building it"]

    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert not rebuilt and len(notices) == 1

    guide = corpus_copy / "strokes.txt"
    guide.write_text(guide.read_text("utf-8") + "\n\nKeep the room warm and have warm towels ready before you start the massage.\n", "utf-8")
    index, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and "out of date" in notices[-1]
    assert any("warm towels" in p.text for p in index.passages)

    stored(folder, "bm25_data.npy").write_bytes(b"not an npy")
    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and "damaged" in notices[-1]


def test_an_unchanged_corpus_is_not_read_again_and_a_touched_guide_is_checked_by_its_text(tiny_copy, tmp_path,
                                                                                          monkeypatch):
    config = load_config()
    folder = tmp_path / "ix"
    (tiny_copy / "empty.txt").write_text("")  # a skipped file is told at every open, as before
    first: list[str] = []
    open_index(tiny_copy, folder, config, notify=first.append)
    read = []
    real = index_module.load_guides
    monkeypatch.setattr(index_module, "load_guides", lambda *a, **k: read.append(1) or real(*a, **k))
    again: list[str] = []
    index, _, rebuilt = open_index(tiny_copy, folder, config, notify=again.append)
    assert not rebuilt and not read and again == [n for n in first if "empty.txt" in n] and len(again) == 1
    assert index.search("oil")

    os.utime(tiny_copy / "strokes.txt")  # touched, text unchanged: read and found fresh
    _, _, rebuilt = open_index(tiny_copy, folder, config)
    assert not rebuilt and read == [1]
    (tiny_copy / "new-guide.txt").write_text("Warm Towels\n\nWarm the towels on a radiator before the massage so the "
                                            "person stays cosy while you work on the back.\n", "utf-8")
    index, _, rebuilt = open_index(tiny_copy, folder, config)
    assert rebuilt and any(p.guide == "new-guide.txt" for p in index.passages)


def test_an_index_file_touched_but_unchanged_is_hashed_and_still_loads(saved):
    os.utime(stored(saved, "bm25_data.npy"), ns=(10**9, 10**9))
    assert load(saved, load_config()).search("oil")


def test_settings_and_package_version_are_part_of_the_fingerprint(corpus_copy):
    from assistant.corpus import load_guides
    from assistant.index import fingerprint

    guides = load_guides(corpus_copy)
    config = load_config()
    assert fingerprint(guides, config) == fingerprint(guides, config)
    assert fingerprint(guides, config) != fingerprint(guides, config.with_overrides(bm25_k1=1.2))
    assert fingerprint(guides, config) == fingerprint(guides, config.with_overrides(retrieval_k=3))


# -- integrity: checksums, the lock, stale temporaries, read-only folders ---------------------
import hashlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
from dataclasses import replace  # noqa: E402

import pytest  # noqa: E402

from assistant import index as index_module  # noqa: E402
from assistant.index import IndexError_, read_manifest  # noqa: E402
from conftest import CORPUS  # noqa: E402


@pytest.fixture
def saved(index, index_dir, tmp_path):
    """A copy of the session's index folder, and a build() that hands back the session's index
    (what is tested here is how open_index treats the folder, not building)."""
    folder = tmp_path / "ix"
    shutil.copytree(index_dir, folder)
    return folder


@pytest.fixture
def fake_build(index, monkeypatch):
    built = []

    def build(corpus_dir, config, guides=None, known_fingerprint="", notify=None):
        built.append(corpus_dir)
        return index
    monkeypatch.setattr(index_module, "build", build)
    return built


def _flip(path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def test_every_index_file_has_a_checksum_in_the_manifest(saved):
    files = read_manifest(saved)["files"]
    for name, meta in files.items():
        assert meta["sha256"] == hashlib.sha256(stored(saved, name).read_bytes()).hexdigest()


def test_a_changed_passage_text_is_caught_and_rebuilt_never_quoted(saved, fake_build):
    passages = stored(saved, "passage_texts.npy")
    data = passages.read_bytes()
    assert b"coconut oil" in data
    passages.write_bytes(data.replace(b"coconut oil", b"cyanide oil"))  # same size, other words
    with pytest.raises(IndexError_, match="passage_texts.npy does not match its checksum"):
        load(saved, load_config())
    notices = []
    index, _, rebuilt = open_index(CORPUS, saved, load_config(), notify=notices.append)
    assert rebuilt and fake_build and notices == [f"index in {saved} is damaged (passage_texts.npy does not match its checksum); rebuilding"]
    assert b"cyanide" not in stored(saved, "passage_texts.npy").read_bytes()
    assert load(saved, load_config())  # sound again


@pytest.mark.parametrize("name", ["bm25_idf.npy", "bm25_data.npy", "lsa_docs.npy", "passage_table.npy", "router.npz",
                                  "analysis.json"])
def test_a_flipped_byte_is_caught_without_numpy_s_advice(saved, name):
    _flip(stored(saved, name))
    with pytest.raises(IndexError_, match=f"{name} does not match its checksum"):
        load(saved, load_config())


@pytest.mark.parametrize("name, damage", [("router.npz", lambda b: b.replace(b"PK\x05\x06", b"PK\x05\x07")),
                                          ("tfidf_idf.npy", lambda b: b"\x00" + b[1:]),
                                          ("bm25_indptr.npy", lambda b: b[:-8]),
                                          ("passage_text_ends.npy", lambda b: b[:-8]),
                                          ("router.json", lambda b: b[: len(b) // 2])])
def test_a_damaged_file_whose_checksum_was_updated_is_still_one_line(saved, name, damage):
    """Even past the checksum (a manifest rewritten by hand), a broken file is named, not a traceback."""
    stored(saved, name).write_bytes(damage(stored(saved, name).read_bytes()))
    manifest = read_manifest(saved)
    manifest["files"][name] = {"file": stored(saved, name).name, "size": stored(saved, name).stat().st_size,
                               "sha256": hashlib.sha256(stored(saved, name).read_bytes()).hexdigest()}
    (saved / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexError_) as err:
        load(saved, load_config())
    assert name in str(err.value) and "pickle" not in str(err.value) and "\n" not in str(err.value)


def _rewrite(folder, name: str, array) -> None:
    """An index file replaced by another array, its manifest entry made to match."""
    import numpy as np

    with open(stored(folder, name), "wb") as fh:
        np.save(fh, array)
    manifest = read_manifest(folder)
    manifest["files"][name] = {"file": stored(folder, name).name, "size": stored(folder, name).stat().st_size,
                               "sha256": hashlib.sha256(stored(folder, name).read_bytes()).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def test_postings_are_32_bit_and_an_index_with_64_bit_ones_still_loads(saved):
    """Row numbers and pointers are saved as 32-bit integers where they fit; one saved with 64-bit
    ones (an index built before) reads the same, and a matrix mixing the two is named as broken."""
    import numpy as np

    index = load(saved, load_config())
    question = index.query_ids("what oil should i use")
    before = index.bm25.scores(question)
    assert index.bm25.weights_.indices.dtype == index.bm25.weights_.indptr.dtype == np.int32
    for part in ("indices", "indptr"):
        _rewrite(saved, f"bm25_{part}.npy", np.asarray(getattr(index.bm25.weights_, part), dtype=np.int64))
    again = load(saved, load_config())
    assert again.bm25.weights_.indices.dtype == np.int64 and np.array_equal(again.bm25.scores(question), before)
    _rewrite(saved, "bm25_indptr.npy", np.asarray(index.bm25.weights_.indptr, dtype=np.int32))
    with pytest.raises(IndexError_, match="bm25_indptr.npy does not fit bm25_indices.npy"):
        load(saved, load_config())


def test_two_rebuilds_at_once_always_leave_a_valid_index(saved, index, monkeypatch):
    """Each of two concurrent rebuilds writes a different index; without the lock their files mix
    (the manifest of one over the passages of the other); with it, the last one wins whole."""
    other = replace(index, passages=list(reversed(index.passages)), manifest=dict(index.manifest, built_at="other"))

    def build(corpus_dir, config, guides=None, known_fingerprint="", notify=None):
        return other if threading.current_thread().name == "other" else index
    monkeypatch.setattr(index_module, "build", build)
    config = load_config()
    for _ in range(20):
        threads = [threading.Thread(target=open_index, args=(CORPUS, saved, config, True), name=name)
                   for name in ("one", "other")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        loaded = load(saved, config)
        expected = other if loaded.manifest["built_at"] == "other" else index
        assert [p.id for p in loaded.passages] == [p.id for p in expected.passages]
    assert not list(saved.glob(".*.tmp"))


def test_an_index_of_the_former_format_is_rebuilt_and_its_files_removed(saved, fake_build):
    former = [saved / "passages.1a2b.json", saved / "bm25.1a2b.npz", saved / "lsa.npz"]
    for path in former:
        path.write_bytes(b"[]")
    manifest = read_manifest(saved)
    (saved / "manifest.json").write_text(json.dumps(dict(manifest, format=3)), "utf-8")
    notices = []
    _, _, rebuilt = open_index(CORPUS, saved, load_config(), notify=notices.append)
    assert rebuilt and fake_build and "damaged" in notices[0] and not any(p.exists() for p in former)


def test_a_killed_build_leaves_no_temporary_files_after_the_next(saved, fake_build):
    stale = [saved / ".passage_strings.npy.99999.tmp", saved / ".lsa_docs.npy.12345.tmp"]
    for path in stale:
        path.write_bytes(b"half written")
    open_index(CORPUS, saved, load_config(), rebuild=True)
    assert not any(p.exists() for p in stale) and load(saved, load_config())


def _read_only(folder):
    """Make a folder unwritable, even for root (chattr +i); skip where that cannot be done."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a folder read-only for root here (no chattr)")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


def test_a_read_only_folder_with_a_stale_index_answers_from_memory_with_one_notice(saved, corpus_copy, fake_build):
    guide = corpus_copy / "smart-ways-back-massage.txt"
    guide.write_text(guide.read_text("utf-8") + "\n\nKeep the towels warm.\n", "utf-8")  # the index is now stale
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    undo = _read_only(saved)
    try:
        notices = []
        index, folder, rebuilt = open_index(corpus_copy, saved, load_config(), notify=notices.append)
    finally:
        undo()
    assert rebuilt and index.passages and folder == saved and fake_build
    assert len(notices) == 1 and "out of date" in notices[0] and "cannot be written" in notices[0] and str(saved) in notices[0]
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before


def test_an_index_folder_that_cannot_be_created_builds_in_memory(tmp_path, fake_build):
    blocker = tmp_path / "file"
    blocker.write_text("")
    notices = []
    index, _, rebuilt = open_index(CORPUS, blocker / "ix", load_config(), notify=notices.append)
    assert rebuilt and index.passages and len(notices) == 1 and "cannot be written" in notices[0]


def test_a_corpus_with_no_passages_is_a_one_line_error(tmp_path):
    from assistant.corpus import CorpusError

    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "title-only.txt").write_text("Just A Title\n", "utf-8")
    with pytest.raises(CorpusError, match="no passages in"):
        open_index(tmp_path / "guides", tmp_path / "ix", load_config())


def test_a_build_killed_half_way_leaves_the_old_index_usable(saved, index, monkeypatch):
    import assistant.index as index_module

    before = {name: stored(saved, name).read_bytes() for name in ("passage_strings.npy", "lsa_docs.npy")}

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process died while writing the arrays

    monkeypatch.setattr(index_module, "_save_npz", killed)  # after the .npy files, before the manifest
    with pytest.raises(KeyboardInterrupt):
        index_module.save(index, saved)
    monkeypatch.undo()
    loaded = load(saved, load_config())  # the manifest still names the old, whole files
    assert [p.id for p in loaded.passages] == [p.id for p in index.passages]
    assert {name: stored(saved, name).read_bytes() for name in before} == before
    index_module.save(index, saved)  # the next build leaves one generation of files
    assert len(list(saved.glob("passage_strings.*.npy"))) == 1 and load(saved, load_config())


def test_a_build_on_every_core_makes_the_same_index(tiny_copy, tmp_path):
    """A large corpus is split and analysed in several processes (here forced for a small one),
    whose passages come back as arrays: the same passages, sentences and offsets, and the same
    files saved, byte for byte."""
    from assistant.passages import StoredPassages

    config = load_config()
    alone = build(tiny_copy, config)
    spread = build(tiny_copy, config.with_overrides(passages_parallel_min_chars=0))
    assert isinstance(spread.passages, StoredPassages) and spread.passages._all is None
    assert list(spread.passages) == list(alone.passages)
    assert spread.vocabulary == alone.vocabulary
    assert np.array_equal(spread.bm25.weights_.data, alone.bm25.weights_.data)
    assert spread.manifest["fingerprint"] == alone.manifest["fingerprint"]
    digests = []
    for made, folder in ((alone, tmp_path / "alone"), (spread, tmp_path / "spread")):
        save(made, folder)
        digests.append({name: entry["sha256"] for name, entry in read_manifest(folder)["files"].items()})
    assert digests[0] == digests[1]


def test_the_safety_phrases_analysed_at_build_read_as_the_analyzer_reads_them(index):
    import dataclasses

    from assistant.safety import trigger_texts

    fresh = dataclasses.replace(index.analyzer)  # the same tables, nothing remembered
    texts = trigger_texts()
    assert len(texts) > 1000
    assert [index.analyzer.stem_sequence(t) for t in texts] == [fresh.stem_sequence(t) for t in texts]


def test_bm25_and_tfidf_share_one_layout_and_score_as_their_own_files_say(assistant, index_dir):
    """Both are fitted from the same counts: the loaded index reads one layout for both, and a
    question's scores are those of the TF-IDF matrix as saved."""
    import glob

    import numpy as np

    from assistant.index import load
    from assistant.retrieval import Columns

    index = load(index_dir, assistant.config)
    assert index.tfidf.weights_.indices is index.bm25.weights_.indices
    saved = {part: np.load(glob.glob(str(index_dir / f"tfidf_{part}.*.npy"))[0]) for part in ("data", "indices", "indptr")}
    own = Columns(saved["data"], saved["indices"], saved["indptr"], index.tfidf.weights_.shape)
    for question in ("what oil should i use", "how often can i massage my wife", "kneading the shoulders"):
        ids, weights = index.tfidf.query_weights(index.query_ids(question))
        index.bm25.scores(index.query_ids(question))  # the shared layout's last columns are BM25's now
        assert np.array_equal(index.tfidf.weights_.dot(ids, weights), own.dot(ids, weights))


def test_the_passages_that_can_reach_the_top_are_exactly_those_the_bound_allows():
    """_can_reach_top reads the scored passages only; its answer is the plain test over all of them."""
    import numpy as np

    from assistant.index import _can_reach_top

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(20, 400))
        lexical = np.where(rng.random(n) < rng.uniform(0.05, 0.9), rng.random(n), 0.0)
        boost = None if trial % 2 else np.where(rng.random(n) < 0.3, rng.uniform(1.0, 3.0, n), 1.0)
        most, k = float(rng.uniform(0.0, 0.6)), int(rng.integers(1, 15))
        keep = [int(i) for i in rng.integers(0, n, int(rng.integers(0, 3)))]
        got = _can_reach_top(lexical, most, k, boost, keep)
        low = lexical if boost is None else lexical * boost
        if k > np.count_nonzero(low > 0):
            assert got is None
            continue
        kth = np.sort(low[low > 0])[-k]
        can = lexical >= kth - most - 1e-9 if boost is None else (lexical + most) * boost >= kth - 1e-9
        can[keep] = True
        want = np.flatnonzero(can)
        assert (got is None and want.size > n // 2) or np.array_equal(got, want), trial


def test_the_lift_search_skips_only_texts_its_patterns_cannot_find_anything_in(index):
    """The intents' passage patterns are searched only in texts holding a string every match holds
    (looked for in all the texts at once); the lifts are those of searching every text."""
    from assistant.index import _alternation, _Holding, _text_patterns, lift_matches
    from assistant.router import load_intents

    intents = load_intents()
    texts = [p.text for p in index.passages]
    everywhere = np.array([[pattern is not None and pattern.search(t) is not None for t in texts]
                           for pattern in map(_alternation, _text_patterns(intents).values())])
    assert everywhere.any() and np.array_equal(lift_matches(intents, index.passages), everywhere)
    holding = _Holding(["Almond oil warms", "nothing here", "\u212aneading", "ALMOND"])  # the Kelvin sign lowercases to k
    assert holding.any_of(frozenset({"almond"})) == [0, 2, 3]  # the Kelvin text is never ruled out by its lowercase
    assert list(holding.any_of(None)) == [0, 1, 2, 3] and holding.any_of(frozenset({"walnut"})) == [2]


def test_a_search_ranks_only_passages_that_can_reach_the_top_and_finds_what_ranking_them_all_finds(index, monkeypatch):
    """search_parts scores and ranks only the passages the bound lets reach the top k (and those to
    keep); its hits are those of scoring every passage, latent space included, and ranking them all."""
    import assistant.index as index_module

    questions = ["what oil should i use", "how often should i massage my wife", "kneading the shoulders gently",
                 "is it safe during pregnancy", "how long should a back massage last", "what are common mistakes"]
    narrowed = []
    bound = index_module._can_reach_top
    monkeypatch.setattr(index_module, "_can_reach_top", lambda *a: narrowed.append(bound(*a)) or narrowed[-1])
    lifts = [None] + [np.where(index.lifts[key], 1.5, 1.0) for key in sorted(index.lifts) if not key.startswith("off:")]
    for n, question in enumerate(questions * 2):
        boost, keep = lifts[n % len(lifts)], [n * 37 % len(index.passages)] if n % 2 else []
        for k in (1, 3):
            hits, _ = index.search_parts(question, "hybrid", k, boost, keep)
            every = index.rank(*index.score(question, "hybrid", boost=boost), k, boost)
            assert [h.passage.id for h in hits] == [h.passage.id for h in every], question
            assert np.allclose([h.score for h in hits], [h.score for h in every], rtol=1e-12)
    assert any(w is not None for w in narrowed)  # the narrowed way was taken
