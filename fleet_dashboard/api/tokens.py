"""JWT verification with joserfc (authlib's JOSE library): HS256 by JWT_SECRET, RS256/ES256 by JWT_JWKS_URL."""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from fleet_dashboard.core.backoff import backoff_delay
from fleet_dashboard.core.settings import Settings

log = logging.getLogger(__name__)

ASYMMETRIC_ALGS = ("RS256", "ES256")
JWKS_TTL_SECONDS = 600
# An unknown kid triggers a refetch (keys rotate), but at most this often, so junk tokens cannot flood it.
JWKS_MIN_REFETCH_SECONDS = 30
JWKS_FETCH_TIMEOUT = 5.0
# After a failed fetch the next one waits 5 s, then 10, 20 ... up to 5 minutes (with jitter).
JWKS_BACKOFF_BASE_SECONDS = 5.0
JWKS_BACKOFF_MAX_SECONDS = 300.0
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """The credential is not a JWT we accept; the message says why (safe to show)."""


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read before any verification only to pick the key."""
    try:
        head = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


class JwksCache:
    """The JWKS document, fetched on demand, kept for JWKS_TTL_SECONDS, and never fetched by two threads at once.

    Requests that find keys (even stale ones) use them at once, a refresh running in the background; only a
    cold cache waits, and only for the one fetch in flight. A failed fetch is remembered with exponential
    backoff (JWKS_BACKOFF_*), so while the key URL is down a request costs no network wait at all: it is
    refused (401) when no key was ever fetched, or verified with the last good keys. Callers are sync and
    run in a worker thread (FastAPI's threadpool), so the event loop never waits on a key fetch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fetched = threading.Condition(self._lock)
        self._url: str | None = None
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched_at = 0.0
        self._fetching = False
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""

    def _download(self, url: str) -> tuple[KeySet, set[str]]:
        response = httpx.get(url, timeout=httpx.Timeout(JWKS_FETCH_TIMEOUT, connect=min(2.0, JWKS_FETCH_TIMEOUT)),
                             follow_redirects=False)
        response.raise_for_status()
        data = response.json()
        return KeySet.import_key_set(data), {k.get("kid") for k in data.get("keys", []) if k.get("kid")}

    def _fetch(self, url: str) -> None:
        """One fetch, outside the lock; its outcome (keys, or the failure and when to try again) under it."""
        try:
            keys, kids = self._download(url)
        except (httpx.HTTPError, ValueError, TypeError, AttributeError, JoseError) as exc:
            with self._lock:
                wait = backoff_delay(self._failures + 1, base=JWKS_BACKOFF_BASE_SECONDS,
                                     cap=JWKS_BACKOFF_MAX_SECONDS)
                if self._url == url:
                    self._failures += 1
                    self._retry_at = time.monotonic() + wait
                    self._last_error = f"{type(exc).__name__}: {exc}"[:200]
                self._fetching = False
                self._fetched.notify_all()
            log.warning("could not fetch JWKS from %s (%s: %s); next try in %.0f s", url, type(exc).__name__,
                        str(exc)[:200], wait)
            return
        with self._lock:
            if self._url == url:
                self._keys, self._kids, self._fetched_at = keys, kids, time.monotonic()
                self._failures, self._retry_at, self._last_error = 0, 0.0, ""
            self._fetching = False
            self._fetched.notify_all()

    def _start_background_fetch(self, url: str) -> None:
        threading.Thread(target=self._fetch, args=(url,), name="jwks-refresh", daemon=True).start()

    def keys(self, url: str, kid: str | None) -> KeySet:
        """The key set for this URL; refetched when stale or missing this kid, within the rules above."""
        with self._lock:
            if self._url != url:
                self._url, self._keys, self._kids, self._fetched_at = url, None, set(), 0.0
                self._failures, self._retry_at, self._last_error = 0, 0.0, ""
            now = time.monotonic()
            age = now - self._fetched_at
            stale = self._keys is None or age > JWKS_TTL_SECONDS
            unknown_kid = kid is not None and kid not in self._kids and age > JWKS_MIN_REFETCH_SECONDS
            fetch_here = False
            if (stale or unknown_kid) and not self._fetching and now >= self._retry_at:
                self._fetching = True
                if self._keys is not None and not unknown_kid:
                    # Only stale: verify with what we have while the refresh runs.
                    self._start_background_fetch(url)
                    return self._keys
                fetch_here = True
            elif self._fetching and (self._keys is None or unknown_kid):
                # Wait for the one fetch in flight (bounded by its timeout); never start a second one.
                self._fetched.wait_for(lambda: not self._fetching, timeout=JWKS_FETCH_TIMEOUT + 1)
        if fetch_here:
            self._fetch(url)
        with self._lock:
            if self._keys is None or self._url != url:
                retry_in = max(0, math.ceil(self._retry_at - time.monotonic()))
                raise InvalidToken(f"signing keys are unavailable (key URL failed; next try in {retry_in} s)")
            return self._keys

    def clear(self) -> None:
        """Forget the cached keys and any remembered failure."""
        with self._lock:
            self._keys, self._url, self._kids, self._fetched_at = None, None, set(), 0.0
            self._failures, self._retry_at, self._last_error, self._fetching = 0, 0.0, "", False


JWKS = JwksCache()


def decode(token: str, settings: Settings) -> tuple[str, dict[str, Any]]:
    """Verify signature, exp and nbf; return (alg, claims). Audience rules are the caller's."""
    header = unverified_header(token)
    alg = header.get("alg")
    if alg == "HS256":
        if not settings.jwt_secret:
            raise InvalidToken("HS256 tokens are not accepted: JWT_SECRET is not set")
        key: Any = OctKey.import_key(settings.jwt_secret)
    elif alg in ASYMMETRIC_ALGS:
        if not settings.jwt_jwks_url:
            raise InvalidToken(f"{alg} tokens are not accepted: JWT_JWKS_URL is not set")
        kid = header.get("kid")
        key = JWKS.keys(settings.jwt_jwks_url, kid if isinstance(kid, str) else None)
    else:
        # Covers alg=none and every algorithm we never agreed to (HS384, PS256, ...).
        raise InvalidToken(f"token algorithm {str(alg)[:16]!r} is not accepted")
    try:
        claims = jwt.decode(token, key, algorithms=[alg]).claims
        jwt.JWTClaimsRegistry(leeway=LEEWAY_SECONDS, exp={"essential": True}).validate(claims)
    except JoseError as exc:
        if exc.error == "expired_token":
            raise InvalidToken("token has expired") from exc
        if exc.error == "missing_claim":
            raise InvalidToken("token has no exp claim") from exc
        raise InvalidToken("token signature or claims are invalid") from exc
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
    return alg, claims


def audience_matches(claims: dict[str, Any], audience: str) -> bool:
    """True when aud (a string or a list) names our audience."""
    aud = claims.get("aud")
    return aud == audience or (isinstance(aud, list) and audience in aud)
