"""The synthetic problems the benchmarks serve: realistic names, the seed statements, tags.

A name is an action, a topic and a suffix ("Diameter of Binary Tree II"), the
combinations in one order shuffled once, the same in every run; statements and
two tags come from the seed problems in turn, a third tag from the topic.
``bench/run.py`` loads them through the services; ``bench/growth.py`` numbers
them, adds each a unique word and writes rows (``catalogue_growth/catalogue.py``).
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

ACTIONS = [
    "Maximum Depth of", "Minimum Cost of", "Longest", "Shortest", "Count", "Merge",
    "Validate", "Reverse", "Rotate", "Serialize", "Balance", "Flatten", "Sum of",
    "Kth Smallest in", "Search in", "Clone", "Invert", "Level Order of", "Diameter of",
    "Lowest Common Ancestor in", "Sliding Window over", "Partition", "Sort", "Encode",
    "Decode", "Range Sum of", "Zigzag", "Top K in", "Median of", "Distinct",
]  # fmt: skip
TOPICS = {
    "Binary Tree": "trees", "Binary Search Tree": "trees", "Segment Tree": "trees",
    "Spanning Tree": "graphs", "Tree Paths": "trees", "Trie": "tries", "Array": "arrays",
    "Sorted Array": "arrays", "Linked List": "linked-lists", "String": "strings",
    "Palindrome": "strings", "Graph": "graphs", "Grid": "matrices", "Matrix": "matrices",
    "Heap": "heaps", "Intervals": "intervals", "Subarray": "arrays",
    "Subsequence": "dynamic-programming", "Stack": "stacks", "Queue": "queues",
    "Islands": "graphs", "Words": "strings", "Parentheses": "stacks", "Coins": "greedy",
    "Stock Prices": "dynamic-programming", "Calendar": "intervals", "Bits": "bits",
    "Polygon": "geometry",
}  # fmt: skip
SUFFIXES = ["", " II", " III", " IV", " with Duplicates", " in Place", " Without Recursion"]
DIFFICULTIES = ["easy", "medium", "medium", "hard"]


def seed_problems() -> list[dict[str, Any]]:
    """The package's seed problems (``flask seed``'s), for their statements and tags."""
    text = resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    return list(json.loads(text))


def name_parts() -> list[tuple[str, str, str]]:
    """Every (action, topic, suffix), in the one shuffled order."""
    combos = [(a, t, s) for a in ACTIONS for t in TOPICS for s in SUFFIXES]
    random.Random(2026).shuffle(combos)
    return combos


def problem_fields(count: int) -> Iterator[dict[str, Any]]:
    """Realistic problems: names like "Diameter of Binary Tree II", seed statements, tags."""
    seeds = seed_problems()
    for index, (action, topic, suffix) in enumerate(name_parts()[:count]):
        yield {
            "name": f"{action} {topic}{suffix}",
            "difficulty": DIFFICULTIES[index % len(DIFFICULTIES)],
            "tags": [TOPICS[topic], *seeds[index % len(seeds)]["tags"][:2]],
            "statement": seeds[index % len(seeds)]["statement"],
        }


def load_problems(app: Any, count: int) -> float:
    """Create a user and ``count`` problems through the services; return the seconds taken."""
    from practice_app import services

    started = time.perf_counter()
    with app.app_context():
        author = services.create_user("bench", secrets.token_urlsafe(24))
        for fields in problem_fields(count):
            services.create_problem(author, services.load_problem_fields(fields))
    return time.perf_counter() - started
