"""How names are found: "name contains q, in any case", served by an index, never a scan.

The rule is plain: ``q``'s key (``rules.name_key``: NFKC, casefolded) is a
substring of the problem's ``name_key``, ``%``, ``_``, quotes and every other
character taken literally. The indexes (migration 0005) give exactly that:

- three characters or more: on SQLite, the FTS5 table ``problems_fts``
  (trigram tokenizer, case-sensitive over the casefolded keys), asked for the
  key as a quoted phrase; on PostgreSQL, ``name_key LIKE '%q%'`` (escaped),
  which ``pg_trgm``'s GIN index serves;
- one or two characters, which trigrams cannot serve: ``problem_grams``,
  every distinct piece of one or two characters of each key;
- no character at all (a query of characters the key drops): every name.

``documents`` builds the statements; this module says how a key is asked for.
"""

from __future__ import annotations

TRIGRAM = 3
# The data cache's tag of a three-character piece of names (``piece_tags``, ``query_tags``).
PIECE_TAG = "problem-names:"


def name_grams(key: str) -> set[str]:
    """The distinct pieces of one and two characters of a name's key: its ``problem_grams``."""
    return {key[i : i + n] for n in (1, 2) for i in range(len(key) - n + 1)}


def match_phrase(key: str) -> str:
    """FTS5's query for "contains ``key``": one quoted phrase, every character literal."""
    return '"' + key.replace('"', '""') + '"'


def like_pattern(key: str) -> str:
    """LIKE's pattern (``ESCAPE '/'``) for "contains ``key``", ``%`` and ``_`` taken literally.

    On PostgreSQL the statement runs with sequential and plain index scans
    off (``documents.PREFER_TRIGRAMS``): its planner prices a GIN scan for
    trigrams that many names share above a scan of the whole table, or a walk
    of another index filtering every row, which then grow with the catalogue;
    the GIN index answers in about a millisecond at 100,000 problems either way.
    """
    escaped = key.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def piece_tags(*keys: str) -> set[str]:
    """The data tags a write to names with these keys drops: one per three-character piece.

    A search whose key holds three characters or more finds a name only if the
    name holds each of its pieces, so it depends on its first one alone
    (:func:`query_tags`): a write drops the searches that could find the names
    it added, changed or removed, and keeps every other.
    """
    return {PIECE_TAG + key[i : i + TRIGRAM] for key in keys for i in range(len(key) - 2)}


def query_tags(key: str) -> tuple[str, ...]:
    """What a search for ``key`` depends on: its first piece; nothing finer when it is shorter."""
    return (PIECE_TAG + key[:TRIGRAM],) if len(key) >= TRIGRAM else ()
