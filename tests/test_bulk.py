"""Bulk sending (``alisms._bulk``): ``send_many`` on both clients, against the in-process fake.

Most tests run three times: through :class:`alisms.Client` (worker threads, or
inline with ``concurrency=1``) and through :class:`alisms.AsyncClient` under
asyncio and under trio. They check what the issue asks of a campaign: every
input form, taken lazily; one outcome per recipient (sent, failed, unknown or
not sent), as they complete; bounded concurrency; batches of up to 1,000
grouped by options; progress; and an exact account after ``break``, Ctrl-C
or a task cancel, checked against what the fake actually accepted.

Timing never decides an assertion: calls are held back with gates the test
opens, rate-limit waits go through a fake clock, and wall-clock time appears
only as generous "did not hang" bounds.
"""

from __future__ import annotations

import gc
import inspect
import itertools
import re
import signal
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import CodeType, SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest
import trio
import trio.testing

import alisms
from alisms import _client, testing
from alisms._bulk import BulkRun
from alisms._ratelimit import DEFAULT_RATE_LIMITS
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FakeSMSService,
    FakeTransport,
)

KINDS = ["sync", "asyncio", "trio"]
"""Client (threads), and AsyncClient under each anyio backend."""
ASYNC_KINDS = ["asyncio", "trio"]
FAST = alisms.Retry(backoff_base=0)
"""Three tries, no waiting between them."""
HANG = 10.0
"""Seconds after which something is said to hang: an upper bound, never a speed claim."""

Messages = Iterable[Any] | Callable[[], Any]


def number(i: int) -> str:
    return f"8521{i:07d}"


def campaign(n: int, start: int = 0) -> list[alisms.BulkMessage]:
    return [alisms.BulkMessage(number(i), f"hi {i}") for i in range(start, start + n)]


class Counting:
    """An iterable that counts how many items were taken from it."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)
        self.pulled = 0

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        self.pulled += 1
        return item


class Gate:
    """Holds requests until the test opens it; works for threads and for tasks."""

    def __init__(self) -> None:
        self._opened = threading.Event()
        self._event: anyio.Event | None = None

    def open(self) -> None:
        self._opened.set()
        if self._event is not None:
            self._event.set()

    def wait(self) -> None:
        if not self._opened.wait(HANG):
            raise AssertionError("the gate was never opened")

    async def await_open(self) -> None:
        if self._opened.is_set():
            return
        if self._event is None:
            self._event = anyio.Event()
        with anyio.fail_after(HANG):
            await self._event.wait()


Hook = Callable[[dict[str, str]], None]
AsyncHook = Callable[[dict[str, str]], Awaitable[None]]


class Hooked(FakeTransport):
    """The fake's transport, with hooks around each request given its form parameters.

    ``before`` runs before the fake sees the request, ``after`` once it has
    answered (so a send is accepted by then), even when the answer is lost.
    """

    def __init__(
        self,
        service: FakeSMSService,
        *,
        before: Hook | None = None,
        after: Hook | None = None,
        abefore: AsyncHook | None = None,
        aafter: AsyncHook | None = None,
    ) -> None:
        super().__init__(service)
        self.before, self.after, self.abefore, self.aafter = before, after, abefore, aafter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.read().decode()))
        if self.before is not None:
            self.before(params)
        try:
            return super().handle_request(request)
        finally:
            if self.after is not None:
                self.after(params)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl((await request.aread()).decode()))
        if self.abefore is not None:
            await self.abefore(params)
        try:
            return await super().handle_async_request(request)
        finally:
            if self.aafter is not None:
                await self.aafter(params)


def sync_client(
    fake: FakeSMSService, transport: FakeTransport | None = None, **kwargs: Any
) -> alisms.Client:
    if transport is None:
        return fake.client(**kwargs)
    kwargs.setdefault("rate_limits", None)
    return alisms.Client(
        transport=transport,
        access_key_id=DEFAULT_ACCESS_KEY_ID,
        access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
        endpoint=fake.endpoint,
        **kwargs,
    )


def async_client(
    fake: FakeSMSService, transport: FakeTransport | None = None, **kwargs: Any
) -> alisms.AsyncClient:
    if transport is None:
        return fake.async_client(**kwargs)
    kwargs.setdefault("rate_limits", None)
    return alisms.AsyncClient(
        transport=transport,
        access_key_id=DEFAULT_ACCESS_KEY_ID,
        access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
        endpoint=fake.endpoint,
        **kwargs,
    )


@dataclass
class Report:
    """What a run gave: the outcomes seen in the loop, its summary and the rest."""

    reported: list[alisms.BulkOutcome]
    summary: alisms.BulkSummary
    unreported: list[alisms.BulkOutcome]
    progress: list[alisms.BulkSummary] = field(default_factory=list)

    @property
    def everything(self) -> list[alisms.BulkOutcome]:
        return [*self.reported, *self.unreported]

    def by_index(self) -> dict[int, alisms.BulkOutcome]:
        return {o.index: o for o in self.everything}

    def statuses(self) -> list[str]:
        return [o.status for o in sorted(self.everything, key=lambda o: o.index)]


def drive(
    kind: str,
    fake: FakeSMSService,
    messages: Messages,
    *,
    transport: FakeTransport | None = None,
    client_kwargs: dict[str, Any] | None = None,
    stop_after: int | None = None,
    each: Callable[[alisms.BulkOutcome, list[alisms.BulkOutcome]], None] | None = None,
    **send_kwargs: Any,
) -> Report:
    """Run ``send_many`` to the end (or ``break`` after ``stop_after`` outcomes).

    ``messages`` may be a zero-argument callable returning them (to build an
    async generator inside the event loop). ``each`` sees every outcome and
    the list so far, inside the loop.
    """
    make = messages if callable(messages) else lambda: messages
    progress: list[alisms.BulkSummary] = []
    send_kwargs["on_progress"] = lambda summary: progress.append(replace(summary))
    client_kwargs = client_kwargs or {}

    def seen(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> bool:
        reported.append(outcome)
        if each is not None:
            each(outcome, reported)
        return stop_after is not None and len(reported) >= stop_after

    if kind == "sync":
        reported: list[alisms.BulkOutcome] = []
        with (
            sync_client(fake, transport, **client_kwargs) as client,
            client.send_many(make(), **send_kwargs) as run,
        ):
            for outcome in run:
                if seen(outcome, reported):
                    break
        return Report(reported, run.summary, list(run.unreported), progress)

    async def main() -> Report:
        reported: list[alisms.BulkOutcome] = []
        async with (
            async_client(fake, transport, **client_kwargs) as client,
            client.send_many(make(), **send_kwargs) as run,
        ):
            async for outcome in run:
                if seen(outcome, reported):
                    break
        return Report(reported, run.summary, list(run.unreported), progress)

    return anyio.run(main, backend=kind)


def check_account(report: Report, pulled: int) -> None:
    """Every message taken from the iterable has exactly one outcome, counted once."""
    everything = report.everything
    assert sorted(o.index for o in everything) == list(range(pulled))
    assert report.summary.total == pulled
    counted = Counter(o.status for o in everything)
    summary = report.summary
    assert counted == Counter(
        sent=summary.sent, failed=summary.failed, unknown=summary.unknown, not_sent=summary.not_sent
    )
    for outcome in everything:
        if outcome.status == "sent":
            assert outcome.error is None
            assert outcome.result is not None
            assert outcome.message_id is not None
        elif outcome.status == "failed":
            assert isinstance(outcome.error, alisms.AlismsError)
        else:
            assert outcome.result is None
            assert outcome.message_id is None
            if outcome.status == "not_sent":
                assert outcome.error is None


def check_against_fake(report: Report, fake: FakeSMSService) -> None:
    """What the fake accepted is exactly the sent messages, plus possibly some unknown ones.

    Each test gives every message its own number, so numbers identify them.
    """
    accepted = Counter(m.to for m in fake.messages)
    ids = {m.to: m.message_id for m in fake.messages}
    for outcome in report.everything:
        to = outcome.message.to.removeprefix("+")
        if outcome.status == "sent":
            assert accepted[to] == 1, outcome
            assert ids[to] == outcome.message_id
            assert outcome.result is not None
        elif outcome.status == "unknown":
            assert accepted[to] <= 1, outcome
        else:
            assert accepted[to] == 0, outcome
    mine = {o.message.to.removeprefix("+") for o in report.everything if o.status != "not_sent"}
    assert set(accepted) <= mine


class FakeClock:
    """Stands in for ``time`` in ``alisms._client``; sleeping records the wait and moves on."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 1000.0
        self.frozen = frozen
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            if not self.frozen:
                self.now += seconds


