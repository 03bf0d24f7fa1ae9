"""names compared by NFKC casefold: recompute problems.name_key and users.name_key

Revision ID: 0004_nfkc_name_keys
Revises: 0003_idempotent_requests
Create Date: 2026-11-29 19:30:00

The keys were NFC casefolded; they become NFKC casefolded with the characters
that show nothing dropped (Unicode's NFKC_Casefold, closely), so "Ｔｗｏ Ｓｕｍ"
and "Two\u200bSum" are the name "Two Sum" and "TwoSum" for uniqueness.

Two names that were distinct may now be one. The migration does not fail on
them: of each such group the oldest row (lowest id) keeps its name, and each
other one is renamed "NAME (#ID)" (its own id, so the new name is unique and
says which row it was), logged as a warning. Nothing is deleted. Problems
renamed this way bump the cache's "all" version, so no stored response shows
the old name. The key function is copied here, as it is today, so that this
migration keeps doing what it did whatever the app's code becomes.

Downgrade recomputes the NFC keys (renamed rows keep their new names).
Users' names are ASCII by the rules, so their keys do not change; they are
recomputed all the same, by the same function.
"""
import logging
import unicodedata

import sqlalchemy as sa
from alembic import op


revision = "0004_nfkc_name_keys"
down_revision = "0003_idempotent_requests"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_IGNORABLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10)]
    + list(range(0xE0100, 0xE01F0))
)
NAME_MAX = {"problems": 200, "users": 40}


def nfkc_key(name):
    key = name
    for _ in range(2):
        visible = "".join(
            ch for ch in key if unicodedata.category(ch) != "Cf" and ord(ch) not in _IGNORABLE
        )
        key = unicodedata.normalize("NFKC", visible.casefold())
    return key


def nfc_key(name):
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _rekey(table, key_of):
    """Give every row of ``table`` its new key; rename the younger of two rows that collide.

    Returns the ids of renamed rows. Rows whose key changes first get a
    temporary key no name can have (a control character and the id), then
    their final one, so the unique index holds after every statement whatever
    order the keys move in.
    """
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, name, name_key FROM {table} ORDER BY id")).all()
    natural = {row_id: key_of(name) for row_id, name, _old in rows}
    owner = {}  # each key's oldest row, which keeps its name
    for row_id, key in natural.items():
        owner.setdefault(key, row_id)
    reserved = set(natural.values())  # a rename takes no key another row has
    changes = []  # (id, name, key) of the rows whose name or key changes
    renamed = []
    for row_id, name, old_key in rows:
        key = natural[row_id]
        new_name = name
        if owner[key] != row_id:
            attempt = 1
            while key in reserved:
                tail = f" (#{row_id})" if attempt == 1 else f" (#{row_id}-{attempt})"
                new_name = name[: NAME_MAX[table] - len(tail)].rstrip() + tail
                key = key_of(new_name)
                attempt += 1
            reserved.add(key)
            log.warning(
                "%s %s: its name %r is row %s's once compared by NFKC casefold; renamed %r",
                table,
                row_id,
                name,
                owner[natural[row_id]],
                new_name,
            )
            renamed.append(row_id)
        if key != old_key or new_name != name:
            changes.append((row_id, new_name, key))
    statement = sa.text(f"UPDATE {table} SET name = :name, name_key = :key WHERE id = :id")
    for row_id, name, _key in changes:
        bind.execute(statement, {"id": row_id, "name": name, "key": f"\x01{row_id}"})
    for row_id, name, key in changes:
        bind.execute(statement, {"id": row_id, "name": name, "key": key})
    return renamed


def _bump_all_versions():
    bind = op.get_bind()
    updated = bind.execute(
        sa.text("UPDATE cache_versions SET version = version + 1 WHERE name = 'all'")
    )
    if updated.rowcount == 0:
        bind.execute(sa.text("INSERT INTO cache_versions (name, version) VALUES ('all', 1)"))


def upgrade():
    renamed = _rekey("problems", nfkc_key)
    _rekey("users", nfkc_key)
    if renamed:
        _bump_all_versions()


def downgrade():
    _rekey("problems", nfc_key)
    _rekey("users", nfc_key)
