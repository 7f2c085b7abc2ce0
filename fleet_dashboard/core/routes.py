"""Every dashboard route and URL builder in one place, so links and redirects never drift apart.

In core, not web: the domain builds links to these pages too (one-time sign-in and invitation links)."""

from __future__ import annotations

from urllib.parse import quote

LOGIN = "/login"
OIDC_CALLBACK = "/login/oidc"
# One-time links: sign-in (accounts/links) and invitations (accounts/people).
LOGIN_LINK = "/login/link"
INVITE = "/invite"
HOME = "/"
CONNECT = "/connect"
SEND = "/send"
TEMPLATES = "/templates"
HISTORY = "/history"
MESSAGE = "/history/[message_id]"
# The conversation with one number: what was sent to it and what it replied, live.
CONVERSATION = "/conversations/[phone]"
OPT_OUTS = "/opt-outs"
AUDIT = "/audit"
QUEUE = "/queue"
SETTINGS = "/settings"
# The number's guards: sending rules (typing, quiet hours, daily cap, warm-up), its health and pauses.
SENDING = "/sending"
ADMIN = "/admin"
ADMIN_ORG = "/admin/org/[org_slug]"
# Organisations (super_admin), the organisation's people (owners, admins), and one's own account (everyone).
ORGANIZATIONS = "/admin/organizations"
PEOPLE = "/people"
ACCOUNT = "/account"
# The history page's CSV export, streamed by the backend (api/routes/downloads.py) under the dashboard's sign-in cookie.
EXPORT_MESSAGES = "/export/messages.csv"
# The file a message carried (a PDF or an image), for its page and its conversation, under the same cookie.
MESSAGE_FILE = "/files/messages/{message_id}"

# Pages whose data belongs to one organisation; a super_admin sees them only after picking one.
ORG_PAGES = (HOME, CONNECT, SEND, TEMPLATES, HISTORY, MESSAGE, CONVERSATION, OPT_OUTS, AUDIT, QUEUE, SENDING, SETTINGS,
             PEOPLE)


def message_url(message_id: str) -> str:
    """The detail page of one message."""
    return f"/history/{quote(str(message_id))}"


def message_file_url(message_id: str) -> str:
    """The file a message carried, shown inline to its organisation's people."""
    return MESSAGE_FILE.format(message_id=quote(str(message_id)))


def conversation_url(phone: str) -> str:
    """The conversation with one number (E.164; the plus is kept, encoded)."""
    return f"/conversations/{quote(str(phone), safe='')}"


def admin_org_url(slug: str) -> str:
    """The super_admin's read-only entry into one organisation's pages."""
    return f"/admin/org/{quote(slug)}"


def login_url(next_path: str | None = None) -> str:
    """The login page, remembering where to return after signing in."""
    if next_path and len(next_path) > 1:
        next_path = next_path.rstrip("/") or "/"  # the static host adds a trailing slash
    if next_path and _local(next_path) and next_path != LOGIN:
        return f"{LOGIN}?next={quote(next_path)}"
    return LOGIN


def _local(path: str) -> bool:
    # Browsers drop tabs and newlines inside a URL and read "\\" as "/": "/\t/evil.example" is "//evil.example".
    return (path.startswith("/") and not path.startswith("//") and "\\" not in path
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path))


def safe_next(next_path: str | None) -> str:
    """A local path to go to after login; anything else (another host, the login page) goes home."""
    if next_path and _local(next_path) and not next_path.startswith(LOGIN):
        return next_path
    return HOME