# -- what goes in -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_input_form_is_taken(kind: str) -> None:
    fake = FakeSMSService()
    options = alisms.BulkMessage(
        number(2),
        "with options",
        from_="Alisms",
        type="NOTIFY",
        task_id="task-7",
        validity_period=3600,
        channel_id="channel-1",
    )
    report = drive(
        kind, fake, [alisms.BulkMessage(number(0), "a message"), (number(1), "a pair"), options]
    )
    assert report.statuses() == ["sent"] * 3
    outcomes = report.by_index()
    assert outcomes[1].message == alisms.BulkMessage(number(1), "a pair")
    assert outcomes[2].message is options
    assert all(isinstance(o.result, alisms.SendResult) for o in report.everything)
    accepted = {m.to: m for m in fake.messages}
    assert accepted[number(0)].text == "a message"
    sent = accepted[number(2)]
    assert (sent.from_, sent.type, sent.task_id, sent.validity_period, sent.channel_id) == (
        "Alisms",
        "NOTIFY",
        "task-7",
        3600,
        "channel-1",
    )
    check_account(report, 3)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_a_generator_is_taken(kind: str) -> None:
    def generate() -> Iterator[tuple[str, str]]:
        for i in range(12):
            yield number(i), f"generated {i}"

    fake = FakeSMSService()
    report = drive(kind, fake, generate, concurrency=4)
    assert report.statuses() == ["sent"] * 12
    assert sorted(m.text for m in fake.messages) == sorted(f"generated {i}" for i in range(12))
    check_account(report, 12)


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_an_async_generator_is_taken_by_the_async_client(kind: str) -> None:
    pulled = 0

    async def generate() -> AsyncIterator[alisms.BulkMessage]:
        nonlocal pulled
        for message in campaign(12):
            await anyio.sleep(0)
            pulled += 1
            yield message

    fake = FakeSMSService()
    report = drive(kind, fake, generate, concurrency=3)
    assert report.statuses() == ["sent"] * 12
    assert pulled == 12
    check_account(report, 12)
    check_against_fake(report, fake)


def test_an_empty_iterable_gives_nothing() -> None:
    for kind in KINDS:
        report = drive(kind, FakeSMSService(), [])
        assert report.everything == []
        assert report.summary == alisms.BulkSummary()
        assert report.progress == []


BAD_ITEMS = [
    42,
    None,
    "85212345678",
    (number(9),),
    (number(9), "text", "extra"),
    [number(9), "a list, not a tuple"],
    {"to": number(9), "message": "a dict"},
]


@pytest.mark.parametrize("bad", BAD_ITEMS, ids=repr)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_item_that_is_not_a_message_raises_validation_error(bad: Any, concurrency: int) -> None:
    fake = FakeSMSService()
    items = Counting([(number(0), "first"), (number(1), "second"), bad, (number(3), "never")])
    reported = []
    with fake.client() as client:
        run = client.send_many(items, concurrency=concurrency)
        with pytest.raises(alisms.ValidationError, match="BulkMessage or a"), run:
            reported.extend(run)
    assert items.pulled == 3  # stopped at the bad item
    # The two good messages before it were sent (or, with a pool, one not yet started
    # by a worker was cancelled: not_sent), and nothing counts the bad one.
    everything = [*reported, *run.unreported]
    assert sorted(o.index for o in everything) == [0, 1]
    assert run.summary.sent + run.summary.not_sent == 2
    assert run.summary.not_sent <= (0 if concurrency == 1 else 1)
    sent = sorted(o.message.to for o in everything if o.status == "sent")
    assert sorted(m.to for m in fake.messages) == sent


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_an_item_that_is_not_a_message_stops_the_async_run_with_an_exact_account(
    kind: str,
) -> None:
    fake = FakeSMSService()
    items = Counting([(number(0), "first"), (number(1), "second"), 42, (number(3), "never")])
    caught = []

    async def main() -> alisms.AsyncBulkRun:
        async with fake.async_client() as client:
            try:
                async with client.send_many(items, concurrency=1) as run:
                    async for _ in run:
                        pass
            except* alisms.ValidationError as group:
                caught.extend(group.exceptions)
            return run

    run = anyio.run(main, backend=kind)
    assert len(caught) == 1
    assert items.pulled == 3
    assert run.summary == alisms.BulkSummary(sent=2)
    assert len(fake.messages) == 2


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_a_bad_item_raises_validation_error_from_the_async_run_too(kind: str) -> None:
    fake = FakeSMSService()

    async def main() -> None:
        async with (
            fake.async_client() as client,
            client.send_many([(number(0), "ok"), 42]) as run,
        ):
            async for _ in run:
                pass

    with pytest.raises(alisms.ValidationError):
        anyio.run(main, backend=kind)


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_the_callers_exception_leaves_the_async_run_unchanged(kind: str) -> None:
    fake = FakeSMSService()

    class Mine(Exception):
        pass

    async def main() -> None:
        async with (
            fake.async_client() as client,
            client.send_many(campaign(5)) as run,
        ):
            async for _ in run:
                raise Mine

    with pytest.raises(Mine):
        anyio.run(main, backend=kind)


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True, "4", None])
def test_concurrency_must_be_a_whole_number_from_one(concurrency: Any) -> None:
    fake = FakeSMSService()
    with fake.client() as client, pytest.raises(alisms.ValidationError, match="concurrency"):
        client.send_many(campaign(2), concurrency=concurrency)
    client_async = fake.async_client()
    with pytest.raises(alisms.ValidationError, match="concurrency"):
        client_async.send_many(campaign(2), concurrency=concurrency)
    anyio.run(client_async.aclose)


