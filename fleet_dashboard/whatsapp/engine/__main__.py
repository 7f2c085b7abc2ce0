"""`python -m fleet_dashboard.whatsapp.engine`: one engine process with its queue worker, what `fleet-dashboard
engine` runs, and what `run` starts for each shard. It loads the engine alone, not the whole command line
(accounts, exports, integrations...): a third less CPU per process when a large fleet's shards start together."""

from __future__ import annotations

import asyncio
import logging
import sys

from pydantic import ValidationError

from fleet_dashboard.core.settings import get_settings
from fleet_dashboard.whatsapp.engine.runtime import run_engine_forever

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the command line's (cli/__init__.py)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        get_settings()
    except ValidationError as exc:
        problem = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"error: invalid configuration: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(run_engine_forever())


if __name__ == "__main__":
    sys.exit(main())
