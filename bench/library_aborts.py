"""The two engine aborts of the real library, run many times with the library gate on and off.

Run: .venv/bin/python bench/library_aborts.py [--runs 20] [--smoke]

- late-call: a LID look-up queued behind another organisation's start while its client is stopped, and one call
  after the stop (goneonize dereferences the client Stop() deleted: `panic: ... nil pointer dereference`).
- slow-store: 50 clients started at once while `whatsmeow_version` is locked (a store in failover), three waves
  per process (`fatal error: concurrent map writes`). It also prints how long the 50 starts took to get through
  with and without the gate: what serializing the library's start costs.

Each attempt is its own process (a Go abort cannot be caught), on an embedded PostgreSQL of its own with room
for every client's pool. Goal: 0 aborts in every run with the gate; the runs without it show the abort.
`--smoke` runs each twice (for .ci/run): it checks the harness, not the rates.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402

THROUGH = re.compile(r"50 starts through in ([0-9.]+) s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="attempts per scenario and mode")
    parser.add_argument("--smoke", action="store_true", help="two attempts each: the harness works")
    args = parser.parse_args()
    runs = 2 if args.smoke else args.runs

    from tests.whatsapp import library_aborts

    failed = False
    with library_aborts.own_server() as server:
        url = library_aborts.database(server)
        for scenario in ("late-call", "slow-store"):
            for gate in (True, False):
                attempts = [library_aborts.run(scenario, url, gate=gate) for _ in range(runs)]
                aborted = sum(a.aborted for a in attempts)
                through = [float(t) for a in attempts for t in THROUGH.findall(a.output)]
                label = "gate on " if gate else "gate off"
                line = f"{scenario:10} {label}  {aborted} of {runs} processes aborted"
                if through:
                    line += (f"; 50 starts through a 1 s store lock in {statistics.median(through):.2f} s (median of "
                             f"{len(through)} waves, max {max(through):.2f} s)")
                print(line, flush=True)
                if gate and aborted:
                    failed = True
                    print(next(a.output for a in attempts if a.aborted)[-2000:], file=sys.stderr)
    print("result: " + ("AN ABORT WITH THE GATE ON" if failed else "0 aborts with the gate on"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
