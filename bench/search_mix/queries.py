"""The one sequence of searches both sides are sent: 1,000 queries of the catalogue, Zipf-ranked.

Queries come from the generated names, so that each matches something at
every size, and each matches at most one of our pages (50 rows) at every size
measured: our search pages 50 rows when no limit is sent, Next's answers
every match, so only then are both answers the same rows, byte for byte
(``sides.compare_next`` compares them). A single word of the names ("tree",
"median") matches far more than 50 problems at 100,000 (every name is one of
5,880 combinations, each repeated), so the queries are, in rank order:

1. the names without their unique word ("Median of Sorted Array II"), problem
   1's first: what a visitor types to find a problem they know (1 or 2 rows
   at 1,000 problems, 17 to 35 at 100,000; a name held by 51 names or more
   at some size is left out: "Merge Sorted Array", without a suffix, is in
   every "Merge Sorted Array II", "... in Place" and so on);
2. the first six characters of the unique words ("k00004": ten problems, fewer at the edges);
3. the unique words themselves ("k000042": one problem), to reach the count.

The sequence is ``requests`` draws with ``random.Random(seed)`` from a Zipf
distribution over that ranking: rank ``r`` has weight ``r ** -s``.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench.catalogue_growth.catalogue import Catalogue, token
from bench.search_mix.settings import PAGE, SEARCH

TOKEN_DIGITS = 6  # token(i) is "k" and six digits


@dataclass(frozen=True)
class Query:
    text: str
    kind: str  # "name", "prefix" or "token"
    rows: dict[int, int]  # the problems it matches, by catalogue size

    @property
    def path(self) -> str:
        return f"{SEARCH}?q={quote(self.text)}"


def combo_text(catalogue: Catalogue, index: int) -> str:
    """Problem ``index``'s name without its unique word: "Median of Sorted Array II"."""
    return catalogue.name(index).rsplit(" ", 1)[0]


def name_rows(combo_keys: list[str], text: str, sizes: list[int]) -> dict[int, int]:
    """How many of the first ``size`` problems' names contain ``text`` (any case), by size.

    Problem ``i``'s name is combination ``i % n`` (``combo_keys``: each one's
    key, ``rules.name_key``) and its token: a query of letters and spaces that
    ends in a word is in the name exactly when it is in the combination, so
    each combination is counted as often as it occurs.
    """
    from practice_app.rules import name_key

    key = name_key(text)
    found = [i for i, combo in enumerate(combo_keys) if key in combo]
    n = len(combo_keys)
    return {size: sum(size // n + (i < size % n) for i in found) for size in sizes}


def token_rows(prefix: str, sizes: list[int]) -> dict[int, int]:
    """How many of the first ``size`` problems' tokens start with ``prefix`` ("k00004"), by size.

    No name holds a digit, and "k" begins a token: the prefix matches there alone.
    """
    digits = prefix[1:]
    scale = 10 ** (TOKEN_DIGITS - len(digits))
    low, high = int(digits) * scale, (int(digits) + 1) * scale - 1  # token numbers, 1-based
    return {size: max(0, min(high, size) - max(low, 1) + 1) for size in sizes}


def build_queries(catalogue: Catalogue, sizes: list[int], count: int) -> list[Query]:
    """``count`` distinct queries, in rank order, each matching 1 to PAGE problems at every size."""
    from practice_app.rules import name_key

    combo_keys = [name_key(f"{a} {t}{s}") for a, t, s in catalogue.combos]
    smallest = min(sizes)
    names = dict.fromkeys(combo_text(catalogue, i) for i in range(smallest))
    prefixes = dict.fromkeys(token(i)[:TOKEN_DIGITS] for i in range(smallest))
    tokens = [token(i) for i in range(smallest)]
    candidates = itertools.chain(
        (Query(text, "name", name_rows(combo_keys, text, sizes)) for text in names),
        (Query(text, "prefix", token_rows(text, sizes)) for text in prefixes),
        (Query(text, "token", token_rows(text, sizes)) for text in tokens),
    )
    chosen: list[Query] = []
    for query in candidates:
        if all(1 <= rows <= PAGE for rows in query.rows.values()):
            chosen.append(query)
            if len(chosen) == count:
                return chosen
    raise SystemExit(f"only {len(chosen)} queries match 1 to {PAGE} problems at every size")


def zipf_sequence(ranked: int, requests: int, s: float, seed: int) -> list[int]:
    """``requests`` ranks (0-based) drawn from Zipf(``s``) over ``ranked`` ranks, seeded."""
    weights = list(itertools.accumulate((rank + 1) ** -s for rank in range(ranked)))
    return random.Random(seed).choices(range(ranked), cum_weights=weights, k=requests)


def write_paths(file: Path, queries: list[Query], sequence: list[int]) -> None:
    """The sequence as wrk's Lua script walks it: one path a line, ``/api/search?q=...``."""
    file.write_text("".join(queries[rank].path + "\n" for rank in sequence), encoding="utf-8")


@dataclass
class Mix:
    """The queries, the sequence of ranks, and the file of paths it was written to."""

    queries: list[Query]
    sequence: list[int]
    file: Path

    def distinct(self) -> int:
        return len(set(self.sequence))

    def head_share(self, top: int) -> float:
        """The share of the requests that ask one of the ``top`` first queries."""
        return sum(rank < top for rank in self.sequence) / len(self.sequence)

    def kinds(self) -> Counter[str]:
        """Requests by kind of query."""
        return Counter(self.queries[rank].kind for rank in self.sequence)

    def repeat_share(self, window: int) -> float:
        """The share of requests that repeat a query asked earlier in their run of ``window``.

        With a write every ``window`` requests dropping every entry, and no
        other loss, that is the data cache's hit ratio over the sequence.
        """
        window = max(1, window)
        repeats = 0
        for start in range(0, len(self.sequence), window):
            chunk = self.sequence[start : start + window]
            repeats += len(chunk) - len(set(chunk))
        return repeats / len(self.sequence)

    def mean_rows(self, size: int) -> float:
        """Rows per answer over the sequence at ``size`` problems (before any write)."""
        return sum(self.queries[rank].rows[size] for rank in self.sequence) / len(self.sequence)


def make_mix(
    catalogue: Catalogue,
    sizes: list[int],
    count: int,
    requests: int,
    s: float,
    seed: int,
    file: Path,
) -> Mix:
    """``count`` queries and a sequence of ``requests``, the sequence written to ``file``."""
    queries = build_queries(catalogue, sizes, count)
    sequence = zipf_sequence(len(queries), requests, s, seed)
    write_paths(file, queries, sequence)
    return Mix(queries, sequence, file)
