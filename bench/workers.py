"""The measured side of the benchmark: each run is one fresh process of this script.

``bench.py`` starts ``python bench/workers.py JOB ...`` once per contender and
round, so every measurement has a process of its own (its CPU time is the
client's alone) and no contender inherits another's state. A job prints one
JSON object on its last line of output.

Jobs:

* ``signing``: every signing contender, interleaved over rounds, in one process.
* ``sync CONTENDER``: ``alisms`` (:class:`alisms.Client`) or ``httpx`` (a bare
  :class:`httpx.Client` posting one pre-built signed request), one request at
  a time for a fixed duration.
* ``async CONTENDER``: ``alisms-httpx`` (:class:`alisms.AsyncClient` on
  httpx's default transport), ``httpx``, ``alisms-direct``
  (``AsyncClient(transport="aiohttp")``, the fast path), ``aiohttp`` (a bare
  ``aiohttp.ClientSession``) or ``alisms-aiohttp``
  (``AsyncClient(transport=AiohttpTransport())``) at a given concurrency
  (tasks sending back to back) for a fixed duration; ``httpx-aiohttp`` (a
  bare ``httpx.AsyncClient`` over ``AiohttpTransport``) shows what httpx's
  own layer costs.
* ``bulk MODE``: ``send_many`` on ``Client`` (``sync``) or ``AsyncClient``
  (``async``, on the default transport, ``--transport aiohttp`` for the
  direct aiohttp path or ``httpx-aiohttp`` for httpx-aiohttp's transport) for
  a campaign of N messages at a rate limit, stopped if it overruns a time
  limit.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import resource
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

KEY_ID = "bench-fake-key-id"
SECRET = "BenchmarkSecret0123456789abcdef"  # noqa: S105 - a fake credential for a local server
HOST = "dysmsapi.ap-southeast-1.aliyuncs.com"
TO = "85212345678"
TEXT = "Your code is 123456"
FORM = "application/x-www-form-urlencoded"
BODY = b"Message=Your%20code%20is%20123456&To=85212345678&Type=OTP"
"""The form body alisms sends for ``send_message_to_globe(TO, TEXT, type="OTP")``."""
DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NONCE = "0123456789abcdef0123456789abcdef"
EXTRA_HEADERS = {
    "x-acs-action": "SendMessageToGlobe",
    "x-acs-version": "2018-05-01",
    "accept": "application/json",
    "user-agent": "alisms-bench",
}
SIGNED_HEADERS = (
    "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
    "x-acs-signature-nonce;x-acs-version"
)


def emit(result: dict[str, Any]) -> None:
    """Print the job's result: one JSON line, the last of the output."""
    print(json.dumps(result), flush=True)


def cpu_seconds() -> float:
    """CPU time of this process, every thread, user plus system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB (as Linux reports it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def client_options(client_class: type, port: int) -> dict[str, Any]:
    """Constructor arguments for an alisms client on the local server.

    Fake credentials, the local endpoint, no retries and, where the client
    has one, no client-side rate limit (it would cap throughput at the
    account limit, which is not what these runs measure).
    """
    import inspect

    options: dict[str, Any] = {
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "endpoint": f"http://127.0.0.1:{port}",
        "retry": False,
    }
    if "rate_limits" in inspect.signature(client_class).parameters:
        options["rate_limits"] = None
    return options


def prebuilt_request(port: int) -> tuple[str, dict[str, str], bytes]:
    """One request signed as alisms signs it: the URL, headers and body the floors resend."""
    from alisms import signing

    signed = signing.sign_request(
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        method="POST",
        host=f"127.0.0.1:{port}",
        date=datetime.now(UTC),
        nonce=NONCE,
        headers=EXTRA_HEADERS,
        body=BODY,
        content_type=FORM,
    )
    return f"http://127.0.0.1:{port}/", dict(signed.headers), signed.body


# -- signing ----------------------------------------------------------------------


def _canonical(payload_hash: str, date: datetime) -> str:
    stamp = date.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"POST\n/\n\ncontent-type:{FORM}\nhost:{HOST}\nx-acs-action:SendMessageToGlobe\n"
        f"x-acs-content-sha256:{payload_hash}\nx-acs-date:{stamp}\n"
        f"x-acs-signature-nonce:{NONCE}\nx-acs-version:2018-05-01\n\n"
        f"{SIGNED_HEADERS}\n{payload_hash}"
    )


def _authorization(algorithm: str, signature: str) -> str:
    return f"{algorithm} Credential={KEY_ID},SignedHeaders={SIGNED_HEADERS},Signature={signature}"


def floor_hmac_sha256(secret: str, date: datetime, body: bytes) -> str:
    """The same Authorization as alisms, computed with hashlib and hmac and nothing else."""
    payload = hashlib.sha256(body).hexdigest()
    canonical = _canonical(payload, date)
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return _authorization("ACS3-HMAC-SHA256", signature)


def floor_hmac_sm3(secret: str, date: datetime, body: bytes) -> str:
    """The same Authorization with cryptography's SM3 hash and HMAC used directly."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    digest = hashes.Hash(hashes.SM3())
    digest.update(body)
    payload = digest.finalize().hex()
    canonical = _canonical(payload, date)
    digest = hashes.Hash(hashes.SM3())
    digest.update(canonical.encode())
    to_sign = "ACS3-HMAC-SM3\n" + digest.finalize().hex()
    mac = crypto_hmac.HMAC(secret.encode(), hashes.SM3())
    mac.update(to_sign.encode())
    return _authorization("ACS3-HMAC-SM3", mac.finalize().hex())


