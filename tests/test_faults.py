"""Randomized faults over real HTTP: retries never send a message twice, and never hang.

The sandbox (:class:`alisms._sandbox.Sandbox`, the fake gateway with a nonce
memory like the real one, on 127.0.0.1) serves a few hundred sends from one
:class:`alisms.Client` shared by 8 threads and one :class:`alisms.AsyncClient`
shared by 32 tasks. Every send has its own text, and a seeded random *plan* of
faults: the first request carrying that text gets the plan's first fault, the
next request the second, and so on. The faults are the fake's: a 503 or a
throttling refusal (nothing accepted), an accepted message whose connection is
dropped or whose answer is an HTML page, and an accepted message answered
after the read timeout.

Because each plan belongs to one send, every send's outcome is known in
advance, whatever the threads and tasks interleave: plain refusals are retried
to success (or to the last refusal when they outnumber the tries), and any
fault that swallows an accepted message's answer ends in
:class:`alisms.DeliveryUnknownError` with the message accepted exactly once.
The wire log then shows each retry re-signed while nothing was accepted, and
resent identically once something may have been.

A second test injects faults per request instead, at random, with a short read
timeout for every send: outcomes are then unpredictable, and only the safety
properties are checked.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import queue
import random
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import alisms
from alisms._sandbox import Sandbox
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FakeRequest,
    FakeResponse,
    FakeSMSService,
)

SEED = 20240501
ATTEMPTS = 4
RETRY = alisms.Retry(attempts=ATTEMPTS, backoff_base=0.01, backoff_cap=0.04)
DEADLINE = 8.0
"""Every call's deadline: far above what any plan needs, so it never decides an outcome."""
SHORT = httpx.Timeout(2.0, read=0.2)
"""For sends whose plan stalls an answer: the stall outlasts the read timeout."""
PATIENT = httpx.Timeout(5.0)
"""For the other sends, so that a busy machine cannot turn a slow answer into a timeout."""
STALL = 0.5
"""Seconds a 'delay' fault holds its answer (longer than SHORT's read timeout)."""
HANG = DEADLINE + 10.0
"""A call still running after this long hangs: an upper bound, not a speed claim."""

NO_PACING: dict[str, Any] = (
    {"rate_limits": None} if "rate_limits" in inspect.signature(alisms.Client).parameters else {}
)
"""Client-side rate limiting, where the clients have it, is not what this file tests."""

REFUSALS = ("unavailable", "throttle")
SWALLOWED = ("drop_after_accept", "malformed", "delay")
"""Faults that accept a fresh request and then lose the answer."""
FAULTS = (*REFUSALS, *SWALLOWED)
FAULT_WEIGHTS = (30, 30, 14, 14, 12)
PLAN_LENGTH_WEIGHTS = (40, 28, 16, 10, 6)  # 0 .. ATTEMPTS faults


# -- the gateway's side ----------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One request the sandbox handled: which send, its signature, the fault, the outcome."""

    key: str
    nonce: str | None
    date: str | None
    authorization: str | None
    fault: str | None
    accepted: bool
    code: str | None


