"""JWT verification with joserfc (authlib's JOSE library): HS256 by JWT_SECRET, RS256/ES256 by JWT_JWKS_URL."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from fleet_dashboard.settings import Settings

log = logging.getLogger(__name__)

ASYMMETRIC_ALGS = ("RS256", "ES256")
JWKS_TTL_SECONDS = 600
# An unknown kid triggers a refetch (keys rotate), but at most this often, so junk tokens cannot flood it.
JWKS_MIN_REFETCH_SECONDS = 30
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
    """The JWKS document, fetched on demand and kept for JWKS_TTL_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url: str | None = None
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched_at = 0.0

    def _fetch(self, url: str) -> None:
        response = httpx.get(url, timeout=5.0, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
        self._keys = KeySet.import_key_set(data)
        self._kids = {k.get("kid") for k in data.get("keys", []) if k.get("kid")}
        self._url, self._fetched_at = url, time.monotonic()

    def keys(self, url: str, kid: str | None) -> KeySet:
        """The key set, refetched when stale, for another URL, or missing this kid."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = self._keys is None or self._url != url or age > JWKS_TTL_SECONDS
            unknown_kid = kid is not None and kid not in self._kids and age > JWKS_MIN_REFETCH_SECONDS
            if stale or unknown_kid:
                try:
                    self._fetch(url)
                except (httpx.HTTPError, ValueError, JoseError) as exc:
                    log.warning("could not fetch JWKS from %s: %s", url, exc)
                    if self._keys is None or self._url != url:
                        raise InvalidToken("signing keys are unavailable") from exc
            return self._keys

    def clear(self) -> None:
        """Forget the cached keys."""
        with self._lock:
            self._keys, self._url, self._kids, self._fetched_at = None, None, set(), 0.0


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
