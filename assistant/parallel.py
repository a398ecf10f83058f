"""Work that splits by item, spread over processes at index build time (a large corpus only),
and work done in a process of its own while the build goes on (Background).

The workers are forked, so they start with the parent's memory (the analyzer, the rules, the
items themselves) and only a chunk's bounds are sent to them; only their results come back
(through a pipe, in this run only: nothing is written to disk, so no file ever holds a pickle).
"""

from __future__ import annotations

import io
import mmap
import os
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

# what a forked worker runs, and on what (set just before the fork; the children inherit them)
_JOB: Callable | None = None
_ITEMS: list | None = None


def _run(bounds: tuple[int, int]):
    start, end = bounds
    return _JOB(_ITEMS[start:end])


def map_chunks(job: Callable[[Sequence[T]], R], items: Sequence[T], workers: int) -> list[R]:
    """job's result for each contiguous chunk of items, in order: in this process, as one chunk,
    when workers <= 1, when the platform cannot fork, or for fewer items than workers.
    Items that slice cheaply without touching objects the workers share (a range of row numbers
    read from arrays) keep the workers from copying the parent's pages."""
    global _JOB, _ITEMS
    workers = min(workers, len(items), os.cpu_count() or 1)
    if workers <= 1 or not hasattr(os, "fork"):
        return [job(items)]
    import multiprocessing

    size = -(-len(items) // (workers * 4))  # a few chunks a worker, so a slow one does not hold the rest
    bounds = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
    _JOB, _ITEMS = job, items
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_run, bounds, chunksize=1)
    finally:
        _JOB = _ITEMS = None


class Background:
    """A job run in a forked process while this one goes on (or here, at once, when `fork` is
    False or the platform cannot fork). Its result, named numpy arrays, comes back through a pipe
    as .npy headers and raw bytes, never as a pickle. Use it as a context manager: leaving the block
    ends a process whose result was never asked for."""

    def __init__(self, job: Callable[[], dict[str, np.ndarray]], fork: bool = True):
        self._process = None
        self._result: dict[str, np.ndarray] | None = None
        if not (fork and hasattr(os, "fork")):
            self._result = job()
            return
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_send, args=(job, sender), daemon=True)
        self._process.start()
        sender.close()  # the child's copy is the only one left: its end is the pipe's end

    def result(self) -> dict[str, np.ndarray]:
        """The job's result (waiting for the process to send it)."""
        if self._process is not None:
            try:
                result = _receive(self._receiver)
            except EOFError:  # the job failed (the process printed why)
                result = None
            self._end()
            if result is None:
                raise RuntimeError("a background job of the index build failed (its error is above)")
            self._result = result
        return self._result

    def _end(self) -> None:
        self._receiver.close()
        self._process.join()
        self._process = None

    def __enter__(self) -> "Background":
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:  # the block failed before asking: the result will not be needed
            self._process.terminate()
            self._end()


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim), before a stage forks: a
    large build frees much of what splitting and counting made, but the allocator keeps it (a third of
    the process at 100k passages), and each forked process would start holding it too. A no-op where
    the C library has no malloc_trim."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError, TypeError):  # no such function; no C library to open by None (Windows)
        pass


def shared_array(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """A zeroed array in memory shared with the processes forked after it is made (an anonymous
    shared mapping): what a Background job writes in it this process sees without it being sent,
    and its pages are held once, not in the job's process and again in this one."""
    count = int(np.prod(shape))
    buffer = mmap.mmap(-1, max(1, count * np.dtype(dtype).itemsize))
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape)


def _send(job: Callable[[], dict[str, np.ndarray]], sender) -> None:
    """Run a Background job (in its process) and send its arrays: how many, then for each its
    name and .npy header, then its bytes straight from the array (no copy of it is made)."""
    arrays = job()
    sender.send_bytes(str(len(arrays)).encode())
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
        sender.send_bytes(name.encode())
        sender.send_bytes(header.getvalue())
        sender.send_bytes(array.reshape(-1).view(np.uint8))


def _receive(receiver) -> dict[str, np.ndarray]:
    """What _send sent: each array read into one made for it (its bytes land there once)."""
    arrays = {}
    for _ in range(int(receiver.recv_bytes())):
        name = receiver.recv_bytes().decode()
        header = io.BytesIO(receiver.recv_bytes())
        np.lib.format.read_magic(header)
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(header)
        if dtype.hasobject or fortran_order:
            raise ValueError("a background job sent an array of objects")
        array = np.empty(shape, dtype=dtype)
        receiver.recv_bytes_into(array.reshape(-1).view(np.uint8))
        arrays[name] = array
    return arrays
