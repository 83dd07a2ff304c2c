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
cancelled on an exception or cancellation (a cancelled send is ``unknown``,
or ``not_sent`` if its request had not gone out), and a read of an async
iterable under way is cancelled either way. Outcomes that finish after the
loop stopped are in ``run.unreported``, so ``run.summary`` is an exact
account: every message taken from the iterable is ``sent``, ``failed``,
``unknown`` (may have been accepted: do not resend blindly) or ``not_sent``.

Both runs keep a fixed pool: ``BulkRun`` up to ``concurrency`` worker
threads fed through a queue (none with ``concurrency=1``: the call runs
inline), ``AsyncBulkRun`` up to ``concurrency`` worker tasks that read the
iterable themselves. Either way the pool grows only as work comes (a
three-message campaign sends from at most three threads or tasks), and no
more than ``concurrency`` units are ever taken and not yet reported.

With ``batch=True``, consecutive messages with the same options go out in
BatchSendMessageToGlobe calls of up to 1,000 numbers. The documented limits
make single sends faster for most campaigns (2,000 numbers/s against 1,000
numbers/s for batches at one call per second); batches save calls, not time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from alisms._errors import AlismsError, DeliveryUnknownError, ValidationError
from alisms._results import BatchSendResult, MessageType, SendResult
from alisms._validation import MAX_BATCH, message_text, phone_number

if TYPE_CHECKING:
    from queue import SimpleQueue

    import anyio
    import anyio.abc

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
    """A campaign in progress on a :class:`~alisms.Client` (worker threads); see the module.

    The caller's thread reads the iterable and hands units to up to
    ``concurrency`` worker threads through one queue; each thread files the
    outcomes of a call under the unit's key and posts the key on a second
    queue, which the caller's thread waits on. With ``concurrency=1`` the
    call runs in the caller's thread, with no queue at all.
    """

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
        # Units handed to the threads and not landed yet, by id(unit); of those, the ones
        # no thread has started (a thread claims one by popping it: it goes out; the run
        # stopping pops the rest: they never do); and the outcomes of finished calls.
        self._flying: dict[int, Unit] = {}
        self._unclaimed: dict[int, Unit] = {}
        self._results: dict[int, list[BulkOutcome]] = {}
        self._todo: SimpleQueue[Unit | None] | None = None
        self._done: SimpleQueue[int] | None = None
        self._threads = 0
        self._inline: Unit | None = None
        self._exhausted = False
        self._entered = False

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
            from queue import SimpleQueue  # imported when first needed

            self._todo, self._done = SimpleQueue(), SimpleQueue()
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
            return batch_outcomes(unit, result)
        except AlismsError as error:
            return failed_outcomes(unit, error)
        except Exception as error:  # a bug must not lose the account
            return failed_outcomes(unit, _as_unknown(error), "unknown")

    def _serve(self) -> None:
        """A worker thread: claim units and send them until told to stop (``None``)."""
        todo, done, unclaimed, results = self._todo, self._done, self._unclaimed, self._results
        assert todo is not None and done is not None
        while (unit := todo.get()) is not None:
            key = id(unit)
            if unclaimed.pop(key, None) is None:
                continue  # the run stopped before any thread started it: it never went out
            try:
                outcomes = self._work(unit)
            except BaseException as error:  # not even SystemExit in a call may lose the account
                outcomes = failed_outcomes(unit, _as_unknown(error), "unknown")
            results[key] = outcomes
            done.put(key)

    def _hand_out(self) -> None:
        """Give the threads units until ``concurrency`` calls are under way."""
        flying, unclaimed, todo = self._flying, self._unclaimed, self._todo
        assert todo is not None
        while len(flying) < self._concurrency:
            unit = self._next_unit()
            if unit is None:
                return
            key = id(unit)
            # Unclaimed first: a Ctrl-C before the put leaves it unclaimed, never sent.
            unclaimed[key] = unit
            flying[key] = unit
            if self._threads < len(flying):
                self._start_thread()
            todo.put(unit)

    def _start_thread(self) -> None:
        import threading

        self._threads += 1  # counted first: every thread started gets its stop signal
        name = f"alisms-bulk-{self._threads}"
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _receive(self) -> None:
        """Wait for a call to finish and land it.

        A Ctrl-C here loses nothing: the outcomes wait in ``_results`` until landed.
        """
        assert self._done is not None
        self._land(self._done.get())

    def _land(self, key: int) -> None:
        """Move a finished unit's outcomes to the ready queue (once: a repeat does nothing)."""
        outcomes = self._results.pop(key, None)
        if outcomes is not None:
            del self._flying[key]
            self._ready.extend(outcomes)

    def __iter__(self) -> Iterator[BulkOutcome]:
        return self

    def __next__(self) -> BulkOutcome:
        ready = self._ready
        while not ready:
            if not self._entered:
                raise RuntimeError("use the run as a context manager: with client.send_many(...)")
            plan = self._plan
            if plan.refused:
                ready.append(plan.refused.popleft())
                break
            if self._todo is None:
                unit = self._next_unit()
                if unit is not None:
                    self._inline = unit
                    ready.extend(self._work(unit))  # inline: the call runs here
                    self._inline = None
                elif not plan.refused:
                    raise StopIteration
                continue
            self._hand_out()
            if plan.refused:
                continue
            if not self._flying:
                raise StopIteration
            self._receive()
        outcome = ready.popleft()
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
            if exc_type is not None:  # Ctrl-C, an exception: what no thread started stays unsent
                self._recall()
            for key in list(self._results):
                self._land(key)
            while self._flying:
                self._receive()  # wait for the calls under way
        finally:
            # Still flying: a second Ctrl-C while waiting, or interrupted inline.
            self._recall()  # (none after a clean wait; otherwise no thread may start them now)
            for key in list(self._results):
                self._land(key)
            for unit in self._flying.values():
                self._ready.extend(BulkOutcome(i, m, "unknown") for i, m in unit)
            self._flying.clear()
            if self._inline is not None:
                status: BulkStatus = "unknown" if call_may_have_sent() else "not_sent"
                self._ready.extend(BulkOutcome(i, m, status) for i, m in self._inline)
                self._inline = None
            while self._ready:
                self._plan.account(self._ready.popleft(), reported=False)
            self._plan.abandon()
            if self._todo is not None:
                for _ in range(self._threads):
                    self._todo.put(None)  # each thread ends after its call

    def _recall(self) -> None:
        """Take back the units no thread has started: they were never sent."""
        for key in list(self._unclaimed):
            unit = self._unclaimed.pop(key, None)
            if unit is not None:  # else a thread claimed it just now
                self._flying.pop(key, None)
                self._ready.extend(BulkOutcome(i, m, "not_sent") for i, m in unit)


