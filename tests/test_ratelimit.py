"""Client-side rate limits (``alisms._ratelimit``): the limiter alone, then through the clients.

The first half drives :class:`RateLimiter` with explicit ``now`` values: no
clock, no sleeping. The second half sends through
:class:`alisms.testing.FakeSMSService` with a fake clock in place of the
``time`` module the clients use (``monotonic()`` and ``sleep()``), and, for
the async client, a fake ``anyio.sleep`` (or trio's virtual clock): every wait
is recorded and none is real, so the tests assert the schedule itself.
"""

from __future__ import annotations

import math
import sys
import threading
from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import alisms
from alisms import _client
from alisms._errors import ConfigurationError, ThrottlingError
from alisms._ratelimit import DEFAULT_RATE_LIMITS, RateLimiter, limiters
from alisms.testing import FakeSMSService

NOW = 1000.0
"""A monotonic time to start from (any value works; not 0, to catch sign slips)."""
FAST = alisms.Retry(attempts=3, backoff_base=0)
"""Retries without waiting between them."""
SEND = "SendMessageToGlobe"
BATCH = "BatchSendMessageToGlobe"
HANG = 10.0
"""Seconds after which something is said to hang: an upper bound, never a speed claim."""


def number(i: int) -> str:
    return f"8521{i:07d}"


def book(limiter: RateLimiter, times: list[float]) -> list[float]:
    """Reserve one slot at each of ``times``; return when each call may go (now + wait)."""
    return [now + limiter.reserve(now) for now in times]


# -- the limiter on its own -------------------------------------------------------------


def test_the_defaults_are_the_documented_account_limits() -> None:
    assert DEFAULT_RATE_LIMITS[SEND] == 2000.0
    assert DEFAULT_RATE_LIMITS[BATCH] == 1.0


def test_the_first_call_goes_at_once() -> None:
    assert RateLimiter(10.0).reserve(NOW) == 0.0
    assert RateLimiter(1.0).reserve(NOW) == 0.0


def test_calls_at_the_same_moment_get_evenly_spaced_slots() -> None:
    limiter = RateLimiter(10.0)
    waits = [limiter.reserve(NOW) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_a_caller_that_waited_for_its_slot_finds_the_next_one() -> None:
    limiter = RateLimiter(10.0)
    assert limiter.reserve(NOW) == 0.0
    assert limiter.reserve(NOW + 0.1) == pytest.approx(0.0)
    assert limiter.reserve(NOW + 0.15) == pytest.approx(0.05)
    assert limiter.reserve(NOW + 0.15) == pytest.approx(0.15)


def test_idle_time_is_not_banked_below_100_per_second() -> None:
    limiter = RateLimiter(10.0)
    limiter.reserve(NOW)
    later = NOW + 3600.0
    assert [limiter.reserve(later) for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])


@pytest.mark.parametrize("rate", [100.0, 2000.0])
def test_fast_limits_allow_a_small_burst(rate: float) -> None:
    """From 100/s, a burst may use 0.01 s of unused schedule: rate / 100 extra calls, no more."""
    limiter = RateLimiter(rate)
    extra = round(rate * 0.01)
    waits = [limiter.reserve(NOW) for _ in range(extra + 5)]
    free = [w for w in waits if w < 1e-9]
    assert len(free) == extra + 1
    assert waits[extra + 1 :] == pytest.approx([k / rate for k in range(1, 5)])
    # The slack is the same after an hour of idling: it is never banked beyond 0.01 s.
    later = NOW + 3600.0
    again = [limiter.reserve(later) for _ in range(extra + 5)]
    assert again == pytest.approx(waits, abs=1e-9)


@pytest.mark.parametrize("rate", [1.0, 2.0, 99.0])
def test_slow_limits_have_no_burst_slack(rate: float) -> None:
    limiter = RateLimiter(rate)
    assert [limiter.reserve(NOW) for _ in range(3)] == pytest.approx([0, 1 / rate, 2 / rate])


