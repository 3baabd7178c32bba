"""`ordered_map`: run a function over items on a thread pool, at most `concurrency` calls in flight, and yield
`(item, result)` **in input order** — so a file appended from it is always a prefix of the full run: a killed run,
started again, appends exactly what is missing. Used by the `openai` generation backend and by CoT generation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> Iterator[tuple[T, R]]:
    """`(item, fn(item))` in input order, at most `concurrency` calls running. An exception from `fn` is re-raised
    when its item's turn comes; the calls still queued behind it are cancelled."""
    concurrency = max(1, int(concurrency))
    window = 2 * concurrency  # a little look-ahead so one slow item does not idle the pool
    it = iter(items)
    pending: deque[tuple[T, Future]] = deque()
    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        for item in it:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                head, fut = pending.popleft()
                yield head, fut.result()
        while pending:
            head, fut = pending.popleft()
            yield head, fut.result()
    finally:
        # on an error or an early stop, drop what has not started and do not wait for what is running
        pool.shutdown(wait=False, cancel_futures=True)
