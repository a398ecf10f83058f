"""Work that splits by item, spread over processes at index build time (a large corpus only).

The workers are forked, so they start with the parent's memory (the analyzer, the rules) and
nothing is sent to them; only their results come back (through a pipe, in this run only:
nothing is written to disk, so no file ever holds a pickle).
"""

from __future__ import annotations

import os
from typing import Callable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_JOB: Callable | None = None  # the function a forked worker runs (set just before the fork)


def _run(chunk):
    return _JOB(chunk)


def map_in_processes(job: Callable[[list[T]], list[R]], items: list[T], workers: int) -> list[R]:
    """job over contiguous chunks of items, in order; in this process when workers <= 1, when the
    platform cannot fork, or for fewer items than workers."""
    global _JOB
    workers = min(workers, len(items), os.cpu_count() or 1)
    if workers <= 1 or not hasattr(os, "fork"):
        return job(items)
    import multiprocessing

    size = -(-len(items) // (workers * 4))  # a few chunks a worker, so a slow one does not hold the rest
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    _JOB = job
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return [r for part in pool.map(_run, chunks) for r in part]
    finally:
        _JOB = None
