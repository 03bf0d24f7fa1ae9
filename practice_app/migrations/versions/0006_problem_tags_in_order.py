"""problem_tags in order: an index the list's documents read their tags from, with no sort

Revision ID: 0006_problem_tags_in_order
Revises: 0005_search_indexes
Create Date: 2026-11-29 21:15:00
"""
from alembic import op


revision = '0006_problem_tags_in_order'
down_revision = '0005_search_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_problem_tags_in_order", "problem_tags", ["problem_id", "position", "tag"], unique=False
    )


def downgrade():
    op.drop_index("ix_problem_tags_in_order", table_name="problem_tags")