def test_two_batch_calls_are_always_at_least_a_second_apart() -> None:
    limiter = limiters({})[BATCH]
    assert limiter.rate == 1.0
    goes = book(limiter, [NOW, NOW, NOW + 0.5, NOW + 0.999, NOW + 10.0, NOW + 10.0, NOW + 10.2])
    assert all(b - a >= 1.0 - 1e-9 for a, b in pairwise(goes))
    assert goes == pytest.approx(
        [NOW, NOW + 1, NOW + 2, NOW + 3, NOW + 10.0, NOW + 11.0, NOW + 12.0]
    )


@settings(max_examples=150, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=5000.0),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=1, max_size=40),
)
def test_no_window_holds_more_calls_than_the_rate_allows(rate: float, gaps: list[float]) -> None:
    """Calls j - i apart in the schedule go at least (j - i) / rate apart, less the slack."""
    limiter = RateLimiter(rate)
    now, times = NOW, []
    for gap in gaps:
        now += gap
        times.append(now)
    goes = book(limiter, times)
    slack = 0.01 if rate >= 100 else 0.0
    assert all(go >= now_ for go, now_ in zip(goes, times, strict=True))
    for (i, a), (j, b) in combinations(enumerate(goes), 2):
        assert b - a >= (j - i) / rate - slack - 1e-9


def test_throttling_halves_the_rate_down_to_a_64th() -> None:
    limiter = RateLimiter(2000.0)
    seen = []
    for _ in range(8):
        limiter.throttled()
        seen.append(limiter.current)
    assert seen == [1000.0, 500.0, 250.0, 125.0, 62.5, 31.25, 31.25, 31.25]
    assert limiter.rate == 2000.0


def test_throttling_one_per_second_stops_at_a_64th() -> None:
    limiter = RateLimiter(1.0)
    for _ in range(20):
        limiter.throttled()
    assert limiter.current == 1 / 64


def test_a_throttled_limiter_spaces_its_slots_at_the_lower_rate() -> None:
    limiter = RateLimiter(10.0)
    assert limiter.reserve(NOW) == 0.0  # books NOW + 0.1 at 10/s
    limiter.throttled()  # 5/s from now on
    assert [limiter.reserve(NOW) for _ in range(3)] == pytest.approx([0.1, 0.3, 0.5])


def test_throttled_below_100_per_second_loses_the_burst_slack() -> None:
    limiter = RateLimiter(150.0)
    limiter.throttled()
    assert limiter.current == 75.0
    assert [limiter.reserve(NOW) for _ in range(2)] == pytest.approx([0.0, 1 / 75])


def test_successes_win_back_one_percent_each_up_to_the_rate() -> None:
    limiter = RateLimiter(2000.0)
    limiter.throttled()
    assert limiter.current == 1000.0
    climb = []
    for _ in range(60):
        limiter.succeeded()
        climb.append(limiter.current)
    assert climb[:3] == [1020.0, 1040.0, 1060.0]
    assert climb[49] == 2000.0  # 50 successes from half the rate
    assert climb[50:] == [2000.0] * 10  # never above the configured rate


def test_success_at_the_full_rate_changes_nothing() -> None:
    limiter = RateLimiter(10.0)
    limiter.succeeded()
    assert limiter.current == 10.0


def test_from_the_floor_recovery_takes_a_hundred_successes_at_most() -> None:
    limiter = RateLimiter(100.0)
    for _ in range(10):
        limiter.throttled()
    assert limiter.current == 100.0 / 64
    for _ in range(98):
        limiter.succeeded()
    assert limiter.current < 100.0
    limiter.succeeded()
    assert limiter.current == 100.0


@pytest.mark.parametrize(
    "rate", [0, 0.0, -1.0, float("nan"), -float("inf"), True, False, "10", None, [10]]
)
def test_invalid_rates_are_refused(rate: Any) -> None:
    with pytest.raises(ConfigurationError, match="calls per second"):
        RateLimiter(rate)


