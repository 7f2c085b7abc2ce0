"""OIDC sign-in: which account a provider's identity opens, matched by issuer + subject, linked once by e-mail.

Linking rule (docs/SECURITY.md): the first time an identity signs in, the provider must vouch for the
e-mail (email_verified true) and an active account with that e-mail must exist and have no identity
at this provider yet; the identity is then linked to it for good. From then on only issuer + subject
count: changing the e-mail at the provider, or another provider account claiming the same e-mail,
opens nothing. Nobody is created by signing in: an administrator invites people first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from fleet_dashboard.accounts import audit
from fleet_dashboard.accounts.models import User, UserIdentity
from fleet_dashboard.accounts.users import normalize_email
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.core.tables import utcnow

# Why a sign-in was refused; each is an audit reason and an error code the sign-in page can explain.
REFUSALS = ("oidc_email_unverified", "oidc_no_account", "oidc_linked_elsewhere", "oidc_inactive")


@dataclass(frozen=True)
class OidcSignIn:
    """The account to sign in, or why not."""

    user: User | None
    refused: str | None = None


def _refuse(session: Session, reason: str, *, email: str, issuer: str, user: User | None = None,
            ip_address: str | None) -> OidcSignIn:
    audit.record(session=session, org_id=user.org_id if user else None, actor_id=user.id if user else None,
                 event_type="login_failed", ip_address=ip_address,
                 event_data={"email": email[:320], "method": "oidc", "issuer": issuer, "reason": reason})
    return OidcSignIn(user=None, refused=reason)


def sign_in(*, session: Session, issuer: str, subject: str, email: str, email_verified: bool,
            ip_address: str | None = None) -> OidcSignIn:
    """The account this provider identity opens (audited as a login), or the refusal (audited as login_failed)."""
    issuer = issuer.rstrip("/")
    email = (email or "").strip()
    if not email_verified:
        return _refuse(session, "oidc_email_unverified", email=email, issuer=issuer, ip_address=ip_address)
    identity = session.exec(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                       UserIdentity.subject == subject)).first()
    if identity is not None:
        user = session.get(User, identity.user_id)
    else:
        try:
            email = normalize_email(email)
        except ValidationError:
            return _refuse(session, "oidc_no_account", email=email, issuer=issuer, ip_address=ip_address)
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None or not user.is_active:
            return _refuse(session, "oidc_no_account", email=email, issuer=issuer, ip_address=ip_address)
        taken = session.exec(select(UserIdentity).where(UserIdentity.user_id == user.id,
                                                        UserIdentity.issuer == issuer)).first()
        if taken is not None:
            # The account already has its identity at this provider: a second one claiming the e-mail is not it.
            return _refuse(session, "oidc_linked_elsewhere", email=email, issuer=issuer, user=user,
                           ip_address=ip_address)
        identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject, email=email)
        session.add(identity)
        audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="oidc_linked",
                     event_data={"email": email, "issuer": issuer}, ip_address=ip_address)
    if user is None or not user.is_active:
        return _refuse(session, "oidc_inactive", email=email, issuer=issuer, user=user, ip_address=ip_address)
    identity.last_login_at = user.last_login_at = utcnow()
    session.add_all([identity, user])
    audit.record(session=session, org_id=user.org_id, actor_id=user.id, event_type="login",
                 event_data={"email": user.email, "method": "oidc"}, ip_address=ip_address)
    session.flush()
    return OidcSignIn(user=user)