@dataclass
class FaultyGateway:
    """Wraps the fake's ``handle``: injects each request's fault and logs what happened.

    ``plans`` maps a send's key (its ``Message`` parameter) to its remaining
    faults; with ``chance`` instead, each request draws a fault at random. The
    lock makes "inject, then handle" one step, so the fault lands on this request.
    """

    service: FakeSMSService
    plans: dict[str, deque[str]] = field(default_factory=dict)
    chance: random.Random | None = None
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.original = self.service.handle
        self.service.handle = self.handle  # type: ignore[method-assign]

    def _draw(self, key: str) -> str | None:
        if self.chance is not None:
            if self.chance.random() < 0.45:
                return self.chance.choices(FAULTS, weights=FAULT_WEIGHTS)[0]
            return None
        plan = self.plans.get(key)
        return plan.popleft() if plan else None

    def handle(self, request: FakeRequest) -> FakeResponse:
        key = dict(parse_qsl(request.body.decode("utf-8"))).get("Message", "")
        with self.lock:
            fault = self._draw(key)
            if fault is not None:
                self.service.inject(fault, seconds=STALL)  # type: ignore[arg-type]
            before = len(self.service.messages)
            response = self.original(request)
            accepted = len(self.service.messages) > before
            try:
                data = json.loads(response.body)
            except ValueError:
                data = {}
            code = data.get("Code") or data.get("ResponseCode") if isinstance(data, dict) else None
            self.hits.append(
                Hit(
                    key=key,
                    nonce=request.header("x-acs-signature-nonce"),
                    date=request.header("x-acs-date"),
                    authorization=request.header("authorization"),
                    fault=fault,
                    accepted=accepted,
                    code=code,
                )
            )
        return response


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(FakeSMSService()) as running:
        # The stdlib server listens with a backlog of 5: 32 tasks connecting at once overflow
        # it, and a connection the kernel then resets looks like an ambiguous failure (the
        # request was written). Safe, but it would spoil the exact outcomes checked here.
        running._server.socket.listen(128)
        yield running
        time.sleep(STALL + 0.1)  # let late answers of 'delay' faults finish first


# -- the sends -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One send: a single text, or a batch of two texts (its key is the Message parameter)."""

    index: int
    plan: tuple[str, ...]
    batch: bool
    short: bool = False
    """Use the short read timeout even without a 'delay' fault in the plan."""

    @property
    def texts(self) -> list[str]:
        if self.batch:
            return [f"batch {self.index} first", f"batch {self.index} second"]
        return [f"send {self.index} ✓"]

    @property
    def key(self) -> str:
        if self.batch:
            return json.dumps(self.texts, ensure_ascii=False, separators=(",", ":"))
        return self.texts[0]

    @property
    def timeout(self) -> httpx.Timeout:
        return SHORT if self.short or "delay" in self.plan else PATIENT

    def call(self, client: Any) -> Any:
        """Start the send on ``client`` (a coroutine for an AsyncClient)."""
        view = client.with_options(timeout=self.timeout)
        if self.batch:
            return view.batch_send_message_to_globe(["6581234567", "447700900123"], self.texts)
        return view.send_message_to_globe("85212345678", self.texts[0])


def make_jobs(rng: random.Random, count: int, first: int) -> list[Job]:
    jobs = []
    for index in range(first, first + count):
        length = rng.choices(range(ATTEMPTS + 1), weights=PLAN_LENGTH_WEIGHTS)[0]
        plan = tuple(rng.choices(FAULTS, weights=FAULT_WEIGHTS, k=length))
        jobs.append(Job(index, plan, batch=rng.random() < 0.1))
    return jobs


def expected_outcome(plan: Sequence[str]) -> type[Exception] | None:
    """What a send with this plan must end in: ``None`` for success, else the error class."""
    ambiguous = False
    for attempt in range(ATTEMPTS):
        fault = plan[attempt] if attempt < len(plan) else None
        if fault is None:
            # A fresh request is accepted; an identical resend is refused as a reused nonce.
            return alisms.DeliveryUnknownError if ambiguous else None
        ambiguous = ambiguous or fault in SWALLOWED
    if ambiguous:
        return alisms.DeliveryUnknownError
    return alisms.ServerError if plan[-1] == "unavailable" else alisms.ThrottlingError


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def client_kwargs(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "access_key_id": DEFAULT_ACCESS_KEY_ID,
        "access_key_secret": DEFAULT_ACCESS_KEY_SECRET,
        "endpoint": sandbox.endpoint,
        "retry": RETRY,
        "deadline": DEADLINE,
        "timeout": PATIENT,
        **NO_PACING,
    }