def test_limiters_default_to_the_documented_limits() -> None:
    built = limiters(DEFAULT_RATE_LIMITS)
    assert {action: limiter.rate for action, limiter in built.items()} == dict(DEFAULT_RATE_LIMITS)
    assert {a: lim.rate for a, lim in limiters({}).items()} == dict(DEFAULT_RATE_LIMITS)


def test_limiters_override_one_action_and_keep_the_others() -> None:
    built = limiters({SEND: 10.0})
    assert built[SEND].rate == 10.0
    assert built[BATCH].rate == 1.0
    assert built["QueryMessage"].rate == DEFAULT_RATE_LIMITS["QueryMessage"]


def test_none_for_an_action_turns_its_limit_off() -> None:
    built = limiters({BATCH: None})
    assert BATCH not in built
    assert built[SEND].rate == 2000.0


def test_none_turns_every_limit_off() -> None:
    assert limiters(None) == {}


def test_each_set_of_limiters_is_new() -> None:
    assert limiters({})[SEND] is not limiters({})[SEND]


@pytest.mark.parametrize("value", [10.0, [(SEND, 10.0)], "SendMessageToGlobe"])
def test_limiters_need_a_mapping(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="mapping"):
        limiters(value)


@pytest.mark.parametrize("rate", [0, -5, "fast", True])
def test_limiters_refuse_a_bad_rate(rate: Any) -> None:
    with pytest.raises(ConfigurationError):
        limiters({SEND: rate})


def test_many_threads_share_one_schedule() -> None:
    """8 threads booking 250 slots each at one moment: 2,000 distinct slots, 1/50 s apart."""
    limiter = RateLimiter(50.0)
    threads_n, each = 8, 250
    barrier = threading.Barrier(threads_n)
    lock = threading.Lock()
    waits: list[float] = []

    def book_many() -> None:
        barrier.wait(timeout=HANG)
        mine = [limiter.reserve(NOW) for _ in range(each)]
        with lock:
            waits.extend(mine)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=book_many) for _ in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG)
    finally:
        sys.setswitchinterval(old)
    count = threads_n * each
    assert sorted(waits) == pytest.approx([k / 50.0 for k in range(count)], abs=1e-6)
    # The whole booked span is count / rate: the next free slot is 40 s away.
    assert limiter.reserve(NOW) == pytest.approx(count / 50.0, abs=1e-6)


def test_concurrent_successes_are_all_counted() -> None:
    limiter = RateLimiter(100.0)
    for _ in range(10):
        limiter.throttled()
    floor = limiter.current
    barrier = threading.Barrier(8)

    def succeed() -> None:
        barrier.wait(timeout=HANG)
        for _ in range(10):
            limiter.succeeded()

    threads = [threading.Thread(target=succeed) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)
    assert limiter.current == pytest.approx(floor + 80 * 1.0)


# -- through the clients, with a fake clock ----------------------------------------------


class FakeClock:
    """Stands in for the ``time`` module in ``alisms._client``: ``monotonic()`` and ``sleep()``.

    ``sleep(s)`` records ``s`` and moves the clock on by ``s``; a ``frozen``
    clock records without moving, so every call books its slot at one moment.
    """

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = NOW
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

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.sleep(0)  # still a checkpoint, as anyio.sleep is

    @property
    def rate_waits(self) -> list[float]:
        """The waits that were not zero (retries with ``backoff_base=0`` sleep 0)."""
        return [w for w in self.waits if w > 0]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock in place of ``time`` and ``anyio.sleep`` in ``alisms._client``."""
    fake_clock = FakeClock()
    patch_clock(monkeypatch, fake_clock)
    return fake_clock


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock that never moves: every slot is booked at one moment."""
    fake_clock = FakeClock(frozen=True)
    patch_clock(monkeypatch, fake_clock)
    return fake_clock


