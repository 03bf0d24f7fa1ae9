"""Concurrent edits and deletes of one problem over HTTP, for any live server.

The contract: they give 200, 204, 404 or 409 (409 only for a name that is
taken), never a 500, on SQLite and on PostgreSQL. The SQLite and the
PostgreSQL end-to-end modules run the same checks.
"""

from __future__ import annotations

import concurrent.futures
import threading
import uuid
from collections import Counter
from typing import Any

import requests

from tests.support.auth import bearer
from tests.support.servers import LiveServer

TAGS = ["arrays", "graphs", "dp", "strings", "math", "greedy", "trees"]
DIFFICULTIES = ["easy", "medium", "hard"]


def create_problem(server: LiveServer, token: str, name: str, **fields: Any) -> int:
    response = requests.post(
        server.url("/api/problems"),
        json={"name": name, **fields},
        headers=bearer(token),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def concurrent_edits_of_one_problem(
    server: LiveServer, token: str, *, patches: int = 200, threads: int = 16
) -> None:
    """PATCH one problem's tags from many threads: each is a 200 but renames to a taken name."""
    suffix = uuid.uuid4().hex[:8]
    name = f"Raced {suffix}"
    taken = f"Taken {suffix}"
    create_problem(server, token, taken)
    problem_id = create_problem(server, token, name, tags=["arrays"])
    url = server.url(f"/api/problems/{problem_id}")

    def patch(i: int) -> tuple[int, dict[str, Any], Any]:
        # Overlapping tag sets, so racing edits delete and insert the same tag rows.
        fields: dict[str, Any] = {
            "tags": [TAGS[(i + k) % len(TAGS)] for k in range(1 + i % 4)],
            "difficulty": DIFFICULTIES[i % 3],
        }
        if i % 5 == 1:
            fields["name"] = name  # its own name: never a conflict
        if i % 25 == 7:
            fields["name"] = taken.upper()  # another problem's name, in another case
        response = requests.patch(url, json=fields, headers=bearer(token), timeout=60)
        body = response.json() if response.content else None
        return response.status_code, fields, body

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(patch, range(patches)))
    statuses = Counter(status for status, _, _ in results)
    renames = sum(1 for _, fields, _ in results if fields.get("name") == taken.upper())
    assert statuses == Counter({200: patches - renames, 409: renames}), statuses
    for status, fields, body in results:
        if status == 200:
            assert body["tags"] == fields["tags"]
            assert body["name"] == name
        else:
            assert body["details"] == {"name": ["A problem with this name already exists."]}
    final = requests.get(url, timeout=10).json()
    assert final["name"] == name
    assert final["tags"] in [fields["tags"] for status, fields, _ in results if status == 200]


def deletes_racing_edits(server: LiveServer, token: str, *, threads: int = 8) -> None:
    """PATCHes and DELETEs of one problem at once: 200 then 404, one 204, nothing else."""
    problem_id = create_problem(server, token, f"Deleted {uuid.uuid4().hex[:8]}", tags=["dp"])
    url = server.url(f"/api/problems/{problem_id}")
    edited = threading.Event()

    def patch_until_gone(i: int) -> list[int]:
        statuses: list[int] = []
        for j in range(200):
            tags = [TAGS[(i + j + k) % len(TAGS)] for k in range(1 + j % 3)]
            response = requests.patch(url, json={"tags": tags}, headers=bearer(token), timeout=60)
            statuses.append(response.status_code)
            if response.status_code == 200:
                edited.set()
            if response.status_code != 200:
                break
        return statuses

    def delete(_: int) -> int:
        assert edited.wait(30), "no PATCH succeeded"
        return requests.delete(url, headers=bearer(token), timeout=60).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads + 3) as pool:
        patching = [pool.submit(patch_until_gone, i) for i in range(threads)]
        deleting = [pool.submit(delete, i) for i in range(3)]
        deletes = sorted(future.result() for future in deleting)
        patches = [future.result() for future in patching]
    assert deletes == [204, 404, 404], deletes
    for statuses in patches:
        assert set(statuses[:-1]) <= {200}, statuses
        assert statuses[-1] == 404, statuses
    assert requests.get(url, timeout=10).status_code == 404


def ids_are_never_reused(server: LiveServer, token: str) -> None:
    """Delete the newest problem, then create one: it gets a new id, not the deleted one's."""
    newest = create_problem(server, token, f"Newest {uuid.uuid4().hex[:8]}")
    gone = requests.delete(server.url(f"/api/problems/{newest}"), headers=bearer(token), timeout=10)
    assert gone.status_code == 204, gone.text
    after = create_problem(server, token, f"After {uuid.uuid4().hex[:8]}")
    assert after > newest
    assert requests.get(server.url(f"/api/problems/{newest}"), timeout=10).status_code == 404


def conditional_writes_with_one_etag(
    server: LiveServer, token: str, *, rounds: int = 15, writers: int = 2
) -> None:
    """Writers that read one ETag and PATCH with ``If-Match`` at once: one 200, the rest 412."""
    problem_id = create_problem(server, token, f"Conditional {uuid.uuid4().hex[:8]}")
    url = server.url(f"/api/problems/{problem_id}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=writers) as pool:
        for round_ in range(rounds):
            etag = requests.get(url, timeout=10).headers["ETag"]
            start = threading.Barrier(writers)

            def patch(
                i: int, etag: str = etag, start: threading.Barrier = start, round_: int = round_
            ) -> Any:
                start.wait(10)
                return requests.patch(
                    url,
                    json={"statement": f"round {round_} writer {i}"},
                    headers={**bearer(token), "If-Match": etag},
                    timeout=60,
                )

            answers = list(pool.map(patch, range(writers)))
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [200] + [412] * (writers - 1), statuses
            (winner,) = [answer for answer in answers if answer.status_code == 200]
            current = requests.get(url, timeout=10)
            assert current.json()["statement"] == winner.json()["statement"]
            assert current.headers["ETag"] == winner.headers["ETag"]


def idempotent_posts_with_one_key(
    server: LiveServer, token: str, *, rounds: int = 5, clients: int = 10
) -> None:
    """Ten POSTs with one Idempotency-Key at once: one problem, every answer its 201 (or a 409)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        for _round in range(rounds):
            key = uuid.uuid4().hex
            name = f"Idempotent {key[:8]}"
            start = threading.Barrier(clients)

            def post(_: int, key: str = key, name: str = name, start: Any = start) -> Any:
                start.wait(10)
                return requests.post(
                    server.url("/api/problems"),
                    json={"name": name, "tags": ["retry"]},
                    headers={**bearer(token), "Idempotency-Key": key},
                    timeout=60,
                )

            answers = list(pool.map(post, range(clients)))
            created = [answer for answer in answers if answer.status_code == 201]
            assert {answer.status_code for answer in answers} <= {201, 409}, [
                (answer.status_code, answer.text) for answer in answers
            ]
            assert created, "no POST created the problem"
            assert len({answer.content for answer in created}) == 1
            assert len({answer.headers["Location"] for answer in created}) == 1
            assert [a.headers["Idempotent-Replayed"] for a in created].count("false") == 1
            found = requests.get(server.url("/api/search"), params={"q": name}, timeout=10)
            assert found.headers["X-Total-Count"] == "1", found.text
