"""The sentinel secret of the leak tests, and how to count it in any text it could leak into."""

from __future__ import annotations

import base64
from urllib.parse import quote

__all__ = ["SENTINEL", "forms", "hits"]

SENTINEL = "Sntnl7Q9zX4kW2mP8vR3"  # alphanumeric: valid inside URLs, headers and base64 text


def forms(secret: str = SENTINEL) -> list[str]:
    """The sentinel as it could leak: plain, base64 (alone or as Basic auth), URL-quoted."""
    raw = secret.encode()
    found = [secret, quote(secret, safe=""), base64.b64encode(raw).decode().rstrip("=")]
    for user in ("user", "reader", "admin"):
        found.append(base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="))
    return found


def hits(text: str) -> int:
    return sum(text.count(form) for form in forms())
