"""Dashboard sign-in, free of Reflex: signed expiring sign-in tokens, the login rate limit, and OIDC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from limits import parse

from fleet_dashboard.accounts import users
from fleet_dashboard.accounts.models import User
from fleet_dashboard.accounts.users import normalize_email
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.ratelimit import Limiter, limit_key
from fleet_dashboard.core.settings import get_settings

# 2: tokens carry the user's sign-in version ("sv"); a version-1 token can no longer be ended, so it is refused.
TOKEN_VERSION = 2
# The dashboard's sign-in cookie (web/state/auth.py sets it; the streamed downloads read it).
SIGNIN_COOKIE = "fd_session"


@dataclass(frozen=True)
class SigninClaims:
    """Who a sign-in token speaks for, under which of their sign-in versions, and until when."""

    user_id: uuid.UUID
    issued_at: int
    expires_at: int
    signin_version: int = 0  # users.session_version when the token was issued
    # A break-glass sign-in: the super_admin who acts as this user (every audit row of the sign-in names them).
    break_glass_by: uuid.UUID | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signing_key() -> bytes:
    # A key derived for this one purpose, so a signature here is useless anywhere else SECRET_KEY signs.
    return hmac.new(get_settings().secret_key.encode(), b"fleet-dashboard/session/v1", hashlib.sha256).digest()


def _sign(payload: str) -> str:
    return _b64(hmac.new(_signing_key(), payload.encode(), hashlib.sha256).digest())


def issue_token(*, user_id: uuid.UUID, signin_version: int = 0, ttl_seconds: int | None = None,
                now: float | None = None, break_glass_by: uuid.UUID | None = None) -> str:
    """A signed token naming the user and their current sign-in version, valid for SESSION_TTL_HOURS (or
    `ttl_seconds`); a break-glass token also names the super_admin acting through it."""
    issued = int(now if now is not None else time.time())
    ttl = ttl_seconds if ttl_seconds is not None else get_settings().session_ttl_hours * 3600
    body = {"v": TOKEN_VERSION, "uid": str(user_id), "sv": int(signin_version), "iat": issued,
            "exp": issued + ttl, "n": generate_token(8)}
    if break_glass_by is not None:
        body["bg"] = str(break_glass_by)
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(payload)}"


def _genuine_body(token: str | None) -> dict | None:
    """The body of a token this process signed, naming a user, expired or not; None for anything else."""
    if not token or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(_sign(payload), signature):
        return None
    try:
        body = json.loads(_unb64(payload))
        uuid.UUID(body["uid"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return body


def read_token(token: str | None, *, now: float | None = None) -> SigninClaims | None:
    """The claims of a genuine, unexpired token; None for anything forged, altered or stale."""
    body = _genuine_body(token)
    if body is None:
        return None
    try:
        claims = SigninClaims(uuid.UUID(body["uid"]), int(body["iat"]), int(body["exp"]), int(body["sv"]),
                               uuid.UUID(body["bg"]) if body.get("bg") else None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if body.get("v") != TOKEN_VERSION or claims.expires_at <= (now if now is not None else time.time()):
        return None
    return claims


def token_user_id(token: str | None) -> uuid.UUID | None:
    """Whom a genuine token names, expired or not: to audit a refused sign-in, never to admit one."""
    body = _genuine_body(token)
    return uuid.UUID(body["uid"]) if body else None


def token_owner(token: str | None) -> str:
    """"user:version" a genuine token was issued for, expired or not ("" for anything else): one sign-in's name."""
    body = _genuine_body(token)
    return f"{body['uid']}:{body.get('sv', 0)}" if body else ""


def signin_user(token: str | None):
    """(user, "ok") for a live sign-in token; else (None, why): anonymous, expired, unknown_user, deactivated, ended."""
    claims = read_token(token)
    if claims is None:
        return None, ("expired" if token_user_id(token) else "anonymous")
    with session_scope() as session:
        user = session.get(User, claims.user_id)
        verdict = users.signin_verdict(user, claims.signin_version)
    return (user, verdict) if verdict == users.SigninVerdict.ok else (None, verdict)


def signin_owner(token: str | None) -> str:
    """"user:version" of a live sign-in token, "" otherwise: whose data a tab may keep."""
    user, _ = signin_user(token)
    return f"{user.id}:{user.session_version}" if user is not None else ""


def owner_verdict(owner: str) -> str:
    """Whether the sign-in named by an owner string ("user:version") is still live ("ok") or why not."""
    user_id, _, version = owner.partition(":")
    with session_scope() as session:
        return users.signin_verdict(session.get(User, uuid.UUID(user_id)), int(version))


# The dots IDNA reads as ".": ideographic, fullwidth and halfwidth ideographic full stops.
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def login_identity(email: str) -> str:
    """The account an address names however it is spelled (case, fullwidth letters, ideographic dots, IDNA):
    what the sign-in limits count, so no spelling gets a budget of its own."""
    folded = unicodedata.normalize("NFKC", (email or "").strip()).casefold().translate(_IDNA_DOTS)
    try:
        return unicodedata.normalize("NFKC", normalize_email(folded)).casefold()
    except ValidationError:
        return folded


@dataclass(frozen=True)
class Attempt:
    """Whether one sign-in attempt may go on to the password check, and if not, when the next one may."""

    allowed: bool
    retry_after: int = 0  # whole seconds until the spent window frees a slot