def run_threads(client: alisms.Client, jobs: list[Job], threads: int) -> dict[int, Outcome]:
    """Run ``jobs`` on one Client from ``threads`` threads; fail if any thread hangs."""
    todo: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    outcomes: dict[int, Outcome] = {}

    def worker() -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            outcome = Outcome()
            started = time.monotonic()
            try:
                outcome.result = job.call(client)
            except Exception as error:  # anything, to report it below
                outcome.error = error
            outcome.seconds = time.monotonic() - started
            outcomes[job.index] = outcome

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    give_up = time.monotonic() + HANG * len(jobs) / threads
    for thread in workers:
        thread.join(max(0.0, give_up - time.monotonic()))
        assert not thread.is_alive(), "a call hung"
    return outcomes


async def run_tasks(client: alisms.AsyncClient, jobs: list[Job], tasks: int) -> dict[int, Outcome]:
    """Run ``jobs`` on one AsyncClient from ``tasks`` tasks; a call past HANG is a failure."""
    todo: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        todo.put_nowait(job)
    outcomes: dict[int, Outcome] = {}

    async def worker() -> None:
        while not todo.empty():
            job = todo.get_nowait()
            outcome = Outcome()
            started = time.monotonic()
            try:
                outcome.result = await asyncio.wait_for(job.call(client), HANG)
            except Exception as error:  # TimeoutError from wait_for included: a hang
                outcome.error = error
            outcome.seconds = time.monotonic() - started
            outcomes[job.index] = outcome

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return outcomes


