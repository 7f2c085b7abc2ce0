"""Brute force against the sign-in: every spelling of an address is one account, and of N parallel guesses exactly
the window's number reach the password check, in process memory and in Redis; the same for /account's current
password. Each attempt here runs the login handler's own check (limit, argon2, audit) on its own thread."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import text

from fleet_dashboard.accounts import people, signin, users
from fleet_dashboard.accounts.permissions import Actor
from fleet_dashboard.core.errors import RateLimited, ValidationError
from fleet_dashboard.web.state.auth import AuthState

# Not db 0 (shared with everything else); keys live under a prefix of this test's own and are deleted after.
REDIS_URL = "redis://127.0.0.1:6379/15"
PASSWORD = "correct-horse-1"
LIMIT = 5  # RATE_LIMIT_LOGIN's default: the pair window; the address window is 4x, the account window 10x
WINDOW = 3600  # seconds: the window these tests count in (see `storage`)


def spellings(local: str, domain: str, count: int) -> list[str]:
    """`count` different ways to write one address that all sign in to it (case, fullwidth, ideographic dots)."""
    name, tld = domain.split(".")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in name)
    forms = [f"{local}@{domain}", f"{local.upper()}@{domain}", f"{local}@{wide}.{tld}", f"{local}@{name}\u3002{tld}",
             f"{local}@{name}\uff0e{tld}", f"{local}@{name.upper()}\uff61{tld.upper()}", f" {local}@{domain} ",
             f"{local}@{wide}\u3002{tld}", f"{local.title()}@{name.title()}.{tld}"]
    return [forms[i % len(forms)] for i in range(count)]


@pytest.fixture(params=["memory", "redis"])
def storage(request, monkeypatch, database_url) -> Iterator[str]:
    """The login limiter over process memory, or over Redis as several web workers share it."""
    from fleet_dashboard.core.settings import get_settings

    prefix = f"test-signin-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("RATE_LIMIT_PREFIX", prefix)
    # The product's count (5) in a window no busy machine outlasts: at 5/minute, 65 argon2 checks that take more
    # than a minute on a loaded CI box let the first attempts leave the window and the count looks wrong.
    monkeypatch.setenv("RATE_LIMIT_LOGIN", f"{LIMIT}/hour")
    if request.param == "redis":
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    signin.reset_login_limiter()
    yield request.param
    signin.reset_login_limiter()
    monkeypatch.undo()
    get_settings.cache_clear()
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """Every password the handler actually checked with argon2."""
    seen: list[str] = []
    lock = threading.Lock()
    real = users.verify_password

    def counting(password, password_hash):
        with lock:
            seen.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(users, "verify_password", counting)
    return seen


def together(calls: list[Callable[[], object]], width: int = 16) -> list[object]:
    """Run the calls `width` at a time on threads of their own, the first `width` released at the same moment
    (each attempt holds a database connection while argon2 runs, as the web worker's offload threads do)."""
    width = min(width, len(calls))
    start = threading.Barrier(width)
    order = iter(range(len(calls)))
    lock = threading.Lock()

    def run(call):
        with lock:
            first = next(order) < width
        if first:
            start.wait()
        return call()

    with ThreadPoolExecutor(width) as pool:
        return list(pool.map(run, calls))


def login(email: str, password: str, ip: str) -> Callable[[], tuple]:
    return lambda: AuthState._check_password(email, password, ip)


def test_every_spelling_of_one_account_shares_one_budget_even_in_parallel(storage, checks, db, make_org, make_user):
    victim = make_user("owner", make_org(), email="victim@example.com")
    answers = together([login(e, "wrong-guess-0", "198.51.100.7") for e in spellings("victim", "example.com", 16)])
    assert len(checks) == LIMIT, f"{len(checks)} of 16 parallel guesses reached the password check: {answers}"
    verdicts = [a[0] for a in answers]
    assert verdicts.count("bad_credentials") == LIMIT and verdicts.count("login_locked") == 16 - LIMIT
    assert all(0 < a[2] <= WINDOW for a in answers if a[0] == "login_locked"), "the refusal says when to come back"
    # The right password, in yet another spelling, is refused as well until the window frees a slot.
    verdict, user, wait = AuthState._check_password("VICTIM@ｅｘａｍｐｌｅ。com", PASSWORD, "198.51.100.7")
    assert (verdict, user) == ("login_locked", None) and wait > 0
    assert len(checks) == LIMIT
    failed = db.execute(text("SELECT count(*) FROM whatsapp_audit_logs WHERE event_type = 'login_failed'")).scalar()
    assert failed == LIMIT
    # The owner, from another address, still signs in: one client cannot lock the account.
    assert AuthState._check_password("victim@example.com", PASSWORD, "203.0.113.10")[1].id == victim.id


def test_one_address_guessing_many_accounts_gets_four_times_the_limit(storage, checks, db, make_org):
    org = make_org()
    accounts = [f"staff{i}@example.com" for i in range(10)]
    calls = [login(form, "wrong-guess-1", "198.51.100.8")
             for i, email in enumerate(accounts) for form in spellings(email.split("@")[0], "example.com", 4)]
    together(calls)  # 40 at once, 4 per account: no pair window is spent
    assert len(checks) == 4 * LIMIT
    assert AuthState._check_password(accounts[0], "x" * 8, "198.51.100.8")[0] == "login_locked"
    assert org is not None


def test_many_addresses_guessing_one_account_get_ten_times_the_limit(storage, checks, db, make_org, make_user):
    make_user("admin", make_org(), email="target@example.com")
    forms = spellings("target", "example.com", 65)
    together([login(form, "wrong-guess-2", f"198.51.100.{i // LIMIT}") for i, form in enumerate(forms)])
    assert len(checks) == 10 * LIMIT


def test_an_ipv6_client_cannot_rotate_addresses_inside_its_64(storage, checks, db, make_org):
    make_org()
    calls = [login(f"user{i}@example.com", "wrong-guess-3", f"2001:db8:77:1::{i:x}") for i in range(30)]
    together(calls)  # 30 addresses of one /64, 30 accounts: one address window
    assert len(checks) == 4 * LIMIT
    assert AuthState._check_password("new@example.com", "x" * 8, "2001:db8:77:2::1")[0] == "bad_credentials"


def test_guesses_at_the_current_password_on_account_are_limited_and_audited(storage, monkeypatch, db, make_org,
                                                                           make_user):
    from fleet_dashboard.accounts import passwords

    user = make_user("member", make_org())
    seen: list[str] = []
    real = passwords.verify_password

    def counting(password, password_hash):
        seen.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(people, "verify_password", counting)
    actor = Actor(role="member", org_id=user.org_id, user_id=user.id, ip_address="198.51.100.9")
    from fleet_dashboard.core.db import session_scope

    def guess(i: int):
        def call():
            try:
                with session_scope() as s:
                    people.change_password(session=s, actor=actor, current_password=f"guess-{i}",
                                           new_password="a-new-horse-9")
            except (ValidationError, RateLimited) as exc:
                return exc.code
            return "changed"
        return call

    outcomes = together([guess(i) for i in range(16)])
    assert len(seen) == LIMIT and outcomes.count("wrong_password") == LIMIT
    assert outcomes.count("password_locked") == 16 - LIMIT
    refused = db.execute(text("SELECT count(*) FROM whatsapp_audit_logs WHERE event_type = 'password_change_refused' "
                              "AND actor_id = :u"), {"u": user.id}).scalar()
    assert refused == LIMIT
    with pytest.raises(RateLimited) as exc, session_scope() as s:
        people.change_password(session=s, actor=actor, current_password=PASSWORD, new_password="a-new-horse-9")
    assert 0 < exc.value.params["seconds"] <= WINDOW


def test_an_office_behind_one_address_is_not_limited_by_its_good_sign_ins(storage, checks, db, make_org, make_user):
    org = make_org()
    staff = [make_user("member", org, email=f"desk{i}@example.com") for i in range(24)]
    answers = together([login(u.email, PASSWORD, "198.51.100.10") for u in staff])
    assert [a[0] for a in answers] == [""] * 24, "24 right passwords from one address: more than its 20 attempts"
    wrong = together([login(f"nobody{i}@example.com", "wrong-guess-4", "198.51.100.10") for i in range(24)])
    assert [a[0] for a in wrong].count("bad_credentials") == 4 * LIMIT, "the address window is whole again"
