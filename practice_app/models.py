"""Typed SQLAlchemy 2.0 models: tables and relations, nothing else."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

DIFFICULTIES = ("easy", "medium", "hard")
# The id columns are 32-bit INTEGER (PostgreSQL's int4): a larger id names nothing.
MAX_ID = 2**31 - 1


# How the resources' times are written: UTC, whole seconds, ``Z`` (ISO 8601).
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_session_token() -> str:
    """Return a fresh random session token."""
    return secrets.token_hex(16)


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    # casefolded name: the unique index that makes "Alice" and "alice" one user
    name_key: Mapped[str] = mapped_column(String(160), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Part of the id that sessions and remember-me cookies carry: a new one
    # signs every cookie of this user out.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id"
    )
    problems: Mapped[list[Problem]] = relationship(back_populates="author")

    def get_id(self) -> str:
        # Flask-Login's "alternative token": what the session and the
        # remember-me cookie carry, checked by the user loader in create_app.
        return f"{self.id}:{self.session_token}"


class ApiToken(db.Model):  # type: ignore[name-defined]
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    # SHA-256 of the token, hex: the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, to tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


class Problem(db.Model):  # type: ignore[name-defined]
    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint("difficulty IN ('easy', 'medium', 'hard')", name="difficulty"),
        # SQLite: never give a deleted problem's id to a new one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # NFC-normalised, casefolded name: unique (a second "two sum" is a conflict)
    # and what search matches against, the same way on SQLite and PostgreSQL.
    name_key: Mapped[str] = mapped_column(String(800), unique=True)
    difficulty: Mapped[str] = mapped_column(String(6), default="medium", index=True)
    statement: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    author: Mapped[User] = relationship(back_populates="problems", lazy="joined")
    tag_rows: Mapped[list[ProblemTag]] = relationship(
        cascade="all, delete-orphan",
        order_by="ProblemTag.position",
        lazy="selectin",
    )


class ProblemTag(db.Model):  # type: ignore[name-defined]
    __tablename__ = "problem_tags"
    # Every problem's tags in order, read from the index alone (the list's documents).
    __table_args__ = (Index("ix_problem_tags_in_order", "problem_id", "position", "tag"),)

    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProblemGram(db.Model):  # type: ignore[name-defined]
    """Each distinct piece of one or two characters of a problem's ``name_key``.

    What finds a name by a one- or two-character query: the trigram indexes
    that serve longer ones (SQLite's FTS5 ``problems_fts``, PostgreSQL's
    ``pg_trgm`` GIN index, made by the migrations) need three characters.
    """

    __tablename__ = "problem_grams"

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IdempotentRequest(db.Model):  # type: ignore[name-defined]
    """A ``POST /api/problems`` sent with ``Idempotency-Key``, and the answer to replay.

    One row per token and key: the unique constraint decides which of two
    requests with one key creates, and the other replays its answer. Rows
    older than ``IDEMPOTENCY_KEY_SECONDS`` are deleted by the next keyed POST.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the request's JSON, canonical: the same key with another body is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=0)
    location: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
