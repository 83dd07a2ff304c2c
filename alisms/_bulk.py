"""Sending to many recipients: lazily, with bounded concurrency, paced by the client's limits.

``client.send_many(messages)`` takes any iterable (for :class:`AsyncClient`
also an async iterable) of :class:`BulkMessage` or ``(to, text)`` pairs,
possibly millions, and consumes it only as fast as it sends. It is a context
manager; iterate it for one :class:`BulkOutcome` per recipient, in the order
they complete::

    with client.send_many(numbers_and_texts, concurrency=16) as run:
        for outcome in run:
            record(outcome)
    print(run.summary)

Leaving the ``with`` block early (``break``, an exception, Ctrl-C, a task
cancel) stops taking new messages; for the sync run, calls in flight are
waited for; for the async run they are waited for after a ``break`` and
cancelled on an exception or cancellation (a cancelled send is ``unknown``).
Outcomes that finish after the loop stopped are in ``run.unreported``, so
``run.summary`` is an exact account: every message taken from the iterable is
``sent``, ``failed``, ``unknown`` (may have been accepted: do not resend
blindly) or ``not_sent``.

With ``batch=True``, consecutive messages with the same options go out in
BatchSendMessageToGlobe calls of up to 1,000 numbers. The documented limits
make single sends faster for most campaigns (2,000 numbers/s against 1,000
numbers/s for batches at one call per second); batches save calls, not time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from alisms._errors import AlismsError, DeliveryUnknownError, ValidationError
from alisms._results import BatchSendResult, MessageType, SendResult
from alisms._validation import MAX_BATCH, message_text, phone_number

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    import anyio.abc
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from alisms._client import AsyncClient, Client


def call_may_have_sent() -> bool:
    """See :func:`alisms._client.call_may_have_sent` (imported late: the client imports us)."""
    from alisms._client import call_may_have_sent as may_have_sent

    return may_have_sent()


__all__ = [
    "AsyncBulkRun",
    "BulkMessage",
    "BulkOutcome",
    "BulkRun",
    "BulkStatus",
    "BulkSummary",
]

BulkStatus = Literal["sent", "failed", "unknown", "not_sent"]
"""What became of one recipient."""


@dataclass(frozen=True)
class BulkMessage:
    """One message of a campaign: a recipient, a text and the per-message options."""

    to: str
    message: str
    from_: str | None = None
    type: MessageType | str | None = None
    task_id: str | None = None
    validity_period: int | None = None
    channel_id: str | None = None

    def options(self) -> dict[str, Any]:
        """The keyword arguments shared by a send and a batch."""
        return {
            "from_": self.from_,
            "type": self.type,
            "task_id": self.task_id,
            "validity_period": self.validity_period,
            "channel_id": self.channel_id,
        }


@dataclass(frozen=True)
class BulkOutcome:
    """What became of ``message``, the ``index``-th item taken from the iterable.

    ``result`` is the call's result (a :class:`~alisms.SendResult`, or the
    shared :class:`~alisms.BatchSendResult` of a batch) and ``error`` the
    failure. Both are set only for a number the batch listed in its
    ``FailedList``: the call succeeded, that recipient did not.
    """

    index: int
    message: BulkMessage
    status: BulkStatus
    message_id: str | None = None
    result: SendResult | BatchSendResult | None = None
    error: AlismsError | None = None


@dataclass
class BulkSummary:
    """How many recipients were sent, failed, unknown and not sent so far."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    not_sent: int = 0

    @property
    def total(self) -> int:
        """Every recipient accounted for."""
        return self.sent + self.failed + self.unknown + self.not_sent

    def add(self, status: BulkStatus) -> None:
        """Count one more recipient with ``status``."""
        setattr(self, status, getattr(self, status) + 1)


Unit = list[tuple[int, BulkMessage]]
"""What one call sends: one message, or a batch's worth."""


def as_message(item: object) -> BulkMessage:
    """Accept a :class:`BulkMessage` or a ``(to, text)`` pair."""
    if isinstance(item, BulkMessage):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return BulkMessage(item[0], item[1])
    raise ValidationError(
        "messages", f"each item must be a BulkMessage or a (to, text) pair, not {item!r}"
    )


def _error_status(error: AlismsError) -> BulkStatus:
    return "unknown" if isinstance(error, DeliveryUnknownError) else "failed"


def failed_outcomes(
    unit: Unit, error: AlismsError, status: BulkStatus | None = None
) -> list[BulkOutcome]:
    """Every recipient of ``unit`` ends with ``error`` (``unknown`` for DeliveryUnknownError)."""
    final = status or _error_status(error)
    return [BulkOutcome(i, m, final, error=error) for i, m in unit]