def patch_clock(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> None:
    monkeypatch.setattr(_client, "time", fake_clock)
    # alisms._client uses anyio only for anyio.sleep; the anyio module itself is left alone.
    monkeypatch.setattr(_client, "_async_sleep", fake_clock.async_sleep)


def test_the_clients_default_to_the_documented_limits() -> None:
    with alisms.Client(access_key_id="id", access_key_secret="secret") as client:
        limits = client._settings.limits
        assert {a: lim.rate for a, lim in limits.items()} == dict(DEFAULT_RATE_LIMITS)
    client_async = alisms.AsyncClient(access_key_id="id", access_key_secret="secret")
    assert {a: lim.rate for a, lim in client_async._settings.limits.items()} == dict(
        DEFAULT_RATE_LIMITS
    )
    anyio.run(client_async.aclose)


def test_the_fake_clients_default_to_no_limit() -> None:
    fake = FakeSMSService()
    with fake.client() as client:
        assert client._settings.limits == {}


def test_a_bad_rate_limit_is_refused_when_the_client_is_built() -> None:
    with pytest.raises(ConfigurationError):
        alisms.Client(access_key_id="id", access_key_secret="secret", rate_limits={SEND: 0})
    with pytest.raises(ConfigurationError):
        alisms.AsyncClient(access_key_id="id", access_key_secret="secret", rate_limits=5)


def test_sync_sends_wait_for_their_slots(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}) as client:
        for i in range(20):
            client.send_message_to_globe(number(i), "hi")
    assert len(fake.messages) == 20
    assert clock.waits == pytest.approx([0.1] * 19)
    assert math.fsum(clock.waits) == pytest.approx(1.9)
    assert clock.now - NOW == pytest.approx(1.9)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_sends_wait_for_their_slots(clock: FakeClock, backend: str) -> None:
    fake = FakeSMSService()

    async def main() -> None:
        async with fake.async_client(rate_limits={SEND: 10.0}) as client:
            for i in range(20):
                await client.send_message_to_globe(number(i), "hi")

    anyio.run(main, backend=backend)
    assert len(fake.messages) == 20
    assert clock.waits == pytest.approx([0.1] * 19)
    assert clock.now - NOW == pytest.approx(1.9)


def test_batch_calls_go_a_second_apart_by_default(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits=DEFAULT_RATE_LIMITS) as client:
        for i in range(3):
            client.batch_send_message_to_globe([number(i), number(i + 100)], "hi")
    assert clock.waits == pytest.approx([1.0, 1.0])
    assert len(fake.messages) == 6


def test_single_sends_at_2000_per_second_burst_without_waiting(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits=DEFAULT_RATE_LIMITS) as client:
        for i in range(15):
            client.send_message_to_globe(number(i), "hi")
    assert clock.waits == []


def test_a_limit_turned_off_never_waits_while_others_still_do(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: None, BATCH: 2.0}) as client:
        assert SEND not in client._settings.limits
        for i in range(30):
            client.send_message_to_globe(number(i), "hi")
        assert clock.waits == []
        client.batch_send_message_to_globe([number(1)], "hi")
        client.batch_send_message_to_globe([number(2)], "hi")
    assert clock.waits == pytest.approx([0.5])


def test_send_many_inline_is_paced(clock: FakeClock) -> None:
    fake = FakeSMSService()
    messages = [(number(i), f"hi {i}") for i in range(20)]
    with (
        fake.client(rate_limits={SEND: 10.0}) as client,
        client.send_many(messages, concurrency=1) as run,
    ):
        statuses = [outcome.status for outcome in run]
    assert statuses == ["sent"] * 20
    assert math.fsum(clock.waits) == pytest.approx(1.9)