def make_floor_rsa(pem: str) -> Callable[[str, datetime, bytes], str]:
    """The RSA floor: hashlib for SHA-256, cryptography's sign with the key loaded once."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)

    def floor_rsa_sha256(secret: str, date: datetime, body: bytes) -> str:
        payload = hashlib.sha256(body).hexdigest()
        canonical = _canonical(payload, date)
        to_sign = "ACS3-RSA-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        signature = key.sign(to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
        return _authorization("ACS3-RSA-SHA256", signature.hex())

    return floor_rsa_sha256


def make_alisms_signer(algorithm: str) -> Callable[[str, datetime, bytes], str]:
    """The public signer of alisms, with the arguments the client passes it."""
    from alisms import signing

    checked = signing.check_algorithm(algorithm)

    def alisms_sign(secret: str, date: datetime, body: bytes) -> str:
        return signing.sign_request(
            access_key_id=KEY_ID,
            access_key_secret=secret,
            method="POST",
            host=HOST,
            date=date,
            nonce=NONCE,
            headers=EXTRA_HEADERS,
            body=body,
            content_type=FORM,
            algorithm=checked,
        ).authorization

    return alisms_sign


def rsa_pem() -> str:
    """A fresh 2048-bit RSA private key in PKCS#8 PEM, as a ``ACS3-RSA-SHA256`` secret."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _time_batch(fn: Callable[[str, datetime, bytes], str], secret: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(secret, DATE, BODY)
    return (time.perf_counter() - start) / n * 1e6