def send_outcome(unit: Unit, result: SendResult) -> list[BulkOutcome]:
    """The outcome of a single send."""
    ((index, message),) = unit
    return [BulkOutcome(index, message, "sent", result.message_id, result)]


def batch_outcomes(unit: Unit, result: BatchSendResult) -> list[BulkOutcome]:
    """Map a batch's answer back to its recipients.

    Numbers in ``FailedList`` failed; the others take the message ids in
    order (the API lists ids for the accepted numbers in the order sent).
    """
    refused = list(result.failed)
    ids = iter(result.message_ids)
    outcomes = []
    for index, message in unit:
        number = phone_number(message.to)
        if number in refused:
            refused.remove(number)
            error = ValidationError("to", f"{message.to!r} is in the batch's FailedList")
            outcomes.append(BulkOutcome(index, message, "failed", result=result, error=error))
        else:
            outcomes.append(BulkOutcome(index, message, "sent", next(ids, None), result))
    return outcomes


@dataclass
class _Planner:
    """The I/O-free part of a run: grouping into calls, and the account."""

    batch: bool
    on_progress: Callable[[BulkSummary], object] | None
    summary: BulkSummary = field(default_factory=BulkSummary)
    unreported: list[BulkOutcome] = field(default_factory=list)
    refused: deque[BulkOutcome] = field(default_factory=deque)
    _pending: Unit = field(default_factory=list)

    def push(self, index: int, item: object) -> Unit | None:
        """Take one item; return a unit ready to send, if this one completes or breaks one."""
        message = as_message(item)
        if not self.batch:
            return [(index, message)]
        try:  # checked here so one bad number cannot sink a whole batch
            phone_number(message.to)
            message_text(message.message)
        except ValidationError as error:
            self.refused.append(BulkOutcome(index, message, "failed", error=error))
            return None
        ready = None
        if self._pending and (
            len(self._pending) >= MAX_BATCH or self._pending[0][1].options() != message.options()
        ):
            ready, self._pending = self._pending, []
        self._pending.append((index, message))
        return ready

    def flush(self) -> Unit | None:
        """The last, partial unit, once the iterable is exhausted."""
        ready, self._pending = self._pending, []
        return ready or None

    def account(self, outcome: BulkOutcome, *, reported: bool = True) -> None:
        """Count ``outcome``; keep it in ``unreported`` when the loop is gone."""
        self.summary.add(outcome.status)
        if not reported:
            self.unreported.append(outcome)
        if self.on_progress is not None:
            self.on_progress(self.summary)

    def abandon(self) -> None:
        """The run stopped: what was taken but never sent is ``not_sent``."""
        for index, message in self._pending:
            self.account(BulkOutcome(index, message, "not_sent"), reported=False)
        self._pending = []
        while self.refused:
            self.account(self.refused.popleft(), reported=False)


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency", f"{concurrency!r} is not a whole number >= 1")
    return concurrency


