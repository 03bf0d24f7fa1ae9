"""problem ids never reused, cache versions, per-user session token

Revision ID: 0002_ids_versions_sessions
Revises: 0001_initial
Create Date: 2026-11-29 16:45:00

- SQLite gives a deleted problem's id to the next one unless the table is
  AUTOINCREMENT; PostgreSQL's sequence never reuses one already.
- ``cache_versions``: the version of each cached path and tag, bumped in the
  transaction of every write; a stored response is served only while the
  versions it was rendered under are still the database's.
- ``users.session_token``: part of the id that sessions and remember-me
  cookies carry; replacing it signs every cookie of the user out.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_ids_versions_sessions'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(
            "problems", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass

    op.create_table(
        "cache_versions",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_versions")),
    )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_token", sa.String(length=64), nullable=False, server_default="")
        )
    random_hex = (
        "lower(hex(randomblob(16)))" if bind.dialect.name == "sqlite" else "md5(random()::text)"
    )
    op.execute(f"UPDATE users SET session_token = {random_hex}")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_token", server_default=None)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_token")
    op.drop_table("cache_versions")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "problems", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