def job_signing(rounds: int, batch_seconds: float) -> None:
    """Microseconds per signature for every algorithm, alisms and floor interleaved."""
    pem = rsa_pem()
    contenders: list[tuple[str, str, str, Callable[[str, datetime, bytes], str]]] = [
        ("ACS3-HMAC-SHA256", "alisms", SECRET, make_alisms_signer("ACS3-HMAC-SHA256")),
        ("ACS3-HMAC-SHA256", "floor", SECRET, floor_hmac_sha256),
        ("ACS3-HMAC-SM3", "alisms", SECRET, make_alisms_signer("ACS3-HMAC-SM3")),
        ("ACS3-HMAC-SM3", "floor", SECRET, floor_hmac_sm3),
        ("ACS3-RSA-SHA256", "alisms", pem, make_alisms_signer("ACS3-RSA-SHA256")),
        ("ACS3-RSA-SHA256", "floor", pem, make_floor_rsa(pem)),
    ]
    # Each floor must compute exactly the signature alisms computes.
    for algorithm in ("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "ACS3-RSA-SHA256"):
        outputs = {fn(secret, DATE, BODY) for alg, _, secret, fn in contenders if alg == algorithm}
        if len(outputs) != 1:
            raise SystemExit(f"the {algorithm} floor disagrees with alisms: {outputs}")
    # Calibrate: enough calls per batch to take about batch_seconds.
    sizes = []
    for _, _, secret, fn in contenders:
        per_call = _time_batch(fn, secret, 20) / 1e6
        sizes.append(max(5, int(batch_seconds / per_call)))
    samples: dict[str, list[float]] = {f"{a}|{w}": [] for a, w, _, _ in contenders}
    for r in range(rounds):
        order = list(range(len(contenders)))
        shift = r % len(order)
        for i in order[shift:] + order[:shift]:
            algorithm, who, secret, fn = contenders[i]
            samples[f"{algorithm}|{who}"].append(_time_batch(fn, secret, sizes[i]))
    emit(
        {
            "median_us": {k: statistics.median(v) for k, v in samples.items()},
            "samples_us": samples,
        }
    )


# -- request throughput ----------------------------------------------------------


def job_sync(contender: str, port: int, warmup: float, duration: float) -> None:
    """Requests per second and CPU per request of one blocking contender."""
    import httpx

    send: Callable[[], object]
    if contender == "alisms":
        import alisms

        client = alisms.Client(**client_options(alisms.Client, port))
        result = client.send_message_to_globe(TO, TEXT, type="OTP")
        assert result.message_id, result

        def send() -> object:
            return client.send_message_to_globe(TO, TEXT, type="OTP")

        close = client.close
    elif contender == "httpx":
        url, headers, body = prebuilt_request(port)
        bare = httpx.Client()

        def send() -> object:
            response = bare.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            return response.content

        close = bare.close
    elif contender == "httpx-tuned":
        # The two httpx settings alisms's own client uses: the URL parsed once
        # (httpx parses a str URL on every request) and a jar that keeps no
        # cookies (httpx runs every answer through http.cookiejar).
        from alisms._transport import NoCookies

        url, headers, body = prebuilt_request(port)
        target = httpx.URL(url)
        bare = httpx.Client(cookies=NoCookies())

        def send() -> object:
            response = bare.post(target, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            return response.content

        close = bare.close
    else:
        raise SystemExit(f"unknown sync contender {contender!r}")

    def drive(seconds: float) -> int:
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            send()
            done += 1
        return done

    warm = drive(warmup)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    done = drive(duration)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    close()
    emit({"requests": done, "wall": wall, "cpu": cpu, "served": warm + done + 1})


def use_loop(name: str) -> str:
    """Install the event loop named ``name`` (``uvloop`` when installed, else asyncio)."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return "asyncio"
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        return "uvloop"
    return "asyncio"


async def _async_sender(
    contender: str, port: int
) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
    if contender in ("alisms-httpx", "alisms-aiohttp", "alisms-direct"):
        import alisms

        options = client_options(alisms.AsyncClient, port)
        if contender == "alisms-aiohttp":
            from httpx_aiohttp import AiohttpTransport

            options["transport"] = AiohttpTransport()
        elif contender == "alisms-direct":
            options["transport"] = "aiohttp"
        client = alisms.AsyncClient(**options)
        result = await client.send_message_to_globe(TO, TEXT, type="OTP")
        assert result.message_id, result

        async def send_alisms() -> object:
            return await client.send_message_to_globe(TO, TEXT, type="OTP")

        return send_alisms, client.aclose
    url, headers, body = prebuilt_request(port)
    if contender in ("httpx", "httpx-aiohttp"):
        import httpx

        if contender == "httpx":
            bare = httpx.AsyncClient()
        else:
            from httpx_aiohttp import AiohttpTransport

            bare = httpx.AsyncClient(transport=AiohttpTransport())

        async def send_httpx() -> object:
            response = await bare.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            return response.content

        return send_httpx, bare.aclose
    if contender == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession()

        async def send_aiohttp() -> object:
            async with session.post(url, data=body, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                return await response.read()

        return send_aiohttp, session.close
    raise SystemExit(f"unknown async contender {contender!r}")


async def _async_run(
    contender: str, port: int, concurrency: int, warmup: float, duration: float
) -> dict[str, Any]:
    send, close = await _async_sender(contender, port)

    async def drive(seconds: float) -> int:
        deadline = time.perf_counter() + seconds

        async def worker() -> int:
            done = 0
            while time.perf_counter() < deadline:
                await send()
                done += 1
            return done

        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))

    warm = await drive(warmup)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    done = await drive(duration)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    await close()
    return {"requests": done, "wall": wall, "cpu": cpu, "served": warm + done + 1}


def job_async(
    contender: str, port: int, concurrency: int, warmup: float, duration: float, loop: str
) -> None:
    """Requests per second and CPU per request of one asyncio contender at a concurrency."""
    used = use_loop(loop)
    result = asyncio.run(_async_run(contender, port, concurrency, warmup, duration))
    result["loop"] = used
    emit(result)


# -- bulk sending ----------------------------------------------------------------


def campaign(n: int) -> Iterator[tuple[str, str]]:
    """``n`` messages to distinct Hong Kong numbers, made lazily (memory independent of n)."""
    for i in range(n):
        yield f"852{50000000 + i}", TEXT


def job_bulk(
    mode: str,
    port: int,
    n: int,
    rate: float,
    concurrency: int,
    loop: str,
    transport: str,
    time_limit: float,
) -> None:
    """Time, CPU and peak memory of ``send_many`` for ``n`` messages at ``rate`` per second.

    A campaign still running after ``time_limit`` seconds is stopped (the
    loop breaks; calls in flight finish) and reported as such, so a slow
    client cannot stretch the benchmark.
    """
    import alisms

    client_class = alisms.Client if mode == "sync" else alisms.AsyncClient
    if not hasattr(client_class, "send_many"):
        emit({"skipped": f"alisms.{client_class.__name__}.send_many does not exist yet"})
        return
    options = client_options(client_class, port)
    options.pop("retry")
    options["rate_limits"] = {"SendMessageToGlobe": rate}
    if mode == "sync":
        result = _bulk_sync(alisms, options, n, concurrency, time_limit)
    else:
        used = use_loop(loop)
        result = asyncio.run(_bulk_async(alisms, options, n, concurrency, transport, time_limit))
        result["loop"] = used
    result.update(n=n, rate=rate, concurrency=concurrency, transport=transport)
    emit(result)


def _bulk_sync(
    alisms: Any, options: dict[str, Any], n: int, concurrency: int, time_limit: float
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    stopped = False
    with alisms.Client(**options) as client:
        client.send_message_to_globe(TO, TEXT)  # warm: connection, imports, first parse
        time.sleep(0.1)  # let the limiter's slack refill
        rss0, cpu0, wall0 = peak_rss_kib(), cpu_seconds(), time.perf_counter()
        give_up = wall0 + time_limit
        with client.send_many(campaign(n), concurrency=concurrency) as run:
            for outcome in run:
                statuses[outcome.status] += 1
                if time.perf_counter() > give_up:
                    stopped = True
                    break
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_before_kib": rss0,
        "rss_peak_kib": peak_rss_kib(),
        "statuses": dict(statuses),
        "stopped": stopped,
    }


async def _bulk_async(
    alisms: Any,
    options: dict[str, Any],
    n: int,
    concurrency: int,
    transport: str,
    time_limit: float,
) -> dict[str, Any]:
    if transport == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        options["transport"] = AiohttpTransport()
    elif transport == "aiohttp":
        options["transport"] = "aiohttp"
    statuses: Counter[str] = Counter()
    stopped = False
    async with alisms.AsyncClient(**options) as client:
        await client.send_message_to_globe(TO, TEXT)
        await asyncio.sleep(0.1)
        rss0, cpu0, wall0 = peak_rss_kib(), cpu_seconds(), time.perf_counter()
        give_up = wall0 + time_limit
        async with client.send_many(campaign(n), concurrency=concurrency) as run:
            async for outcome in run:
                statuses[outcome.status] += 1
                if time.perf_counter() > give_up:
                    stopped = True
                    break
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_before_kib": rss0,
        "rss_peak_kib": peak_rss_kib(),
        "statuses": dict(statuses),
        "stopped": stopped,
    }


def main() -> None:
    """Command line: one job, one JSON line of results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="job", required=True)
    s = sub.add_parser("signing")
    s.add_argument("--rounds", type=int, default=7)
    s.add_argument("--batch-seconds", type=float, default=0.15)
    y = sub.add_parser("sync")
    y.add_argument("contender", choices=["alisms", "httpx", "httpx-tuned"])
    a = sub.add_parser("async")
    a.add_argument(
        "contender",
        choices=[
            "alisms-httpx",
            "httpx",
            "alisms-direct",
            "aiohttp",
            "alisms-aiohttp",
            "httpx-aiohttp",
        ],
    )
    a.add_argument("--concurrency", type=int, default=1)
    b = sub.add_parser("bulk")
    b.add_argument("mode", choices=["sync", "async"])
    b.add_argument("--n", type=int, default=20_000)
    b.add_argument("--rate", type=float, default=2000.0)
    b.add_argument("--concurrency", type=int, default=0)
    b.add_argument(
        "--transport", choices=["default", "aiohttp", "httpx-aiohttp"], default="default"
    )
    b.add_argument("--time-limit", type=float, default=15.0)
    for p in (y, a, b):
        p.add_argument("--port", type=int, required=True)
    for p in (y, a):
        p.add_argument("--warmup", type=float, default=0.25)
        p.add_argument("--duration", type=float, default=0.8)
    for p in (a, b):
        p.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.job == "signing":
        job_signing(args.rounds, args.batch_seconds)
    elif args.job == "sync":
        job_sync(args.contender, args.port, args.warmup, args.duration)
    elif args.job == "async":
        job_async(
            args.contender, args.port, args.concurrency, args.warmup, args.duration, args.loop
        )
    else:
        concurrency = args.concurrency or (16 if args.mode == "sync" else 64)
        job_bulk(
            args.mode,
            args.port,
            args.n,
            args.rate,
            concurrency,
            args.loop,
            args.transport,
            args.time_limit,
        )


if __name__ == "__main__":
    main()