def test_concurrent_sync_calls_share_one_schedule(frozen: FakeClock) -> None:
    """40 sends from 8 threads at one frozen moment: 39 waits, one per slot, 0.1 s apart."""
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}) as client:
        barrier = threading.Barrier(8)

        def send(base: int) -> None:
            barrier.wait(timeout=HANG)
            for i in range(5):
                client.send_message_to_globe(number(base + i), "hi")

        threads = [threading.Thread(target=send, args=(10 * t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG)
    assert len(fake.messages) == 40
    assert sorted(frozen.waits) == pytest.approx([k / 10 for k in range(1, 40)])


def test_send_many_threads_share_one_schedule(frozen: FakeClock) -> None:
    fake = FakeSMSService()
    messages = [(number(i), "hi") for i in range(40)]
    with (
        fake.client(rate_limits={SEND: 10.0}) as client,
        client.send_many(messages, concurrency=8) as run,
    ):
        statuses = {outcome.status for outcome in run}
    assert statuses == {"sent"}
    assert sorted(frozen.waits) == pytest.approx([k / 10 for k in range(1, 40)])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_send_many_tasks_share_one_schedule(frozen: FakeClock, backend: str) -> None:
    fake = FakeSMSService()
    messages = [(number(i), "hi") for i in range(40)]

    async def main() -> set[str]:
        async with (
            fake.async_client(rate_limits={SEND: 10.0}) as client,
            client.send_many(messages, concurrency=8) as run,
        ):
            return {outcome.status async for outcome in run}

    assert anyio.run(main, backend=backend) == {"sent"}
    assert sorted(frozen.waits) == pytest.approx([k / 10 for k in range(1, 40)])


def test_in_virtual_time_no_two_sends_are_closer_than_the_rate() -> None:
    """Trio's virtual clock runs a concurrent campaign at 10/s: 1.9 s of virtual time, none real."""
    start = datetime.now(UTC)

    def fake_now() -> datetime:
        return start + timedelta(seconds=trio.current_time())

    fake = FakeSMSService(clock=fake_now)

    async def main() -> float:
        async with (
            fake.async_client(rate_limits={SEND: 10.0}) as client,
            client.send_many([(number(i), "hi") for i in range(20)]) as run,
        ):
            assert {o.status async for o in run} == {"sent"}
        return trio.current_time()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_client, "time", SimpleNamespace(monotonic=trio.current_time))
        elapsed = anyio.run(
            main,
            backend="trio",
            backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
        )
    assert elapsed == pytest.approx(1.9)
    accepted = sorted(m.accepted_at for m in fake.messages)
    gaps = [(b - a).total_seconds() for a, b in pairwise(accepted)]
    assert len(accepted) == 20
    assert min(gaps) >= 0.1 - 1e-3  # datetimes keep microseconds


def test_a_throttling_answer_slows_the_client_down(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}, retry=FAST) as client:
        limiter = client._settings.limits[SEND]
        fake.inject("throttle")
        client.send_message_to_globe(number(1), "hi")  # throttled, then sent on the retry
        assert limiter.current == pytest.approx(5.1)  # halved, then one success back
        client.send_message_to_globe(number(2), "hi")
        assert limiter.current == pytest.approx(5.2)
    # The retry waited for the slot booked at 10/s (0.1 s); the next send, booked at 5/s
    # after the throttling, waited 0.2 s.
    assert clock.rate_waits == pytest.approx([0.1, 0.2])
    assert len(fake.messages) == 2


def test_successes_raise_the_rate_back_to_the_limit(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}, retry=FAST) as client:
        limiter = client._settings.limits[SEND]
        fake.inject("throttle")
        client.send_message_to_globe(number(0), "hi")
        for i in range(1, 49):
            client.send_message_to_globe(number(i), "hi")
        assert limiter.current == pytest.approx(9.9)
        client.send_message_to_globe(number(49), "hi")
        client.send_message_to_globe(number(50), "hi")
        assert limiter.current == 10.0