def test_the_run_must_be_used_with_with() -> None:
    fake = FakeSMSService()
    with fake.client() as client:
        run = client.send_many(campaign(3))
        with pytest.raises(RuntimeError, match="context manager"):
            next(iter(run))
        with pytest.raises(RuntimeError, match="context manager"):
            for _ in client.send_many(campaign(3), concurrency=1):
                pass
    assert fake.messages == []


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_the_async_run_must_be_used_with_async_with(kind: str) -> None:
    fake = FakeSMSService()

    async def main() -> None:
        async with fake.async_client() as client:
            run = client.send_many(campaign(3))
            with pytest.raises(RuntimeError, match="context manager"):
                await run.__anext__()
            with pytest.raises(RuntimeError, match="context manager"):
                async for _ in client.send_many(campaign(3)):
                    pass

    anyio.run(main, backend=kind)
    gc.collect()  # here, under this test's warning filter
    assert fake.messages == []


def test_an_async_run_never_entered_leaves_nothing_open() -> None:
    client = FakeSMSService().async_client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = client.send_many(campaign(3))
        del run
        gc.collect()
    anyio.run(client.aclose)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# -- what comes out ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_one_outcome_per_recipient(kind: str) -> None:
    """Sent ones carry their result, invalid ones their ValidationError; nothing invalid is sent."""
    invalid = {5: ("12345", "too short"), 11: ("8613800138000", "mainland"), 17: (number(17), " ")}
    messages = [
        alisms.BulkMessage(*invalid[i]) if i in invalid else alisms.BulkMessage(number(i), f"{i}")
        for i in range(30)
    ]
    messages[23] = alisms.BulkMessage("+" + number(23), "with a plus")
    fake = FakeSMSService()
    report = drive(kind, fake, messages, concurrency=4)
    check_account(report, 30)
    check_against_fake(report, fake)
    outcomes = report.by_index()
    for i in range(30):
        outcome = outcomes[i]
        assert outcome.message == messages[i]
        if i in invalid:
            assert outcome.status == "failed"
            assert isinstance(outcome.error, alisms.ValidationError)
            assert outcome.result is None
        else:
            assert outcome.status == "sent"
            assert isinstance(outcome.result, alisms.SendResult)
            assert outcome.result.message_id == outcome.message_id
    assert len(fake.messages) == 27
    assert report.summary == alisms.BulkSummary(sent=27, failed=3)


@pytest.mark.parametrize("kind", KINDS)
def test_an_accepted_message_whose_answer_is_lost_is_unknown(kind: str) -> None:
    fake = FakeSMSService()
    fake.inject("drop_after_accept")
    report = drive(kind, fake, campaign(4), concurrency=1, client_kwargs={"retry": FAST})
    first = report.by_index()[0]
    assert first.status == "unknown"
    assert isinstance(first.error, alisms.DeliveryUnknownError)
    assert report.statuses()[1:] == ["sent"] * 3
    # It was accepted, once: the identical resend was refused as already seen.
    assert [m.to for m in fake.messages].count(number(0)) == 1
    check_account(report, 4)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_send_is_failed_and_the_run_goes_on(kind: str) -> None:
    fake = FakeSMSService()
    fake.inject("unavailable")
    report = drive(kind, fake, campaign(4), concurrency=1, client_kwargs={"retry": False})
    first = report.by_index()[0]
    assert first.status == "failed"
    assert isinstance(first.error, alisms.ServerError)
    assert report.statuses() == ["failed", "sent", "sent", "sent"]
    check_account(report, 4)
    check_against_fake(report, fake)


def boom_transport(fake: FakeSMSService) -> Hooked:
    """A transport that fails with a RuntimeError (a bug, not an alisms error) for "boom"."""

    def before(params: dict[str, str]) -> None:
        if params.get("Message") == "boom":
            raise RuntimeError("a bug in a transport")

    async def abefore(params: dict[str, str]) -> None:
        before(params)

    return Hooked(fake, before=before, abefore=abefore)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unexpected_exception_becomes_an_unknown_outcome(kind: str) -> None:
    fake = FakeSMSService()
    messages = campaign(6)
    messages[2] = alisms.BulkMessage(number(2), "boom")
    report = drive(kind, fake, messages, transport=boom_transport(fake), concurrency=3)
    broken = report.by_index()[2]
    assert broken.status == "unknown"
    assert type(broken.error) is alisms.AlismsError
    assert "RuntimeError" in str(broken.error)
    assert report.summary == alisms.BulkSummary(sent=5, unknown=1)
    check_account(report, 6)
    check_against_fake(report, fake)


def test_an_unexpected_exception_becomes_an_unknown_outcome_inline_too() -> None:
    fake = FakeSMSService()
    messages = campaign(3)
    messages[1] = alisms.BulkMessage(number(1), "boom")
    report = drive("sync", fake, messages, transport=boom_transport(fake), concurrency=1)
    assert report.statuses() == ["sent", "unknown", "sent"]


# -- order and concurrency ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_one_at_a_time_keeps_the_input_order(kind: str) -> None:
    messages = campaign(25)
    messages[7] = alisms.BulkMessage("123", "an invalid number fails in its place")
    report = drive(kind, FakeSMSService(), messages, concurrency=1)
    assert [o.index for o in report.reported] == list(range(25))
    assert [o.message for o in report.reported] == messages
    assert report.reported[7].status == "failed"