class LoginLimiter:
    """Counts every password attempt before the password is checked, so parallel guesses cannot outrun it; a
    right password gives its count back, so only failures (and attempts still being checked) fill the windows.

    Three windows, counted in turn: an (account, address) pair gets RATE_LIMIT_LOGIN attempts, one address
    four times that (a shared office mistypes several accounts; password spraying does not get far), and one
    account ten times that across all addresses (a distributed guess). An attempt the pair refuses spends
    nothing of the address's or the account's windows, so one client at its own limit can never spend an
    account's allowance for the owner signing in from elsewhere. Each count is atomic (a Lua script in Redis
    when REDIS_URL is set, a lock in memory): of N parallel attempts exactly the window's number get through.
    The account is its normalised address (login_identity); an IPv6 address counts as its /64. Behind a
    reverse proxy set TRUSTED_PROXIES, or every person shares the proxy's address."""

    def __init__(self, rule: str | None = None, *, limiter: Limiter | None = None):
        self.rule = parse(rule or get_settings().rate_limit_login)
        unit = f"{self.rule.multiples} {self.rule.GRANULARITY.name}"
        self.ip_rule = parse(f"{self.rule.amount * 4}/{unit}")
        self.email_rule = parse(f"{self.rule.amount * 10}/{unit}")
        self._limiter = limiter or Limiter()

    def _keys(self, email: str, ip: str) -> list[tuple]:
        account, address = login_identity(email), limit_key(ip or "-")
        return [(self.rule, "login-pair", account, address), (self.ip_rule, "login-ip", address),
                (self.email_rule, "login-email", account)]

    def _count(self, windows: list[tuple]) -> Attempt:
        for rule, *key in windows:
            if not self._limiter.hit(rule, *key):
                reset_at = self._limiter.reset_time(rule, *key) or time.time() + 1
                return Attempt(False, max(1, math.ceil(reset_at - time.time())))
        return Attempt(True)

    def attempt(self, *, email: str, ip: str) -> Attempt:
        """Count one sign-in attempt in every window; refused (with the wait) at the first window already spent."""
        return self._count(self._keys(email, ip))

    def attempt_current_password(self, *, user_id: uuid.UUID, ip: str) -> Attempt:
        """Count one guess at a signed-in person's current password (/account): the pair rule per person, and
        the address window sign-in uses, so a stolen sign-in token cannot guess the password it lacks."""
        return self._count([(self.rule, "password-user", str(user_id)),
                            (self.ip_rule, "login-ip", limit_key(ip or "-"))])

    def succeeded(self, *, email: str, ip: str = "-") -> None:
        """A right password: forget the pair's count, and give back this attempt's slot in the address and account
        windows, so an office signing in through one address is not limited by its own good sign-ins."""
        (rule, *pair), *shared = self._keys(email, ip)
        self._limiter.clear(rule, *pair)
        for rule, *key in shared:
            self._limiter.refund(rule, *key)


_LIMITER_LOCK = threading.Lock()
_LIMITER: list[LoginLimiter] = []


def login_limiter() -> LoginLimiter:
    """The process's login limiter: one, even when the first sign-ins arrive on several threads at once (each would
    otherwise build its own, and in process memory each its own counters)."""
    with _LIMITER_LOCK:
        if not _LIMITER:
            _LIMITER.append(LoginLimiter())
        return _LIMITER[0]


def reset_login_limiter() -> None:
    """Forget the process's login limiter (tests: the next one reads the settings again)."""
    with _LIMITER_LOCK:
        _LIMITER.clear()


# ---- OIDC (authorization code + PKCE), offered only when all three settings are present ----

def oidc_enabled() -> bool:
    """True when OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are all configured."""
    s = get_settings()
    return bool(s.oidc_issuer and s.oidc_client_id and s.oidc_client_secret)


@dataclass(frozen=True)
class OidcStart:
    """Where to send the browser, and what to remember until it comes back."""

    url: str
    state: str
    code_verifier: str


async def _discovery() -> dict:
    issuer = get_settings().oidc_issuer.rstrip("/")
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        return response.json()


async def oidc_start(*, redirect_uri: str) -> OidcStart:
    """Build the provider's authorization URL with a fresh state and PKCE verifier."""
    meta = await _discovery()
    state, verifier = generate_token(24), generate_token(48)
    url = add_params_to_uri(meta["authorization_endpoint"], [
        ("response_type", "code"), ("client_id", get_settings().oidc_client_id),
        ("redirect_uri", redirect_uri), ("scope", "openid email profile"), ("state", state),
        ("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256"),
    ])
    return OidcStart(url=url, state=state, code_verifier=verifier)


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in: its issuer and subject (stable), and the e-mail it vouches for."""

    issuer: str
    subject: str
    email: str
    email_verified: bool


def _verified(value: object) -> bool:
    # Some providers (Cognito, older Azure) send the claim as a string.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


async def oidc_finish(*, code: str, redirect_uri: str, code_verifier: str) -> OidcIdentity | None:
    """Exchange the code and return the provider's identity (from userinfo), or None without a subject."""
    s = get_settings()
    meta = await _discovery()
    async with httpx.AsyncClient(timeout=10) as client:
        token = await client.post(meta["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }, auth=(s.oidc_client_id, s.oidc_client_secret))
        token.raise_for_status()
        access_token = token.json().get("access_token")
        info = await client.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})
        info.raise_for_status()
        claims = info.json()
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return None
    issuer = str(meta.get("issuer") or s.oidc_issuer).rstrip("/")
    return OidcIdentity(issuer=issuer, subject=subject, email=str(claims.get("email") or ""),
                        email_verified=_verified(claims.get("email_verified")))