class BulkRun:
    """A campaign in progress on a :class:`~alisms.Client` (worker threads); see the module."""

    def __init__(
        self,
        client: Client,
        messages: Iterable[BulkMessage | tuple[str, str]],
        *,
        concurrency: int,
        batch: bool,
        on_progress: Callable[[BulkSummary], object] | None,
    ) -> None:
        self._client = client
        self._items = enumerate(iter(messages))
        self._concurrency = _check_concurrency(concurrency)
        self._plan = _Planner(batch, on_progress)
        self._ready: deque[BulkOutcome] = deque()
        # Units taken for sending, with their future once submitted to the pool.
        self._flying: dict[int, tuple[Unit, Future[list[BulkOutcome]] | None]] = {}
        self._exhausted = False
        self._entered = False
        self._pool: ThreadPoolExecutor | None = None

    @property
    def summary(self) -> BulkSummary:
        """The account so far: sent, failed, unknown, not sent."""
        return self._plan.summary

    @property
    def unreported(self) -> list[BulkOutcome]:
        """Outcomes that came after the loop stopped (see the module)."""
        return self._plan.unreported

    def __enter__(self) -> Self:
        # One at a time needs no thread: the call runs inline, so Ctrl-C lands in it.
        if self._concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor  # imported when first needed

            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="alisms-bulk")
        self._entered = True
        return self

    def _next_unit(self) -> Unit | None:
        while not self._exhausted:
            try:
                index, item = next(self._items)
            except StopIteration:
                self._exhausted = True
                break
            unit = self._plan.push(index, item)
            if unit is not None:
                return unit
            if self._plan.refused:
                return None  # hand the refused row over before reading further
        return self._plan.flush() if self._exhausted else None

    def _work(self, unit: Unit) -> list[BulkOutcome]:
        try:
            return self._send(unit)
        except Exception as error:  # a bug must not lose the account
            return failed_outcomes(unit, _as_unknown(error), "unknown")

    def _run(self, unit: Unit, future: Future[list[BulkOutcome]]) -> None:
        """In a worker thread: claim ``future`` (unless cancelled first) and fill it."""
        if future.set_running_or_notify_cancel():
            future.set_result(self._work(unit))

    def _land(self, key: int) -> None:
        """Move a finished unit's outcomes to the ready queue (safe to repeat after Ctrl-C)."""
        unit, future = self._flying[key]
        outcomes = self._work(unit) if future is None else future.result()
        self._ready.extend(outcomes)
        del self._flying[key]

    def _send(self, unit: Unit) -> list[BulkOutcome]:
        first = unit[0][1]
        try:
            if not self._plan.batch:
                return send_outcome(
                    unit,
                    self._client.send_message_to_globe(first.to, first.message, **first.options()),
                )
            result = self._client.batch_send_message_to_globe(
                [m.to for _, m in unit], [m.message for _, m in unit], **first.options()
            )
        except AlismsError as error:
            return failed_outcomes(unit, error)
        return batch_outcomes(unit, result)

    def __iter__(self) -> Iterator[BulkOutcome]:
        return self

    def __next__(self) -> BulkOutcome:
        if not self._entered:
            raise RuntimeError("use the run as a context manager: with client.send_many(...)")
        while not self._ready:
            if self._plan.refused:
                self._ready.append(self._plan.refused.popleft())
                break
            while len(self._flying) < self._concurrency:
                unit = self._next_unit()
                if unit is None:
                    break
                if self._pool is None:
                    self._flying[id(unit)] = (unit, None)
                    self._land(id(unit))  # inline: the call runs here
                    break
                # The future exists before the submission, so a Ctrl-C anywhere in
                # between leaves it either unclaimed (never sent) or claimed by a worker.
                from concurrent.futures import Future

                future: Future[list[BulkOutcome]] = Future()
                self._flying[id(unit)] = (unit, future)
                self._pool.submit(self._run, unit, future)
            if self._plan.refused or self._ready:
                continue
            if not self._flying:
                raise StopIteration
            from concurrent.futures import FIRST_COMPLETED, wait

            futures = [f for _, f in self._flying.values() if f is not None]
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for key, (_, pending) in list(self._flying.items()):
                if pending in done:
                    self._land(key)
        outcome = self._ready.popleft()
        self._plan.account(outcome)
        return outcome

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exhausted = True
        try:
            for key, (unit, future) in list(self._flying.items()):
                if future is None:
                    continue  # interrupted inline: settled below
                if future.cancel():  # no worker had started it: it never went out
                    del self._flying[key]
                    self._ready.extend(BulkOutcome(i, m, "not_sent") for i, m in unit)
                else:
                    self._land(key)  # wait for the call under way
        finally:
            # Still flying: interrupted inline, or a second Ctrl-C while waiting.
            for unit, future in self._flying.values():
                inline_unsent = future is None and not call_may_have_sent()
                status: BulkStatus = "not_sent" if inline_unsent else "unknown"
                self._ready.extend(BulkOutcome(i, m, status) for i, m in unit)
            self._flying.clear()
            while self._ready:
                self._plan.account(self._ready.popleft(), reported=False)
            self._plan.abandon()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)