@pytest.mark.parametrize("kind", KINDS)
def test_outcomes_come_as_the_calls_complete(kind: str) -> None:
    """The first message is held until the second one's outcome is out of the loop."""
    gate = Gate()

    def before(params: dict[str, str]) -> None:
        if params["Message"] == "slow":
            gate.wait()

    async def abefore(params: dict[str, str]) -> None:
        if params["Message"] == "slow":
            await gate.await_open()

    def each(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> None:
        if outcome.index == 1:
            gate.open()

    fake = FakeSMSService()
    messages = campaign(6)
    messages[0] = alisms.BulkMessage(number(0), "slow")
    transport = Hooked(fake, before=before, abefore=abefore)
    report = drive(kind, fake, messages, transport=transport, concurrency=2, each=each)
    order = [o.index for o in report.reported]
    assert order[0] == 1
    assert sorted(order) == list(range(6))
    assert order.index(0) > 0
    check_account(report, 6)


def test_the_two_clients_take_the_same_options_per_message() -> None:
    messages = [
        alisms.BulkMessage(number(i), f"{i}", from_=f"S{i}", task_id=f"t{i}") for i in range(5)
    ]
    seen = []
    for kind in KINDS:
        fake = FakeSMSService()
        drive(kind, fake, messages, concurrency=2)
        seen.append(sorted((m.to, m.from_, m.task_id) for m in fake.messages))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][0] == (number(0), "S0", "t0")


@pytest.mark.parametrize("concurrency", [1, 3, 8])
@pytest.mark.parametrize("kind", KINDS)
def test_no_more_than_concurrency_calls_at_once(kind: str, concurrency: int) -> None:
    """The first ``concurrency`` calls wait until all of them are in, so the peak is exact."""
    lock = threading.Lock()
    state = {"active": 0, "peak": 0, "started": 0}
    full = Gate()

    def enter() -> bool:
        with lock:
            state["active"] += 1
            state["started"] += 1
            state["peak"] = max(state["peak"], state["active"])
            if state["active"] == concurrency:
                full.open()
            return state["started"] <= concurrency

    def leave(params: dict[str, str]) -> None:
        with lock:
            state["active"] -= 1

    def before(params: dict[str, str]) -> None:
        if enter():
            full.wait()

    async def abefore(params: dict[str, str]) -> None:
        if enter():
            await full.await_open()
        await anyio.sleep(0)  # let the other tasks in

    async def aafter(params: dict[str, str]) -> None:
        leave(params)

    fake = FakeSMSService()
    transport = Hooked(fake, before=before, after=leave, abefore=abefore, aafter=aafter)
    report = drive(kind, fake, campaign(40), transport=transport, concurrency=concurrency)
    assert report.statuses() == ["sent"] * 40
    assert state["peak"] == concurrency
    assert state["active"] == 0


@pytest.mark.parametrize(("n", "concurrency", "most"), [(300, 8, 8), (3, 64, 3), (1, 64, 1)])
@pytest.mark.parametrize("kind", KINDS)
def test_a_fixed_pool_sends_and_it_grows_only_as_needed(
    kind: str, n: int, concurrency: int, most: int
) -> None:
    """Calls run on at most ``concurrency`` threads or tasks, reused from call to call.

    A short campaign starts no more of them than it has messages.
    """
    lock = threading.Lock()
    runners: set[object] = set()

    def before(params: dict[str, str]) -> None:
        with lock:
            runners.add(threading.get_ident())

    async def abefore(params: dict[str, str]) -> None:
        runners.add(anyio.get_current_task().id)
        await anyio.sleep(0)  # let the other tasks in

    fake = FakeSMSService()
    transport = Hooked(fake, before=before, abefore=abefore)
    report = drive(kind, fake, campaign(n), transport=transport, concurrency=concurrency)
    assert report.statuses() == ["sent"] * n
    assert 1 <= len(runners) <= most
    if n > concurrency and kind != "sync":
        assert len(runners) == concurrency  # every worker task took part


def test_the_threads_of_a_sync_run_end_with_it() -> None:
    def ours() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("alisms-bulk")]

    wait_until(lambda: not ours())  # none left from other tests
    fake = FakeSMSService()
    with fake.client() as client:
        with client.send_many(campaign(50), concurrency=4) as run:
            for outcome in run:
                assert 1 <= len(ours()) <= 4
                if outcome.index == 20:
                    break
        wait_until(lambda: not ours())
    assert run.summary.total == len(fake.messages)


