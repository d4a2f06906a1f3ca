"""Map a function over an iterable in chunks, in worker processes, results in input order.

A bounded window of chunks is in flight, so memory stays flat for any input size and the
caller consumes one chunk's results while the workers compute the next ones.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def chunks(items: Iterable[In], size: int) -> Iterator[list[In]]:
    chunk: list[In] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def map_chunks(
    work: Callable[[list[In]], list[Out]],
    items: Iterable[In],
    *,
    size: int,
    workers: int,
    preload: Sequence[str] = (),
    ahead: int | None = None,
) -> Iterator[Out]:
    """``work`` over each chunk of ``items``; with ``workers`` > 1, in worker processes.

    ``work`` must pickle (a module-level function, or a ``functools.partial`` of one);
    ``preload`` names the modules a fork server imports once for all its children.
    ``ahead``: chunks submitted beyond the one being consumed (default twice the workers).
    A caller that stops to use many results at once (e.g. stores a batch) sets it to
    cover that pause, or the workers go idle while it waits.
    """
    if workers <= 1:
        for chunk in chunks(items, size):
            yield from work(chunk)
        return
    with ProcessPoolExecutor(workers, mp_context=_pool_context(preload)) as pool:
        window: deque[Future[list[Out]]] = deque()
        for chunk in chunks(items, size):
            window.append(pool.submit(work, chunk))
            if len(window) > (2 * workers if ahead is None else ahead):
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


def _pool_context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """Fork when this process has one thread: safe, fast, and needs no ``__main__`` guard.

    With other threads running (the API server), a forked copy could inherit a lock some
    thread held; a fork server starts clean children instead (its callers, the CLI entry
    points, guard ``__main__`` as multiprocessing requires).
    """
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context
