"""The saved index: plain numpy/JSON files, rebuilt when stale or damaged, identical results when loaded."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from assistant.config import load_config
from assistant.index import build, load, open_index, save


def test_index_files_hold_no_pickle(index_dir):
    names = sorted(p.name for p in index_dir.iterdir())
    assert all(n.endswith((".json", ".npy", ".npz")) for n in names), names
    for path in index_dir.iterdir():
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
    assert not [p for p in (tmp_path / "ix").iterdir() if p.name.endswith(".tmp")]


def test_stale_missing_and_damaged_indexes_are_rebuilt_with_one_notice(corpus_copy, tmp_path):
    config = load_config()
    notices: list[str] = []
    folder = tmp_path / "ix"
    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and notices == [f"no index in {folder} yet; building it"]

    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert not rebuilt and len(notices) == 1

    guide = corpus_copy / "smart-ways-back-massage.txt"
    guide.write_text(guide.read_text("utf-8") + "\n\nKeep the room warm and have warm towels ready before you start the massage.\n", "utf-8")
    index, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and "out of date" in notices[-1]
    assert any("warm towels" in p.text for p in index.passages)

    (folder / "bm25.npz").write_bytes(b"not an npz")
    _, _, rebuilt = open_index(corpus_copy, folder, config, notify=notices.append)
    assert rebuilt and "damaged" in notices[-1]


def test_settings_and_package_version_are_part_of_the_fingerprint(corpus_copy):
    from assistant.corpus import load_guides
    from assistant.index import fingerprint

    guides = load_guides(corpus_copy)
    config = load_config()
    assert fingerprint(guides, config) == fingerprint(guides, config)
    assert fingerprint(guides, config) != fingerprint(guides, config.with_overrides(bm25_k1=1.2))
    assert fingerprint(guides, config) == fingerprint(guides, config.with_overrides(retrieval_k=3))
