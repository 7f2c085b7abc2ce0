"""What an Arabic reader would see in English on a page: codes, enum values, raw names and placeholders.

Data people typed (a customer's English message, an e-mail, a URL, a key's name) is theirs and is allowed; so are
phone numbers, file names and a few technical names written as such (QR, CSV, PDF, API...). What is refused is the
app's own vocabulary leaking through untranslated: statuses, roles, scopes, event and template names, variable
placeholders, snake_case codes, UUIDs, "None"/"null"/"undefined" and friends."""

from __future__ import annotations

import re

from fleet_dashboard import strings
from fleet_dashboard.accounts.permissions import Action
from fleet_dashboard.integrations.api_keys import SCOPES
from fleet_dashboard.integrations.webhooks import EVENTS

# Every visible text node's text, each once, in document order.
VISIBLE_TEXT_JS = """() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const el = node.parentElement;
        if (!el || !node.textContent.trim()) continue;
        if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION'].includes(el.tagName)) continue;
        if (el.closest('[hidden], [aria-hidden="true"]')) continue;
        if (el.closest('code')) continue;  // a value shown as code on purpose: the organisation id, a key's start
        if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        out.push(node.textContent);
    }
    return out;
}"""

# Data and technical names that may sit in Arabic text.
_ALLOWED = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),                      # e-mail addresses
    re.compile(r"https?://\S+"),                                    # URLs
    re.compile(r"(?<![\w/])/[a-z][\w/.-]*"),                        # paths (/api/docs)
    re.compile(r"\b(?:fdk|whsec)_[\w-]*…?"),                          # an API key's or a secret's start
    re.compile(r"\b[A-Z][a-z]+(?:/[A-Z][A-Za-z_+-]+)+\b"),         # IANA zone names (Africa/Cairo)
    re.compile(r"\bUTC[+-]\d\d:\d\d\b"),                            # a zone offset written as such
    re.compile(r"[^\s«»]+\.(?:pdf|png|jpe?g|webp)\b", re.I),        # file names
    re.compile(r"\{\{[^}]*\}\}(?=[^\n]*استخدم)"),                  # the template editor's own how-to
]
# The app's vocabulary: none of it may show as is.
_CODES = ({s for s in strings.MESSAGE_STATUS} | set(strings.QUEUE_STATUS) | set(strings.SESSION_STATUS)
          | set(strings.ROLES) | set(SCOPES) | {a.value for a in Action} | set(strings.AUDIT_EVENTS)
          | {"None", "null", "undefined", "NaN", "true", "false", "Invalid", "outbound", "inbound", "general",
             "billing", "onboarding", "dashboard", "api", "system", "via", "org_id", "message_id"})
_FORBIDDEN = [
    re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),               # snake_case codes and template names
    re.compile(r"\b(?:" + "|".join(re.escape(e) for e in EVENTS) + r")\b"),  # webhook event names
    re.compile(r"\{\{\s*\w+\s*\}\}"),                               # raw template variables
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),  # UUIDs
    re.compile(r"\b\w+:\s*[\w.-]+,\s*\w+:"),                        # raw key:value details
]


def english_in(texts: list[str]) -> list[str]:
    """The pieces of these visible texts an Arabic reader should not meet."""
    found = []
    for text in texts:
        bare = text
        for allowed in _ALLOWED:
            bare = allowed.sub(" ", bare)
        for forbidden in _FORBIDDEN:
            found += [f"{m.group(0)!r} in {text.strip()[:80]!r}" for m in forbidden.finditer(bare)]
        words = set(re.findall(r"[A-Za-z_]+", bare))
        found += [f"{w!r} in {text.strip()[:80]!r}" for w in sorted(words & _CODES)]
    return found