def run_both(sandbox: Sandbox, sync_jobs: list[Job], async_jobs: list[Job]) -> dict[int, Outcome]:
    """The sync jobs on one Client and 8 threads, then the async ones on one AsyncClient and 32
    tasks; no ResourceWarning (unclosed socket) or unawaited coroutine may show."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with alisms.Client(**client_kwargs(sandbox)) as client:
            outcomes = run_threads(client, sync_jobs, threads=8)

        async def main() -> dict[int, Outcome]:
            async with alisms.AsyncClient(**client_kwargs(sandbox)) as client:
                return await run_tasks(client, async_jobs, tasks=32)

        outcomes.update(asyncio.run(main()))
        gc.collect()
    assert [str(w.message) for w in shown] == []
    return outcomes


# -- the checks ------------------------------------------------------------------------


def check_safety(
    jobs: list[Job], outcomes: dict[int, Outcome], service: FakeSMSService, hits: list[Hit]
) -> None:
    """What must hold whatever the faults: the properties of issue 3."""
    assert sorted(outcomes) == sorted(job.index for job in jobs)
    accepted = Counter(m.text for m in service.messages)
    assert [text for text, count in accepted.items() if count > 1] == []  # never twice
    by_key: dict[str, list[Hit]] = {}
    for hit in hits:
        by_key.setdefault(hit.key, []).append(hit)
    for job in jobs:
        outcome = outcomes[job.index]
        assert outcome.seconds < HANG
        times = {accepted[text] for text in job.texts}
        assert len(times) == 1, f"half a batch accepted: {job}"
        count = times.pop()
        error = outcome.error
        if error is None:
            # A success: accepted exactly once, and the result names what was accepted.
            assert count == 1
            ids = {m.text: m.message_id for m in service.messages}
            if job.batch:
                assert outcome.result.message_ids == [ids[text] for text in job.texts]
            else:
                assert outcome.result.message_id == ids[job.texts[0]]
        else:
            assert isinstance(error, alisms.AlismsError), repr(error)
            if isinstance(error, alisms.DeliveryUnknownError):
                assert count <= 1
            else:
                assert count == 0  # any other error means: not accepted
        # Once a request of this send was accepted, every later one was its identical copy.
        sent = by_key.get(job.key, [])
        first = next((i for i, hit in enumerate(sent) if hit.accepted), None)
        if first is not None:
            signatures = {(h.nonce, h.date, h.authorization) for h in sent[first:]}
            assert len(signatures) == 1, f"re-signed after an acceptance: {job}"
            assert all(not h.accepted for h in sent[first + 1 :])
            assert all(h.code == "SignatureNonceUsed" for h in sent[first + 1 :] if h.fault is None)


def test_planned_faults_through_shared_clients(sandbox: Sandbox) -> None:
    rng = random.Random(SEED)
    sync_jobs = make_jobs(rng, 150, first=0)
    async_jobs = make_jobs(rng, 150, first=1000)
    jobs = sync_jobs + async_jobs
    gateway = FaultyGateway(sandbox.service, plans={j.key: deque(j.plan) for j in jobs})

    outcomes = run_both(sandbox, sync_jobs, async_jobs)

    check_safety(jobs, outcomes, sandbox.service, gateway.hits)
    assert all(not plan for plan in gateway.plans.values()), "every planned fault was used"
    by_key: dict[str, list[Hit]] = {}
    for hit in gateway.hits:
        by_key.setdefault(hit.key, []).append(hit)
    kinds: Counter[str] = Counter()
    for job in jobs:
        outcome = outcomes[job.index]
        expected = expected_outcome(job.plan)
        got = None if outcome.error is None else type(outcome.error)
        assert got is expected, f"{job}: {outcome.error!r}"
        sent = by_key[job.key]
        assert [h.fault for h in sent[: len(job.plan)]] == list(job.plan)
        if expected is not alisms.DeliveryUnknownError:
            # Nothing was ever in doubt: every try was signed anew (plain refusals included).
            assert len({h.nonce for h in sent}) == len(sent)
            assert len(sent) == (len(job.plan) + 1 if expected is None else ATTEMPTS)
            kinds["refused then sent" if job.plan and expected is None else "other"] += 1
        else:
            assert sum(h.accepted for h in sent) == 1  # the first swallowed fault's request
            assert sent[-1].nonce == outcome.error.nonce  # type: ignore[union-attr]
            kinds["unknown"] += 1
    # The plans did exercise every path: retried refusals, and unknown outcomes.
    assert kinds["refused then sent"] >= 20 and kinds["unknown"] >= 20
    assert {fault for job in jobs for fault in job.plan} == set(FAULTS)


def test_random_faults_on_every_request_with_short_timeouts(sandbox: Sandbox) -> None:
    """Faults drawn per request, any send's requests included, and a 0.2 s read timeout for
    every send: a busy machine's slow answer is one more ambiguous failure. Only safety."""
    rng = random.Random(SEED + 1)
    sync_jobs = [Job(i, (), batch=rng.random() < 0.1, short=True) for i in range(60)]
    async_jobs = [Job(i, (), batch=rng.random() < 0.1, short=True) for i in range(1000, 1060)]
    gateway = FaultyGateway(sandbox.service, chance=random.Random(SEED + 2))

    outcomes = run_both(sandbox, sync_jobs, async_jobs)

    check_safety(sync_jobs + async_jobs, outcomes, sandbox.service, gateway.hits)
    errors = Counter(type(o.error).__name__ for o in outcomes.values())
    assert errors["NoneType"] > 0 and errors["DeliveryUnknownError"] > 0, errors


def test_the_plans_are_what_the_model_expects() -> None:
    """The model behind the exact outcomes, on hand-made plans."""
    cases: list[tuple[tuple[str, ...], type[Exception] | None]] = [
        ((), None),
        (("unavailable", "throttle", "unavailable"), None),
        (("throttle",) * ATTEMPTS, alisms.ThrottlingError),
        (("throttle", "throttle", "throttle", "unavailable"), alisms.ServerError),
        (("drop_after_accept",), alisms.DeliveryUnknownError),
        (("unavailable", "delay", "unavailable"), alisms.DeliveryUnknownError),
        (("unavailable",) * (ATTEMPTS - 1) + ("malformed",), alisms.DeliveryUnknownError),
    ]
    for plan, expected in cases:
        assert expected_outcome(plan) is expected, plan
