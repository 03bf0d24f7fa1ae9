"""The extension's one table: the version of each cached path and tag, by name.

``cache_versions`` (``name`` up to 300 characters, ``version`` a 64-bit
integer) is added to the metadata of the app's Flask-SQLAlchemy object when
the extension is made, so it is created as the app's own tables are:
``db.create_all()`` makes it, and Flask-Migrate's ``flask db migrate`` writes
the migration step that makes it (its primary key is named by the metadata's
naming convention, as the app's own keys are).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table

TABLE_NAME = "cache_versions"
# The longest name kept: ``path:`` and a canonical path, or ``tag:`` and a tag.
NAME_LENGTH = 300


def version_table(metadata: MetaData) -> Table:
    """The ``cache_versions`` table of ``metadata``: added the first time, then the same one."""
    existing = metadata.tables.get(TABLE_NAME)
    if existing is not None:
        return existing
    return Table(
        TABLE_NAME,
        metadata,
        Column("name", String(NAME_LENGTH), primary_key=True),
        Column("version", BigInteger, nullable=False, default=0),
    )
