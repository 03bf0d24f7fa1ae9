"""search that does not scan: trigram indexes over name_key, and a table of 1-2 character pieces

Revision ID: 0005_search_indexes
Revises: 0004_nfkc_name_keys
Create Date: 2026-11-29 19:10:00

"Name contains q, in any case" is ``q`` (casefolded like the names) being a
substring of ``problems.name_key``. Three indexes serve it:

- SQLite: ``problems_fts``, an FTS5 table with the trigram tokenizer
  (case-sensitive: the keys are casefolded already) over ``name_key``, kept in
  step with ``problems`` by triggers; a quoted phrase of 3 or more
  characters matches exactly the keys that contain it.
- PostgreSQL: ``pg_trgm``'s GIN index on ``name_key``, which serves
  ``name_key LIKE '%q%'`` for 3 or more characters.
- Both: ``problem_grams``, every distinct piece of one or two characters of
  each key (trigrams cannot serve those), written by ``services`` with the
  name and deleted with the problem (``ON DELETE CASCADE``).
"""
import sqlalchemy as sa
from alembic import op


revision = "0005_search_indexes"
down_revision = "0004_nfkc_name_keys"
branch_labels = None
depends_on = None


def grams(key):
    """The distinct pieces of one and two characters of ``key`` (as services makes them)."""
    return {key[i : i + n] for n in (1, 2) for i in range(len(key) - n + 1)}


def upgrade():
    op.create_table(
        "problem_grams",
        sa.Column("gram", sa.String(length=2), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_problem_grams_problem_id_problems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gram", "problem_id", name=op.f("pk_problem_grams")),
    )
    op.create_index(
        op.f("ix_problem_grams_problem_id"), "problem_grams", ["problem_id"], unique=False
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name_key FROM problems")).all()
    pieces = [{"gram": g, "problem_id": pid} for pid, key in rows for g in sorted(grams(key))]
    if pieces:
        table = sa.table("problem_grams", sa.column("gram"), sa.column("problem_id"))
        op.bulk_insert(table, pieces)

    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE problems_fts USING fts5("
            "name_key, content='problems', content_rowid='id', "
            "tokenize='trigram case_sensitive 1')"
        )
        op.execute(
            "CREATE TRIGGER problems_fts_insert AFTER INSERT ON problems BEGIN "
            "INSERT INTO problems_fts(rowid, name_key) VALUES (new.id, new.name_key); END"
        )
        op.execute(
            "CREATE TRIGGER problems_fts_delete AFTER DELETE ON problems BEGIN "
            "INSERT INTO problems_fts(problems_fts, rowid, name_key) "
            "VALUES ('delete', old.id, old.name_key); END"
        )
        op.execute(
            "CREATE TRIGGER problems_fts_update AFTER UPDATE OF name_key ON problems BEGIN "
            "INSERT INTO problems_fts(problems_fts, rowid, name_key) "
            "VALUES ('delete', old.id, old.name_key); "
            "INSERT INTO problems_fts(rowid, name_key) VALUES (new.id, new.name_key); END"
        )
        op.execute("INSERT INTO problems_fts(problems_fts) VALUES ('rebuild')")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_problems_name_key_trgm ON problems USING gin (name_key gin_trgm_ops)"
        )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS problems_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS problems_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_problems_name_key_trgm")
    op.drop_index(op.f("ix_problem_grams_problem_id"), table_name="problem_grams")
    op.drop_table("problem_grams")