class AsyncBulkRun:
    """A campaign in progress on an :class:`~alisms.AsyncClient` (tasks); see the module."""

    def __init__(
        self,
        client: AsyncClient,
        messages: Iterable[BulkMessage | tuple[str, str]]
        | AsyncIterable[BulkMessage | tuple[str, str]],
        *,
        concurrency: int,
        batch: bool,
        on_progress: Callable[[BulkSummary], object] | None,
    ) -> None:
        self._client = client
        self._messages = messages
        self._concurrency = _check_concurrency(concurrency)
        self._plan = _Planner(batch, on_progress)
        self._ready: deque[BulkOutcome] = deque()
        self._cancelled: list[BulkOutcome] = []
        self._in_flight = 0
        self._exhausted = False
        self._index = 0
        self._sync_items: Iterator[Any] | None = None
        self._async_items: AsyncIterator[Any] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._send_done: MemoryObjectSendStream[list[BulkOutcome]] | None = None
        self._receive_done: MemoryObjectReceiveStream[list[BulkOutcome]] | None = None

    @property
    def summary(self) -> BulkSummary:
        """The account so far: sent, failed, unknown, not sent."""
        return self._plan.summary

    @property
    def unreported(self) -> list[BulkOutcome]:
        """Outcomes that came after the loop stopped (see the module)."""
        return self._plan.unreported

    async def __aenter__(self) -> Self:
        import anyio  # imported with the first async run, not with alisms

        if isinstance(self._messages, AsyncIterable):
            self._async_items = aiter(self._messages)
        else:
            self._sync_items = iter(self._messages)
        self._send_done, self._receive_done = anyio.create_memory_object_stream[list[BulkOutcome]](
            math.inf
        )
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def _next_item(self) -> tuple[bool, Any]:
        try:
            if self._async_items is not None:
                return True, await anext(self._async_items)
            assert self._sync_items is not None
            return True, next(self._sync_items)
        except (StopIteration, StopAsyncIteration):
            return False, None

    async def _next_unit(self) -> Unit | None:
        while not self._exhausted:
            more, item = await self._next_item()
            if not more:
                self._exhausted = True
                break
            index, self._index = self._index, self._index + 1
            unit = self._plan.push(index, item)
            if unit is not None:
                return unit
            if self._plan.refused:
                return None  # hand the refused row over before reading further
        return self._plan.flush() if self._exhausted else None

    async def _work(self, unit: Unit) -> None:
        import anyio

        try:
            outcomes = await self._send(unit)
        except anyio.get_cancelled_exc_class():
            # Cancelled mid-call: the request may have gone out, unless it never started.
            status: BulkStatus = "unknown" if call_may_have_sent() else "not_sent"
            self._cancelled.extend(BulkOutcome(i, m, status) for i, m in unit)
            raise
        except Exception as error:  # a bug must not lose the account
            outcomes = failed_outcomes(unit, _as_unknown(error), "unknown")
        assert self._send_done is not None
        self._send_done.send_nowait(outcomes)

    async def _send(self, unit: Unit) -> list[BulkOutcome]:
        first = unit[0][1]
        try:
            if not self._plan.batch:
                return send_outcome(
                    unit,
                    await self._client.send_message_to_globe(
                        first.to, first.message, **first.options()
                    ),
                )
            result = await self._client.batch_send_message_to_globe(
                [m.to for _, m in unit], [m.message for _, m in unit], **first.options()
            )
        except AlismsError as error:
            return failed_outcomes(unit, error)
        return batch_outcomes(unit, result)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BulkOutcome:
        if self._group is None or self._receive_done is None:
            raise RuntimeError("use the run as a context manager: async with client.send_many(...)")
        while not self._ready:
            if self._plan.refused:
                self._ready.append(self._plan.refused.popleft())
                break
            while self._in_flight < self._concurrency:
                unit = await self._next_unit()
                if unit is None:
                    break
                self._group.start_soon(self._work, unit)
                self._in_flight += 1
            if self._plan.refused:
                continue
            if self._in_flight == 0:
                raise StopAsyncIteration
            self._ready.extend(await self._receive_done.receive())
            self._in_flight -= 1
        outcome = self._ready.popleft()
        self._plan.account(outcome)
        return outcome

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._exhausted = True
        group, receive = self._group, self._receive_done
        assert group is not None and receive is not None
        try:
            if exc_type is None:
                try:
                    while self._in_flight:  # after a break: wait for the calls under way
                        self._ready.extend(await receive.receive())
                        self._in_flight -= 1
                except BaseException:  # cancelled while waiting: cancel them instead
                    group.cancel_scope.cancel()
                    await group.__aexit__(None, None, None)
                    raise
            else:
                group.cancel_scope.cancel()
            # The caller's exception (or none) goes on unchanged, not in an ExceptionGroup:
            # the group only ends its own tasks.
            await group.__aexit__(None, None, None)
        finally:
            self._settle()
        return None

    def _settle(self) -> None:
        """Account for everything still unaccounted once the tasks are done."""
        import anyio

        assert self._send_done is not None and self._receive_done is not None
        while True:
            try:
                self._ready.extend(self._receive_done.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        for outcome in [*self._ready, *self._cancelled]:
            self._plan.account(outcome, reported=False)
        self._ready.clear()
        self._cancelled.clear()
        self._plan.abandon()
        self._send_done.close()
        self._receive_done.close()


def _as_unknown(error: BaseException) -> AlismsError:
    """An unexpected exception in a worker: the outcome is unknown, and says why."""
    return AlismsError(
        f"the send failed unexpectedly ({type(error).__name__}); its outcome is unknown",
        hint="Check whether the message arrived before sending it again",
    )