# -- taking messages lazily ----------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("kind", KINDS)
def test_messages_are_taken_only_as_calls_free_up(kind: str, concurrency: int) -> None:
    items = Counting(campaign(60))
    ahead: list[int] = []

    def each(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> None:
        ahead.append(items.pulled - len(reported))

    report = drive(kind, FakeSMSService(), items, concurrency=concurrency, each=each)
    check_account(report, 60)
    # Never more taken than yielded plus the calls under way.
    assert max(ahead) == concurrency - 1
    assert min(ahead) >= 0


class AsyncCounting:
    """An async iterable that counts what was taken and checks it is read by one task at a time."""

    def __init__(self, items: Iterable[Any], *, then_wait: bool = False) -> None:
        self._items = iter(items)
        self._then_wait = then_wait
        self._reading = False
        self.pulled = 0

    def __aiter__(self) -> AsyncCounting:
        return self

    async def __anext__(self) -> Any:
        assert not self._reading, "two tasks read the iterable at once"
        self._reading = True
        try:
            await anyio.sleep(0)  # a read that takes a while: other tasks run meanwhile
            await anyio.sleep(0)
            for item in self._items:
                self.pulled += 1
                return item
            if self._then_wait:
                await anyio.sleep_forever()  # a feed with nothing new yet
            raise StopAsyncIteration
        finally:
            self._reading = False


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_an_async_iterable_is_taken_lazily_by_one_worker_at_a_time(
    kind: str, concurrency: int
) -> None:
    items = AsyncCounting(campaign(40))
    ahead: list[int] = []

    def each(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> None:
        ahead.append(items.pulled - len(reported))

    fake = FakeSMSService()
    report = drive(kind, fake, lambda: items, concurrency=concurrency, each=each)
    check_account(report, 40)
    check_against_fake(report, fake)
    assert max(ahead) <= concurrency - 1
    assert min(ahead) >= 0


@pytest.mark.parametrize("kind", KINDS)
def test_an_endless_iterable_is_fine(kind: str) -> None:
    items = Counting(alisms.BulkMessage(number(i), f"{i}") for i in itertools.count())
    fake = FakeSMSService()
    report = drive(kind, fake, items, concurrency=4, stop_after=25)
    assert len(report.reported) == 25
    assert items.pulled <= 25 + 4
    check_account(report, items.pulled)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_batches_take_at_most_a_batch_per_call_ahead(kind: str) -> None:
    items = Counting(campaign(3500))
    ahead: list[int] = []

    def each(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> None:
        ahead.append(items.pulled - len(reported))

    report = drive(kind, FakeSMSService(), items, concurrency=2, batch=True, each=each)
    check_account(report, 3500)
    assert max(ahead) <= (2 + 1) * 1000


@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_invalid_rows_in_batch_mode_are_taken_lazily_too(kind: str) -> None:
    items = Counting(
        [alisms.BulkMessage("12", "invalid")] * 5000 + campaign(10)  # a bad column, say
    )
    ahead: list[int] = []

    def each(outcome: alisms.BulkOutcome, reported: list[alisms.BulkOutcome]) -> None:
        ahead.append(items.pulled - len(reported))

    drive(kind, FakeSMSService(), items, concurrency=1, batch=True, each=each, stop_after=1)
    assert ahead[0] <= 2 * 1000


# -- batch mode ----------------------------------------------------------------------------


def calls(fake: FakeSMSService) -> list[list[str]]:
    """The numbers of each call the fake accepted, call by call."""
    grouped: dict[str, list[str]] = {}
    for message in fake.messages:
        grouped.setdefault(message.request_id, []).append(message.to)
    return list(grouped.values())


@pytest.mark.parametrize("kind", KINDS)
def test_batches_hold_up_to_1000_numbers(kind: str) -> None:
    fake = FakeSMSService()
    report = drive(kind, fake, campaign(2500), batch=True)
    assert report.statuses() == ["sent"] * 2500
    assert {m.action for m in fake.messages} == {"BatchSendMessageToGlobe"}
    groups = calls(fake)
    assert sorted(len(g) for g in groups) == [500, 1000, 1000]
    # Consecutive messages share a call: 0-999, 1000-1999, 2000-2499.
    assert sorted(min(g) for g in groups) == [number(0), number(1000), number(2000)]
    results = {id(o.result) for o in report.everything}
    assert len(results) == 3
    assert all(isinstance(o.result, alisms.BatchSendResult) for o in report.everything)
    check_account(report, 2500)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_of_options_starts_a_new_batch(kind: str) -> None:
    def message(i: int, **options: Any) -> alisms.BulkMessage:
        return alisms.BulkMessage(number(i), f"{i}", **options)

    messages = [
        message(0, from_="Shop"),
        message(1, from_="Shop"),
        message(2, from_="Bank"),
        message(3, from_="Shop"),
        message(4, from_="Shop", type="MKT"),
        message(5, from_="Shop", type="MKT"),
        message(6, from_="Shop", type="MKT", task_id="t1"),
        message(7, from_="Shop", type="MKT", task_id="t1", validity_period=60),
        message(8, from_="Shop", type="MKT", task_id="t1", validity_period=60),
    ]
    fake = FakeSMSService()
    report = drive(kind, fake, messages, batch=True, concurrency=2)
    assert report.statuses() == ["sent"] * 9
    expected = [[0, 1], [2], [3], [4, 5], [6], [7, 8]]
    assert sorted(sorted(g) for g in calls(fake)) == [[number(i) for i in g] for g in expected]
    accepted = {m.to: m for m in fake.messages}
    assert accepted[number(2)].from_ == "Bank"
    assert accepted[number(5)].type == "MKT"
    assert accepted[number(8)].validity_period == 60
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_numbers_in_the_failed_list_are_failed_with_the_batch_result(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Carriers refuse numbers no client-side check can know about: make the fake refuse 85299...
    monkeypatch.setattr(testing, "_NUMBER", re.compile(r"(?!85299)[0-9]{7,15}"))
    messages = campaign(6)
    messages[1] = alisms.BulkMessage("85299000001", "refused")
    messages[4] = alisms.BulkMessage("+85299000004", "refused")
    fake = FakeSMSService()
    report = drive(kind, fake, messages, batch=True)
    assert report.statuses() == ["sent", "failed", "sent", "sent", "failed", "sent"]
    assert len(calls(fake)) == 1
    outcomes = report.by_index()
    result = outcomes[0].result
    assert isinstance(result, alisms.BatchSendResult)
    assert sorted(result.failed) == ["85299000001", "85299000004"]
    for i in (1, 4):
        assert isinstance(outcomes[i].error, alisms.ValidationError)
        assert "FailedList" in str(outcomes[i].error)
        assert outcomes[i].result is result
        assert outcomes[i].message_id is None
    check_account(report, 6)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_rows_are_refused_alone_in_batch_mode(kind: str) -> None:
    messages = campaign(10)
    messages[3] = alisms.BulkMessage("12", "an invalid number")
    messages[6] = alisms.BulkMessage(number(6), "   ")
    fake = FakeSMSService()
    report = drive(kind, fake, messages, batch=True)
    for i in (3, 6):
        outcome = report.by_index()[i]
        assert outcome.status == "failed"
        assert isinstance(outcome.error, alisms.ValidationError)
        assert outcome.result is None
    # The eight others went out together, in one call.
    assert [sorted(g) for g in calls(fake)] == [[number(i) for i in range(10) if i not in (3, 6)]]
    check_account(report, 10)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_batch_fails_its_recipients_only(kind: str) -> None:
    fake = FakeSMSService()
    fake.inject("unavailable")
    report = drive(
        kind, fake, campaign(1500), batch=True, concurrency=1, client_kwargs={"retry": False}
    )
    statuses = report.statuses()
    assert statuses == ["failed"] * 1000 + ["sent"] * 500
    assert all(isinstance(o.error, alisms.ServerError) for o in report.everything[:1000])
    assert len({id(o.error) for o in report.everything if o.status == "failed"}) == 1
    check_account(report, 1500)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_whose_answer_is_lost_is_unknown(kind: str) -> None:
    messages = [
        alisms.BulkMessage(number(i), f"{i}", from_="First" if i < 3 else "Second")
        for i in range(5)
    ]
    fake = FakeSMSService()
    fake.inject("drop_after_accept")
    report = drive(kind, fake, messages, batch=True, concurrency=1, client_kwargs={"retry": FAST})
    assert report.statuses() == ["unknown"] * 3 + ["sent"] * 2
    assert all(isinstance(o.error, alisms.DeliveryUnknownError) for o in report.everything[:3])
    assert len(fake.messages) == 5  # the first batch was accepted once, not twice
    check_account(report, 5)
    check_against_fake(report, fake)


# -- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_progress_is_reported_once_per_outcome(kind: str) -> None:
    messages = campaign(20)
    messages[4] = alisms.BulkMessage("1", "invalid")
    messages[9] = alisms.BulkMessage("1", "invalid")
    report = drive(kind, FakeSMSService(), messages, concurrency=4)
    assert len(report.progress) == 20
    assert [p.total for p in report.progress] == list(range(1, 21))
    for before, after in itertools.pairwise(report.progress):
        assert all(a >= b for a, b in zip(astuple(after), astuple(before), strict=True))
    assert report.progress[-1] == report.summary == alisms.BulkSummary(sent=18, failed=2)


@pytest.mark.parametrize("kind", KINDS)
def test_progress_counts_the_outcomes_that_came_after_a_break(kind: str) -> None:
    report = drive(kind, FakeSMSService(), Counting(campaign(50)), concurrency=4, stop_after=3)
    assert len(report.progress) == report.summary.total
    assert report.progress[-1] == report.summary


# -- stopping early ------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("kind", KINDS)
def test_break_leaves_an_exact_account(kind: str, concurrency: int) -> None:
    items = Counting(campaign(100))
    fake = FakeSMSService()
    report = drive(kind, fake, items, concurrency=concurrency, stop_after=10)
    assert len(report.reported) == 10
    assert report.summary.total == items.pulled
    assert len(report.unreported) == items.pulled - 10
    # Calls under way at the break were waited for (drained): they were sent.
    assert {o.status for o in report.unreported} <= {"sent"}
    assert len(fake.messages) == items.pulled
    check_account(report, items.pulled)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", KINDS)
def test_break_in_batch_mode_does_not_send_the_batch_being_filled(kind: str) -> None:
    items = Counting(campaign(2500))
    fake = FakeSMSService()
    report = drive(kind, fake, items, batch=True, concurrency=1, stop_after=1)
    assert items.pulled == 1001  # the 1,001st message closed the first batch
    assert report.summary == alisms.BulkSummary(sent=1000, not_sent=1)
    (not_sent,) = [o for o in report.unreported if o.status == "not_sent"]
    assert not_sent.index == 1000
    check_account(report, 1001)
    check_against_fake(report, fake)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ctrl_c_in_the_loop_leaves_an_exact_account(concurrency: int) -> None:
    fake = FakeSMSService()
    fake.inject("drop_after_accept")  # the first request: an unknown outcome somewhere
    items = Counting(campaign(50))
    reported: list[alisms.BulkOutcome] = []
    with sync_client(fake, retry=FAST) as client:
        run = client.send_many(items, concurrency=concurrency)
        with pytest.raises(KeyboardInterrupt), run:
            for outcome in run:
                reported.append(outcome)
                if len(reported) == 5:
                    raise KeyboardInterrupt
    report = Report(reported, run.summary, list(run.unreported))
    assert items.pulled < 50
    assert report.summary.unknown == 1
    # Calls under way were waited for; one handed to the pool but not yet started by
    # a worker may have been cancelled instead (not_sent, and truly absent: see below).
    assert report.summary.not_sent <= concurrency - 1
    check_account(report, items.pulled)
    check_against_fake(report, fake)


@pytest.mark.parametrize("batch", [False, True])
def test_ctrl_c_during_the_rate_limit_wait_inline_is_not_sent(
    batch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before its request went out, the message is not sent, not unknown."""
    clock = FakeClock()

    def interrupted_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if seconds > 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        _client, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=interrupted_sleep)
    )
    # A new sender per message: in batch mode too, each message is its own call.
    messages = [alisms.BulkMessage(number(i), f"{i}", from_=f"S{i}") for i in range(5)]
    items = Counting(messages)
    fake = FakeSMSService()
    limits = {"SendMessageToGlobe": 10.0, "BatchSendMessageToGlobe": 1.0}
    reported: list[alisms.BulkOutcome] = []
    with sync_client(fake, rate_limits=limits) as client:
        run = client.send_many(items, concurrency=1, batch=batch)
        with pytest.raises(KeyboardInterrupt), run:
            reported.extend(run)
    report = Report(reported, run.summary, list(run.unreported))
    assert [o.status for o in reported] == ["sent"]
    # In batch mode, the next message was also taken (to close the batch being filled).
    expected = [(1, "not_sent"), (2, "not_sent")] if batch else [(1, "not_sent")]
    assert sorted((o.index, o.status) for o in run.unreported) == expected
    assert report.summary == alisms.BulkSummary(sent=1, not_sent=len(expected))
    assert [m.to for m in fake.messages] == [number(0)]
    assert clock.waits == pytest.approx([0.1 if not batch else 1.0])
    check_account(report, items.pulled)


@pytest.mark.parametrize("where", ["before", "after"])
def test_ctrl_c_once_the_request_went_out_inline_is_unknown(where: str) -> None:
    """Interrupted mid-request, the message may have been accepted: unknown, whether or not."""

    def interrupt(params: dict[str, str]) -> None:
        if params.get("Message") == "interrupted":
            raise KeyboardInterrupt

    fake = FakeSMSService()
    transport = Hooked(fake, **{where: interrupt})
    messages = campaign(4)
    messages[2] = alisms.BulkMessage(number(2), "interrupted")
    reported: list[alisms.BulkOutcome] = []
    with sync_client(fake, transport) as client:
        run = client.send_many(messages, concurrency=1)
        with pytest.raises(KeyboardInterrupt), run:
            reported.extend(run)
    report = Report(reported, run.summary, list(run.unreported))
    assert [o.status for o in reported] == ["sent", "sent"]
    assert [(o.index, o.status) for o in run.unreported] == [(2, "unknown")]
    accepted = [m.to for m in fake.messages]
    assert (number(2) in accepted) == (where == "after")
    check_account(report, 3)
    check_against_fake(report, fake)


def frames_of_main_thread() -> list[tuple[CodeType, int]]:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    found = []
    while frame is not None:
        found.append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    return found


def line_of(function: Callable[..., Any], text: str) -> int:
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the main thread")
        time.sleep(0.001)


def main_thread_waits_in(function: Callable[..., Any]) -> Callable[[], bool]:
    """True once the main thread waits for a call to finish somewhere inside ``function``.

    The run waits in ``BulkRun._receive``, on its queue's ``get()`` (C code,
    so that line is the innermost Python frame while it is blocked).
    """
    blocked = (BulkRun._receive.__code__, line_of(BulkRun._receive, ".get()"))

    def waiting() -> bool:
        frames = frames_of_main_thread()
        inside = any(code is function.__code__ for code, _ in frames)
        return bool(frames) and frames[0] == blocked and inside

    return waiting


needs_sigint = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill")
    or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="needs POSIX signals and Python's own SIGINT handler",
)


class SigintRig:
    """Five messages, three at once: two go through, then three are held until released.

    A controller thread sends the main thread a real SIGINT once it waits for
    the three held calls, as Ctrl-C would.
    """

    def __init__(self, fake: FakeSMSService) -> None:
        self.fake = fake
        self.gate = Gate()
        self.held = threading.Event()
        self._lock = threading.Lock()
        self._arrived = 0
        self.messages = campaign(5)
        for i in (2, 3, 4):
            self.messages[i] = alisms.BulkMessage(number(i), "held")

    def before(self, params: dict[str, str]) -> None:
        if params["Message"] != "held":
            return
        with self._lock:
            self._arrived += 1
            if self._arrived == 3:
                self.held.set()
        self.gate.wait()

    @staticmethod
    def interrupt_main_thread() -> None:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def run(self, controller: Callable[[], None]) -> tuple[Report, alisms.BulkRun]:
        reported: list[alisms.BulkOutcome] = []
        thread = threading.Thread(target=controller)
        with sync_client(self.fake, Hooked(self.fake, before=self.before)) as client:
            run = client.send_many(self.messages, concurrency=3)
            thread.start()
            try:
                with pytest.raises(KeyboardInterrupt), run:
                    reported.extend(run)
            finally:
                self.gate.open()
                thread.join(HANG)
            # Let the released calls finish before looking at the fake.
            wait_until(lambda: len(self.fake.messages) == 5)
        return Report(reported, run.summary, list(run.unreported)), run


@needs_sigint
def test_a_real_ctrl_c_while_calls_are_under_way_waits_for_them() -> None:
    rig = SigintRig(FakeSMSService())

    def controller() -> None:
        assert rig.held.wait(HANG)
        wait_until(main_thread_waits_in(BulkRun.__next__))
        rig.interrupt_main_thread()
        wait_until(main_thread_waits_in(BulkRun.__exit__))
        rig.gate.open()  # the calls under way finish while the run waits for them

    report, _ = rig.run(controller)
    assert sorted(o.index for o in report.reported) == [0, 1]
    assert sorted((o.index, o.status) for o in report.unreported) == [
        (2, "sent"),
        (3, "sent"),
        (4, "sent"),
    ]
    assert report.summary == alisms.BulkSummary(sent=5)
    check_account(report, 5)
    check_against_fake(report, rig.fake)


@needs_sigint
def test_a_second_ctrl_c_stops_waiting_and_marks_the_calls_under_way_unknown() -> None:
    rig = SigintRig(FakeSMSService())

    def controller() -> None:
        assert rig.held.wait(HANG)
        wait_until(main_thread_waits_in(BulkRun.__next__))
        rig.interrupt_main_thread()
        wait_until(main_thread_waits_in(BulkRun.__exit__))
        rig.interrupt_main_thread()  # impatient: Ctrl-C again

    report, _ = rig.run(controller)
    assert sorted(o.index for o in report.reported) == [0, 1]
    assert sorted((o.index, o.status) for o in report.unreported) == [
        (2, "unknown"),
        (3, "unknown"),
        (4, "unknown"),
    ]
    assert report.summary == alisms.BulkSummary(sent=2, unknown=3)
    check_account(report, 5)
    check_against_fake(report, rig.fake)


def test_the_callers_exception_leaves_the_sync_run_unchanged() -> None:
    class Mine(Exception):
        pass

    fake = FakeSMSService()
    items = Counting(campaign(30))
    reported = []
    with fake.client() as client:
        run = client.send_many(items, concurrency=4)
        with pytest.raises(Mine), run:
            for outcome in run:
                reported.append(outcome)
                raise Mine
    report = Report(reported, run.summary, list(run.unreported))
    check_account(report, items.pulled)
    check_against_fake(report, fake)


def test_units_no_thread_started_are_taken_back_and_never_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handed to the threads but not started when the run stops: not sent, now or later."""
    fake = FakeSMSService()
    with fake.client() as client:
        run = client.send_many(Counting(campaign(10)), concurrency=4)
        monkeypatch.setattr(run, "_start_thread", lambda: None)  # no thread takes them yet
        with pytest.raises(KeyboardInterrupt), run:
            run._hand_out()
            raise KeyboardInterrupt
        assert run.summary == alisms.BulkSummary(not_sent=4)
        assert sorted(o.index for o in run.unreported) == [0, 1, 2, 3]
        # A thread that gets to the queue only now finds them taken back.
        assert run._todo is not None
        run._todo.put(None)
        run._serve()
    assert fake.messages == []


# -- cancelling the async run --------------------------------------------------------------


def hang_after_accepting(fake: FakeSMSService) -> Hooked:
    """Messages whose text is "hang" are accepted, then never answered."""

    async def aafter(params: dict[str, str]) -> None:
        if params.get("Message") == "hang":
            await anyio.sleep_forever()

    return Hooked(fake, aafter=aafter)


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_cancelling_the_async_run_leaves_an_exact_account(kind: str) -> None:
    fake = FakeSMSService()
    messages = campaign(12)
    for i in (1, 3, 6):
        messages[i] = alisms.BulkMessage(number(i), "hang")
    items = Counting(messages)
    reported: list[alisms.BulkOutcome] = []

    async def main() -> Report:
        async with async_client(fake, hang_after_accepting(fake)) as client:
            with anyio.CancelScope() as scope:
                async with client.send_many(items, concurrency=3) as run:
                    async for outcome in run:
                        reported.append(outcome)
                        if len(reported) == 2:
                            scope.cancel()
            assert scope.cancelled_caught
            return Report(reported, run.summary, list(run.unreported))

    report = anyio.run(main, backend=kind)
    assert len(report.reported) == 2
    check_account(report, items.pulled)
    check_against_fake(report, fake)
    # The held calls were cancelled: unknown (or not sent, if cancelled before sending).
    outcomes = report.by_index()
    held = [i for i in (1, 3, 6) if i < items.pulled]
    assert {outcomes[i].status for i in held} <= {"unknown", "not_sent"}
    assert report.summary.unknown >= 1
    assert report.summary.failed == 0


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_a_call_cancelled_while_it_waits_for_its_rate_limit_slot_is_not_sent(
    kind: str, concurrency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(frozen=True)
    monkeypatch.setattr(_client, "time", clock)

    async def never(seconds: float) -> None:
        clock.sleep(seconds)
        await anyio.sleep_forever()

    monkeypatch.setattr(_client, "_async_sleep", never)
    fake = FakeSMSService()
    items = Counting(campaign(20))
    reported: list[alisms.BulkOutcome] = []

    async def main() -> Report:
        async with async_client(fake, rate_limits={"SendMessageToGlobe": 10.0}) as client:
            with anyio.CancelScope() as scope:
                async with client.send_many(items, concurrency=concurrency) as run:
                    async for outcome in run:
                        reported.append(outcome)
                        # Cancel once every worker waits for a slot (the first freed one
                        # took the next message when this outcome was handed out).
                        with anyio.fail_after(HANG):
                            while len(clock.waits) < concurrency:
                                await anyio.sleep(0)
                        scope.cancel()
            return Report(reported, run.summary, list(run.unreported))

    report = anyio.run(main, backend=kind)
    # One call had the first slot; the others waited for theirs, and never sent a thing.
    assert [o.status for o in report.reported] == ["sent"]
    assert items.pulled == concurrency + 1
    assert report.summary == alisms.BulkSummary(sent=1, not_sent=concurrency)
    assert len(fake.messages) == 1
    check_account(report, items.pulled)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_a_timeout_around_a_stuck_async_run_stops_it_cleanly(kind: str) -> None:
    fake = FakeSMSService()
    messages = [alisms.BulkMessage(number(i), "hang" if i else "quick") for i in range(10)]
    items = Counting(messages)
    reported: list[alisms.BulkOutcome] = []

    async def main() -> Report:
        async with async_client(fake, hang_after_accepting(fake)) as client:
            with anyio.move_on_after(0.2) as scope:
                async with client.send_many(items, concurrency=4) as run:
                    async for outcome in run:
                        reported.append(outcome)
            assert scope.cancelled_caught
            return Report(reported, run.summary, list(run.unreported))

    started = time.monotonic()
    report = anyio.run(main, backend=kind)
    assert time.monotonic() - started < HANG
    assert [o.index for o in report.reported] == [0]
    assert report.summary.sent == 1
    assert report.summary.failed == 0
    check_account(report, items.pulled)
    check_against_fake(report, fake)


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_the_callers_exception_cancels_the_calls_under_way_with_an_exact_account(
    kind: str,
) -> None:
    class Mine(Exception):
        pass

    fake = FakeSMSService()
    messages = [alisms.BulkMessage(number(i), "hang" if i else "quick") for i in range(10)]
    items = Counting(messages)
    caught = []
    reported: list[alisms.BulkOutcome] = []

    async def main() -> alisms.AsyncBulkRun:
        async with async_client(fake, hang_after_accepting(fake)) as client:
            try:
                async with client.send_many(items, concurrency=4) as run:
                    async for outcome in run:
                        reported.append(outcome)
                        raise Mine
            except* Mine as group:
                caught.extend(group.exceptions)
            return run

    run = anyio.run(main, backend=kind)
    assert len(caught) == 1
    # One outcome was seen in the loop; the calls under way were cancelled.
    report = Report(reported, run.summary, list(run.unreported))
    check_account(report, items.pulled)
    check_against_fake(report, fake)
    assert run.summary.sent == 1
    assert run.summary.failed == 0


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_a_break_stops_a_read_of_the_async_iterable_under_way(kind: str) -> None:
    """A feed that has nothing more yet does not hold up a break."""
    items = AsyncCounting(campaign(5), then_wait=True)
    fake = FakeSMSService()

    async def main() -> Report:
        reported: list[alisms.BulkOutcome] = []
        with anyio.fail_after(HANG):
            async with (
                async_client(fake) as client,
                client.send_many(items, concurrency=3) as run,
            ):
                async for outcome in run:
                    reported.append(outcome)
                    if len(reported) == 5:
                        break  # a worker waits in the feed's __anext__ by now
        return Report(reported, run.summary, list(run.unreported))

    report = anyio.run(main, backend=kind)
    assert report.summary == alisms.BulkSummary(sent=5)
    assert items.pulled == 5
    check_account(report, 5)
    check_against_fake(report, fake)


@pytest.mark.parametrize("stop_after", [1, 7, 23, 40])
@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_cancelling_the_worker_pool_at_any_point_leaves_an_exact_account(
    kind: str, stop_after: int
) -> None:
    """Calls are cancelled before, during and after their request; nothing is lost or doubled."""
    fake = FakeSMSService()

    async def slow(params: dict[str, str]) -> None:
        for _ in range(int(params["Message"].split()[1]) % 4):
            await anyio.sleep(0)

    transport = Hooked(fake, abefore=slow, aafter=slow)
    items = Counting(campaign(60))
    reported: list[alisms.BulkOutcome] = []

    async def main() -> Report:
        async with async_client(fake, transport) as client:
            with anyio.CancelScope() as scope:
                async with client.send_many(items, concurrency=8) as run:
                    async for outcome in run:
                        reported.append(outcome)
                        if len(reported) == stop_after:
                            scope.cancel()
            return Report(reported, run.summary, list(run.unreported))

    report = anyio.run(main, backend=kind)
    assert len(report.reported) == stop_after
    assert items.pulled <= stop_after + 8
    check_account(report, items.pulled)
    check_against_fake(report, fake)
    assert report.summary.failed == 0


# -- limits and bulk -----------------------------------------------------------------------


def test_an_async_batch_campaign_with_the_defaults_is_slowed_down_not_refused() -> None:
    """In trio's virtual time: 100 batch calls at the default 1/s take 99 s, and all go out."""
    start = datetime.now(UTC)
    fake = FakeSMSService(clock=lambda: start + timedelta(seconds=trio.current_time()))
    # A new sender every message: 100 batch calls of one number each.
    messages = [alisms.BulkMessage(number(i), "hi", from_=f"S{i % 2}") for i in range(100)]

    async def main() -> tuple[alisms.BulkSummary, float]:
        async with (
            fake.async_client(rate_limits=DEFAULT_RATE_LIMITS) as client,
            client.send_many(messages, batch=True) as run,
        ):
            async for _ in run:
                pass
        return run.summary, trio.current_time()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_client, "time", SimpleNamespace(monotonic=trio.current_time))
        summary, elapsed = anyio.run(
            main,
            backend="trio",
            backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
        )
    assert summary == alisms.BulkSummary(sent=100)
    assert elapsed == pytest.approx(99.0)
