"""The web process's event-loop lag: how late the loop wakes a task that asked to sleep.

A periodic task sleeps INTERVAL seconds and records how much longer than that it actually slept. Anything that
holds the loop -- a synchronous database call in a handler, a CSV page, an argon2 hash -- shows up here as lag,
because every socket message, every page event and every API request of that worker waited the same time.

Exposed in GET /api/metrics as the histogram `fleet_web_event_loop_lag_seconds` and the gauge
`fleet_web_event_loop_lag_max_seconds` (the worst sample of the last WINDOW_SECONDS), both labelled with the
`pid` of the process that measured them. Each backend worker runs its own loop and its own probe, and a scrape
is answered by whichever worker the connection reached: the label keeps their series apart (sum the histogram
over `pid` for the whole web tier; a worker that restarts starts a new series). The probe starts with the app
(a Reflex lifespan task); a process that does not run it exports neither family.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import threading
import time
from collections import deque
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet_dashboard.core import offload

INTERVAL = 0.05
WINDOW_SECONDS = 60.0
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LoopLagProbe:
    """Counts of lag samples per bucket, their sum, and the recent samples for the windowed maximum."""

    def __init__(self, *, interval: float = INTERVAL, buckets: tuple[float, ...] = BUCKETS,
                 window: float = WINDOW_SECONDS):
        self.interval, self.buckets, self.window = interval, tuple(buckets), window
        self._lock = threading.Lock()
        self._counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._recent: deque[tuple[float, float]] = deque()
        self.running = False

    def observe(self, lag: float) -> None:
        lag = max(0.0, lag)
        now = time.monotonic()
        with self._lock:
            self._counts[bisect.bisect_left(self.buckets, lag)] += 1
            self._sum += lag
            self._recent.append((now, lag))
            while self._recent and now - self._recent[0][0] > self.window:
                self._recent.popleft()

    def snapshot(self) -> tuple[list[tuple[str, float]], float, float]:
        """Cumulative (le, count) pairs ending with +Inf, the sum, and the largest lag of the window."""
        now = time.monotonic()
        with self._lock:
            counts, total = list(self._counts), self._sum
            recent = max((lag for at, lag in self._recent if now - at <= self.window), default=0.0)
        cumulative, running = [], 0
        for bound, n in zip([*map(str, self.buckets), "+Inf"], counts, strict=True):
            running += n
            cumulative.append((bound, float(running)))
        return cumulative, total, recent

    async def run(self) -> None:
        """Sleep INTERVAL, record the overshoot, forever (until cancelled with the app)."""
        self.running = True
        try:
            while True:
                started = time.perf_counter()
                await asyncio.sleep(self.interval)
                self.observe(time.perf_counter() - started - self.interval)
        finally:
            self.running = False


PROBE = LoopLagProbe()


async def loop_lag_lifespan() -> None:
    """The probe as a server lifespan task: one per backend worker (which it also tunes for the loop)."""
    offload.tune_for_web()
    await PROBE.run()


class LoopLagCollector(Collector):
    """The probe's figures for a Prometheus scrape, labelled with this process's pid."""

    def __init__(self, probe: LoopLagProbe = PROBE):
        self.probe = probe

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if not self.probe.running:
            return
        pid = str(os.getpid())
        buckets, total, recent = self.probe.snapshot()
        histogram = HistogramMetricFamily(
            "fleet_web_event_loop_lag_seconds",
            f"How late this web worker's event loop woke a {self.probe.interval:g} s sleep (per process: pid).",
            labels=["pid"])
        histogram.add_metric([pid], buckets, total)
        yield histogram
        gauge = GaugeMetricFamily("fleet_web_event_loop_lag_max_seconds",
                                  f"Largest event-loop lag of this web worker in the last {self.probe.window:g} s.",
                                  labels=["pid"])
        gauge.add_metric([pid], recent)
        yield gauge
