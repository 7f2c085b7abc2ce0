"""PostgreSQL frozen (SIGSTOP on every server process) for 30 s mid-drain, as a hung host or a stalled disk
would: connections stay open and nothing answers; then it thaws."""

from __future__ import annotations

import time

from playwright.sync_api import Browser

from tests.reliability.conftest import app_on
from tests.reliability.drill import RECOVERY_SECONDS, utc_now, wait_until

FROZEN_SECONDS = 30


def test_postgres_frozen_for_30_seconds(postgres, browser: Browser, tmp_path) -> None:
    with app_on(postgres, tmp_path) as drill:
        drill.connected_orgs(3)
        tabs = drill.open_tabs(browser)
        try:
            total = drill.enqueue(40)
            wait_until(lambda: drill.sent_count() >= 20, 60, "the drain under way")
            print(f"\n   {drill.sent_count()} of {total} sent; freezing PostgreSQL for {FROZEN_SECONDS} s")
            postgres.freeze()
            time.sleep(FROZEN_SECONDS)
            postgres.thaw()
            back, back_at = time.monotonic(), utc_now()
            drill.check_live_paths(tabs, back)
            wait_until(lambda: drill.first_send_after(back_at) is not None, RECOVERY_SECONDS, "a send after the thaw")
            first = drill.first_send_after(back_at)
            print(f"   first send {first:.1f} s after PostgreSQL thawed")
            assert first <= RECOVERY_SECONDS
            drill.wait_drained(total, 120)
            drill.assert_each_sent_once(total)
        finally:
            tabs.close()