def test_a_throttling_error_that_is_not_retried_still_lowers_the_rate(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}, retry=False) as client:
        fake.inject("throttle", times=2)
        for _ in range(2):
            with pytest.raises(ThrottlingError):
                client.send_message_to_globe(number(1), "hi")
        assert client._settings.limits[SEND].current == 2.5
    assert fake.messages == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_throttling_answer_slows_the_async_client_down(clock: FakeClock, backend: str) -> None:
    fake = FakeSMSService()

    async def main() -> float:
        async with fake.async_client(rate_limits={SEND: 10.0}, retry=FAST) as client:
            fake.inject("throttle")
            await client.send_message_to_globe(number(1), "hi")
            await client.send_message_to_globe(number(2), "hi")
            return client._settings.limits[SEND].current

    assert anyio.run(main, backend=backend) == pytest.approx(5.2)
    assert clock.rate_waits == pytest.approx([0.1, 0.2])


def test_throttling_in_a_bulk_run_slows_the_rest_of_the_run(frozen: FakeClock) -> None:
    fake = FakeSMSService()
    messages = [(number(i), "hi") for i in range(10)]
    retry = alisms.Retry(attempts=4, backoff_base=0)
    with fake.client(rate_limits={SEND: 10.0}, retry=retry) as client:
        fake.inject("throttle", times=3)
        with client.send_many(messages, concurrency=1) as run:
            statuses = [outcome.status for outcome in run]
        limiter = client._settings.limits[SEND]
        # Three halvings (10 -> 1.25/s), then one percent back per success.
        assert limiter.current == pytest.approx(1.25 + 10 * 0.1)
    assert statuses == ["sent"] * 10
    assert len(fake.messages) == 10


def test_clones_from_with_options_share_the_limiter(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}) as client:
        clone = client.with_options(retry=False, timeout=3.0, deadline=None)
        assert clone._settings.limits[SEND] is client._settings.limits[SEND]
        clone.send_message_to_globe(number(1), "hi")
        client.send_message_to_globe(number(2), "hi")  # waits for the slot after the clone's
        assert clock.waits == pytest.approx([0.1])
        fake.inject("throttle")
        with pytest.raises(ThrottlingError):
            clone.send_message_to_globe(number(3), "hi")
        assert client._settings.limits[SEND].current == 5.0


def test_separate_clients_do_not_share_a_limiter(clock: FakeClock) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 10.0}) as one, fake.client(rate_limits={SEND: 10.0}) as two:
        one.send_message_to_globe(number(1), "hi")
        two.send_message_to_globe(number(2), "hi")
    assert clock.waits == []


def test_the_first_wait_is_queueing_and_does_not_count_against_the_deadline(
    frozen: FakeClock,
) -> None:
    fake = FakeSMSService()
    with fake.client(rate_limits={SEND: 1.0}, deadline=2.5, retry=False) as client:
        for i in range(4):
            client.send_message_to_globe(number(i), "hi")  # waits 0, 1, 2, then 3 s
    assert frozen.waits == [1.0, 2.0, 3.0]
    assert [m.to for m in fake.messages] == [number(i) for i in range(4)]


def test_a_retry_with_no_slot_before_the_deadline_ends_with_the_real_error_unbooked(
    frozen: FakeClock,
) -> None:
    fake = FakeSMSService()
    fake.inject("unavailable")  # the first attempt gets a 503 and would be retried
    fast = alisms.Retry(backoff_base=0)
    with fake.client(rate_limits={SEND: 1.0}, deadline=0.5, retry=fast) as client:
        with pytest.raises(alisms.ServerError) as caught:
            client.send_message_to_globe(number(0), "hi")  # the retry's slot is 1 s away
        assert caught.value.code == "ServiceUnavailable"
        assert fake.messages == []
        # The refused retry booked nothing: the next call takes the slot at +1 s.
        client.send_message_to_globe(number(1), "hi")
    assert frozen.waits == [1.0]
    assert [m.to for m in fake.messages] == [number(1)]
