"""Build work spread over forked processes (assistant/parallel.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from assistant.parallel import Background, map_chunks, shared_array

forks = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork: the work runs in one process")


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"docs": rng.normal(size=(1000, 50)), "components": np.asfortranarray(rng.normal(size=(5, 30))),
            "ids": np.arange(12, dtype=np.int32), "empty": np.zeros((0, 50)), "flags": np.array([True, False])}


@forks
def test_a_background_job_hands_back_its_arrays_whole():
    with Background(_arrays) as job:
        got = job.result()
    expected = _arrays()
    assert list(got) == list(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape and np.array_equal(got[name], array)


@forks
def test_a_failing_background_job_is_an_error_not_a_hang(capfd):
    def broken() -> dict[str, np.ndarray]:
        raise ValueError("no latent space today")

    with Background(broken) as job, pytest.raises(RuntimeError, match="background job of the index build failed"):
        job.result()


@forks
def test_what_a_background_job_writes_in_a_shared_array_is_seen_here_without_being_sent():
    """The latent space of a large corpus is written this way: held once, never copied back."""
    expected = _arrays()["docs"]
    out = shared_array(expected.shape)
    parent = os.getpid()

    def fill() -> dict[str, np.ndarray]:
        assert os.getpid() != parent
        out[:] = expected
        return {}

    with Background(fill) as job:
        assert job.result() == {}
    assert np.array_equal(out, expected)


def test_a_background_job_not_forked_runs_at_once():
    with Background(_arrays, fork=False) as job:
        assert np.array_equal(job.result()["docs"], _arrays()["docs"])


@forks
def test_chunks_come_back_in_order_whatever_the_items():
    def total(chunk) -> list[int]:
        return [sum(chunk), len(chunk)]

    for items in (list(range(1001)), range(7, 3000, 3)):
        parts = map_chunks(total, items, 2)
        assert len(parts) > 1 and sum(p[0] for p in parts) == sum(items) and sum(p[1] for p in parts) == len(items)
    assert map_chunks(total, [5], 2) == [[5, 1]]  # fewer items than workers: one chunk, here