class _Worker:
    """One worker task of an async run: its cancel scope, and whether it is in a call."""

    __slots__ = ("calling", "scope")

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.calling = False


class AsyncBulkRun:
    """A campaign in progress on an :class:`~alisms.AsyncClient` (tasks); see the module.

    Up to ``concurrency`` worker tasks (started as the campaign needs them)
    each loop: take a token, take the next unit from the iterable, send it,
    and append its outcomes to one buffer that the caller's ``async for``
    empties. There is one token per unit taken and not yet fully reported,
    ``concurrency`` in all: the run never reads further ahead than the calls
    under way, and never has more than ``concurrency`` of them.
    """

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
        # Finished units' outcomes, one entry per token, and the entry being handed out.
        self._done: deque[list[BulkOutcome]] = deque()
        self._current: list[BulkOutcome] | None = None
        self._position = 0
        # Units cancelled mid-call, or taken while the run stopped.
        self._interrupted: list[BulkOutcome] = []
        self._error: Exception | None = None
        self._stopping = False
        self._exhausted = False
        self._index = 0
        self._sync_items: Iterator[Any] | None = None
        self._async_items: AsyncIterator[Any] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._tokens: anyio.Semaphore | None = None
        self._pull_lock: anyio.Lock | None = None
        self._wake: anyio.Event | None = None
        self._cancelled: Callable[[], Awaitable[None]] = _not_entered
        self._workers: list[_Worker] = []
        self._spawned = 0
        self._live = 0

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
        from anyio.lowlevel import checkpoint_if_cancelled

        if isinstance(self._messages, AsyncIterable):
            self._async_items = aiter(self._messages)
            self._pull_lock = _fast(anyio.Lock)
        else:
            self._sync_items = iter(self._messages)
        self._tokens = _fast(anyio.Semaphore, self._concurrency)
        self._cancelled = checkpoint_if_cancelled
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    # -- the workers -------------------------------------------------------------------

    def _spawn(self) -> None:
        assert self._group is not None
        self._spawned += 1
        self._live += 1
        self._group.start_soon(self._worker)

    async def _worker(self) -> None:
        import anyio

        try:
            if self._stopping:
                return
            me = _Worker(anyio.CancelScope())
            self._workers.append(me)
            with me.scope:
                await self._serve(me)
        finally:
            self._live -= 1
            if not self._live:
                self._wake_up()

    async def _serve(self, me: _Worker) -> None:
        tokens = self._tokens
        assert tokens is not None
        pull = self._take_async if self._async_items is not None else None
        while not self._stopping:
            await tokens.acquire()
            try:
                unit = self._take() if pull is None else await pull()
            except Exception as error:  # a bad item, or the iterable failed: the caller gets it
                self._error = error
                self._stopping = True
                self._wake_up()
                return
            if unit is None:  # the iterable is exhausted (or the run stopping)
                tokens.release()
                return
            if not unit:  # a refused row went to the caller, with the token
                continue
            if self._stopping:  # the run stopped while this worker read the iterable
                self._interrupted.extend(BulkOutcome(i, m, "not_sent") for i, m in unit)
                return
            if self._spawned < self._concurrency and not self._exhausted:
                self._spawn()  # more work may follow: one more worker, up to concurrency
            me.calling = True
            try:
                outcomes = await self._send(unit)
            except BaseException:
                # Cancelled mid-call: the request may have gone out, unless it never started.
                status: BulkStatus = "unknown" if call_may_have_sent() else "not_sent"
                self._interrupted.extend(BulkOutcome(i, m, status) for i, m in unit)
                raise
            finally:
                me.calling = False
            self._deliver(outcomes)

    def _take(self) -> Unit | None:
        """The next unit of a sync iterable: ``[]`` after handing over a refused row."""
        if self._stopping:
            return None
        plan, items = self._plan, self._sync_items
        assert items is not None
        while not self._exhausted:
            try:
                item = next(items)
            except StopIteration:
                self._exhausted = True
                break
            index = self._index
            self._index = index + 1
            unit = plan.push(index, item)
            if unit is not None:
                return unit
            if plan.refused:
                self._deliver([plan.refused.popleft()])
                return []
        return plan.flush()

    async def _take_async(self) -> Unit | None:
        """The next unit of an async iterable: one worker reads it at a time."""
        assert self._pull_lock is not None and self._async_items is not None
        plan, items = self._plan, self._async_items
        async with self._pull_lock:
            while not self._exhausted:
                if self._stopping:
                    return None
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    self._exhausted = True
                    break
                index = self._index
                self._index = index + 1
                unit = plan.push(index, item)
                if unit is not None:
                    return unit
                if plan.refused:
                    self._deliver([plan.refused.popleft()])
                    return []
            return None if self._stopping else plan.flush()

    async def _send(self, unit: Unit) -> list[BulkOutcome]:
        first = unit[0][1]
        client = self._client
        try:
            if not self._plan.batch:
                return send_outcome(
                    unit,
                    await client.send_message_to_globe(first.to, first.message, **first.options()),
                )
            result = await client.batch_send_message_to_globe(
                [m.to for _, m in unit], [m.message for _, m in unit], **first.options()
            )
            return batch_outcomes(unit, result)
        except AlismsError as error:
            return failed_outcomes(unit, error)
        except Exception as error:  # a bug must not lose the account
            return failed_outcomes(unit, _as_unknown(error), "unknown")

    def _deliver(self, outcomes: list[BulkOutcome]) -> None:
        self._done.append(outcomes)
        self._wake_up()

    def _wake_up(self) -> None:
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set()

    # -- the caller's side -------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BulkOutcome:
        current = self._current
        if current is None:
            current = await self._next_entry()
            self._current, self._position = current, 0
        else:  # no wait needed, but a cancelled caller stops here all the same
            await self._cancelled()
        position = self._position
        outcome = current[position]
        if position + 1 < len(current):
            self._position = position + 1
        else:  # the unit is fully reported: its token goes back to the workers
            self._current = None
            assert self._tokens is not None
            self._tokens.release()
        self._plan.account(outcome)
        return outcome

    async def _next_entry(self) -> list[BulkOutcome]:
        if self._group is None:
            raise RuntimeError("use the run as a context manager: async with client.send_many(...)")
        import anyio

        done = self._done
        if done:
            await self._cancelled()
            return done.popleft()
        while not done:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if not self._live:
                if self._spawned or self._stopping:
                    raise StopAsyncIteration
                self._spawn()  # the first worker; each starts the next as work comes
            wake = self._wake = anyio.Event()
            await wake.wait()
        return done.popleft()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._stopping = True
        group = self._group
        assert group is not None
        try:
            if exc_type is None:
                # After a break: calls under way finish; workers between calls stop now.
                # (Cancelled while waiting, the group cancels the calls too.)
                for worker in self._workers:
                    if not worker.calling:
                        worker.scope.cancel()
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
        left: list[BulkOutcome] = []
        if self._current is not None:
            left.extend(self._current[self._position :])
            self._current = None
        for outcomes in self._done:
            left.extend(outcomes)
        self._done.clear()
        left.extend(self._interrupted)
        self._interrupted.clear()
        for outcome in left:
            self._plan.account(outcome, reported=False)
        self._plan.abandon()


async def _not_entered() -> None:
    raise RuntimeError("use the run as a context manager: async with client.send_many(...)")


def _fast(kind: Any, *args: Any) -> Any:
    """``kind(*args, fast_acquire=True)`` (anyio 4.5+: no checkpoint when free), else plain."""
    try:
        return kind(*args, fast_acquire=True)
    except TypeError:
        return kind(*args)


def _as_unknown(error: BaseException) -> AlismsError:
    """An unexpected exception in a worker: the outcome is unknown, and says why."""
    return AlismsError(
        f"the send failed unexpectedly ({type(error).__name__}); its outcome is unknown",
        hint="Check whether the message arrived before sending it again",
    )
