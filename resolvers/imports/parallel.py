"""Running the per-file and per-image steps of one job on a few threads.

The heavy parts (sendfile, fsync, sha256, numba kernels, tile decoding) release the GIL,
so one import of many files keeps every core busy instead of one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_parallel(step: Callable[[T], R], items: Sequence[T], threads: int
                ) -> Iterator[tuple[T, R]]:
    """``(item, step(item))`` in the order of ``items``. The first failure is raised only
    after every step already started has finished and the rest were cancelled, so the
    caller's clean-up never races a step still writing."""
    if threads <= 1 or len(items) <= 1:
        for item in items:
            yield item, step(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="omegraph-step")
    try:
        futures = [pool.submit(step, item) for item in items]
        for item, future in zip(items, futures, strict=True):
            yield item, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
