"""The API benchmark's load generator: keep-alive HTTP/1.1 clients on asyncio streams.

A minimal client on purpose: httpx took the server's CPU on two cores. Used by
``bench/intake.py``; jobs are sent closed loop (as fast as answered) or open loop at
a rate, latency counted from when each request was due.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

ROUND_SECONDS = 300.0  # each round stops sending after this long


@dataclass(frozen=True)
class Job:
    method: str
    path: str
    hospital: str
    body: bytes | None = None


@dataclass
class RoundResult:
    seconds: float
    latencies: list[float]
    statuses: Counter[str]
    created: list[tuple[str, str]]

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


class _Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

    On a 2-core machine the load generator takes its CPU from the server under test;
    httpx spends several times more per request than this, so it would measure the
    client as much as the server. Good for the care API's answers only: a status line,
    headers with Content-Length, a body.
    """

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        payload = body or b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(payload)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def _load(
    base_url: str,
    jobs: Sequence[Job],
    headers: Mapping[str, Mapping[str, str]],
    clients: int,
    limit_s: float,
    rate: float | None = None,
) -> RoundResult:
    """``clients`` concurrent clients, each on its own keep-alive connection, sharing the jobs.

    Closed loop (``rate`` None): each client sends its next request when the last one
    is answered, as fast as the server allows: the saturation throughput. Open loop
    (``rate`` requests a second): request i is due at ``i / rate`` seconds, whatever
    happened before, and its latency counts from that moment, so a slow server's
    queue shows in the percentiles instead of slowing the clients down. Connections
    are opened before the clock starts.
    """
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    created: list[tuple[str, str]] = []
    connections = [_Connection(base_url) for _ in range(clients)]
    pending = iter(enumerate(jobs))
    try:
        await asyncio.gather(*(c.open() for c in connections))
        started = time.perf_counter()

        async def client(connection: _Connection) -> None:
            for index, job in pending:
                due = started + index / rate if rate else time.perf_counter()
                if due - started > limit_s:
                    statuses["not sent (time limit)"] += 1
                    continue
                if rate:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                try:
                    status, body = await connection.request(
                        job.method, job.path, job.body, headers[job.hospital]
                    )
                except (OSError, ValueError, asyncio.IncompleteReadError) as error:
                    statuses[type(error).__name__] += 1
                    await connection.close()
                    await connection.open()
                    continue
                latencies.append(time.perf_counter() - due)
                statuses[str(status)] += 1
                if job.method == "POST" and status == 201:
                    created.append((job.hospital, str(json.loads(body)["id"])))

        await asyncio.gather(*(client(c) for c in connections))
        seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
    return RoundResult(seconds, latencies, statuses, created)


def load_round(
    base_url: str,
    jobs: Sequence[Job],
    headers: Mapping[str, Mapping[str, str]],
    clients: int,
    rate: float | None = None,
    seconds: float = ROUND_SECONDS,
) -> RoundResult:
    """Send ``jobs`` from ``clients`` keep-alive connections (``headers`` per hospital),
    closed loop or at ``rate``/s."""
    return asyncio.run(_load(base_url, jobs, headers, clients, seconds, rate))
