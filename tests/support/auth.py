"""The tests' default password, the accounts of the end-to-end ``token`` and ``admin``
fixtures, and the header that carries an API token."""

from __future__ import annotations

PASSWORD = "correct-horse-battery"
# Who the e2e fixtures ``token`` (a writer) and ``admin`` make on a module's server.
WRITER = ("writer", "writer-password-1")
CHIEF = ("chief", "chief-password-1")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
