"""The tests' default password, and the header that carries an API token."""

from __future__ import annotations

PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
