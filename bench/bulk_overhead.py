"""What ``send_many`` itself costs per message, with the client stubbed out.

``make bench`` measures whole campaigns against a local server, where the HTTP
stack's 250-2,000 µs per send hides ``send_many``'s own work. This script
takes the HTTP stack away: a stub client whose ``send_message_to_globe``
returns a ready ``SendResult`` (``--stub now``) or first yields once to the
event loop or the GIL (``--stub yield``: ``await anyio.sleep(0)`` /
``time.sleep(0)``), so what is left is the run's own bookkeeping. It
reports CPU microseconds per message (``time.process_time``) for

* ``AsyncBulkRun`` against ``asyncio.gather`` over all the messages under an
  ``asyncio.Semaphore(concurrency)`` (not lazy, no account: a floor);
* ``BulkRun`` against ``ThreadPoolExecutor(concurrency).map`` (same);

interleaved over rounds, medians. ``--other PATH`` adds a second copy of
``alisms/_bulk.py`` (say, the previous commit's, saved with ``git show``) as
contenders ``old-async``/``old-sync`` for an A/B comparison::

    git show HEAD~1:alisms/_bulk.py > /tmp/bulk_old.py
    .venv/bin/python bench/bulk_overhead.py --other /tmp/bulk_old.py

Not part of ``make bench``: a diagnostic for whoever changes ``alisms/_bulk.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import anyio

import alisms
from alisms import _bulk

RESULT = alisms.SendResult(
    message_id="1",
    to="85212345678",
    from_=None,
    segments=1,
    number_detail=None,
    response_code="OK",
    response_description=None,
    request_id="r",
    raw={},
    raw_body=b"",
)


def messages(n: int) -> Iterator[tuple[str, str]]:
    """``n`` ``(to, text)`` pairs, made lazily as ``send_many`` takes them."""
    for i in range(n):
        yield f"852{50000000 + i}", "hi"


class SyncStub:
    """What ``BulkRun`` calls on a ``Client``, answering at once (or after a GIL hand-off)."""

    def __init__(self, release_gil: bool) -> None:
        self.release_gil = release_gil

    def send_message_to_globe(self, to: str, message: str, **options: Any) -> alisms.SendResult:
        """The ready result (after ``time.sleep(0)``, a GIL hand-off, if asked)."""
        if self.release_gil:
            time.sleep(0)
        return RESULT


class AsyncStub:
    """What ``AsyncBulkRun`` calls on an ``AsyncClient``."""

    def __init__(self, checkpoint: bool) -> None:
        self.checkpoint = checkpoint

    async def send_message_to_globe(
        self, to: str, message: str, **options: Any
    ) -> alisms.SendResult:
        """The ready result (after one trip through the event loop, if asked)."""
        if self.checkpoint:
            await anyio.sleep(0)
        return RESULT


def run_sync(module: ModuleType, n: int, concurrency: int, stub: SyncStub) -> int:
    """One campaign through ``module.BulkRun``; the number of outcomes."""
    seen = 0
    run = module.BulkRun(stub, messages(n), concurrency=concurrency, batch=False, on_progress=None)
    with run:
        for _ in run:
            seen += 1
    return seen


def run_pool(n: int, concurrency: int, stub: SyncStub) -> int:
    """The sync floor: ``ThreadPoolExecutor.map`` over the stub."""
    seen = 0
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(lambda m: stub.send_message_to_globe(*m), messages(n)):
            seen += 1
    return seen


async def run_async(module: ModuleType, n: int, concurrency: int, stub: AsyncStub) -> int:
    """One campaign through ``module.AsyncBulkRun``; the number of outcomes."""
    seen = 0
    run = module.AsyncBulkRun(
        stub, messages(n), concurrency=concurrency, batch=False, on_progress=None
    )
    async with run:
        async for _ in run:
            seen += 1
    return seen


async def run_gather(n: int, concurrency: int, stub: AsyncStub) -> int:
    """The async floor: ``asyncio.gather`` over every message under a semaphore."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(to: str, text: str) -> alisms.SendResult:
        async with semaphore:
            return await stub.send_message_to_globe(to, text)

    return len(await asyncio.gather(*(one(to, text) for to, text in messages(n))))


def load(path: str) -> ModuleType:
    """Import another copy of ``_bulk.py`` (it imports the rest from ``alisms``)."""
    spec = importlib.util.spec_from_file_location("bulk_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bulk_other"] = module
    spec.loader.exec_module(module)
    return module


def in_loop(loop: str, make: Callable[[], Any]) -> Callable[[], int]:
    """A function running the coroutine function ``make`` in a fresh event loop."""
    if loop == "uvloop":
        import uvloop

        return lambda: uvloop.run(make())
    if loop == "trio":
        return lambda: anyio.run(make, backend="trio")
    return lambda: asyncio.run(make())


def main() -> None:
    """Command line: run the contenders interleaved, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="messages per run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--async-concurrency", type=int, default=64)
    parser.add_argument("--sync-concurrency", type=int, default=16)
    parser.add_argument("--stub", choices=["now", "yield"], default="yield")
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "trio"], default="asyncio")
    parser.add_argument("--other", help="another copy of alisms/_bulk.py to compare with")
    parser.add_argument("--only", help="comma-separated contenders to run")
    args = parser.parse_args()

    n, ac, sc = args.n, args.async_concurrency, args.sync_concurrency
    yielding = args.stub == "yield"
    astub, sstub = AsyncStub(yielding), SyncStub(yielding)
    contenders: dict[str, Callable[[], int]] = {
        "async": in_loop(args.loop, lambda: run_async(_bulk, n, ac, astub)),
        "sync": lambda: run_sync(_bulk, n, sc, sstub),
        "sync-inline": lambda: run_sync(_bulk, n, 1, sstub),
        "threadpool.map": lambda: run_pool(n, sc, sstub),
    }
    if args.loop != "trio":
        contenders["asyncio.gather"] = in_loop(args.loop, lambda: run_gather(n, ac, astub))
    if args.other:
        other = load(args.other)
        contenders["old-async"] = in_loop(args.loop, lambda: run_async(other, n, ac, astub))
        contenders["old-sync"] = lambda: run_sync(other, n, sc, sstub)
    if args.only:
        contenders = {k: v for k, v in contenders.items() if k in args.only.split(",")}

    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(args.rounds + 1):  # round 0 warms up and is dropped
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            gc.collect()
            start = time.process_time()
            done = contenders[name]()
            cpu = time.process_time() - start
            assert done == n, (name, done)
            if round_:
                samples[name].append(cpu / n * 1e6)
    print(
        f"{n} messages, stub {args.stub}, loop {args.loop}, async concurrency {ac}, "
        f"sync concurrency {sc}; CPU µs per message, median of {args.rounds} (min-max)"
    )
    for name in names:
        values = samples[name]
        print(
            f"  {name:16} {statistics.median(values):7.1f}   ({min(values):.1f}-{max(values):.1f})"
        )


if __name__ == "__main__":
    main()
