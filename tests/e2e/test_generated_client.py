"""A typed client generated from /api/openapi.json calls the running app.

openapi-python-client writes a Python package from the document served by
gunicorn; the test imports it and uses it as a client's author would: list,
create with a token, read, change with If-Match, search, whoami, and a 404
parsed as the error model. A document a generator cannot use fails here.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import requests

from devservers.processes import BIN
from tests.support.servers import LiveServer

PACKAGE = "practice_client"


@pytest.fixture(scope="module")
def generated(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The client package, generated from the live document and imported."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    served = requests.get(live_server.url("/api/openapi.json"), timeout=10)
    document.write_text(json.dumps(served.json()))
    config = folder / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The generator says so when it skips an operation or a schema it cannot read.
    assert "Warning" not in output and "Unable" not in output, output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generated_client_speaks_to_the_app(generated: Any, live_server: LiveServer) -> None:
    token = live_server.user_token("genclient")
    anonymous = generated.Client(base_url=live_server.base_url)
    client = generated.AuthenticatedClient(base_url=live_server.base_url, token=token)
    list_problems = _module("api.problems.list_problems")
    create_problem = _module("api.problems.create_problem")
    get_problem = _module("api.problems.get_problem")
    update_problem = _module("api.problems.update_problem")
    search_problems = _module("api.search.search_problems")
    who_am_i = _module("api.account.who_am_i")
    models = _module("models")

    listed = list_problems.sync_detailed(client=anonymous)
    assert listed.status_code == 200
    assert isinstance(listed.parsed, list)
    before = len(listed.parsed)

    created = create_problem.sync_detailed(
        client=client,
        body=models.ProblemInput(name="Generated Client", tags=["codegen"], statement="*Hi*"),
        idempotency_key="generated-client-1",
    )
    assert created.status_code == 201, created.content
    problem = created.parsed
    assert isinstance(problem, models.ProblemOut)
    assert (problem.name, problem.tags, problem.author) == (
        "Generated Client",
        ["codegen"],
        "genclient",
    )
    assert problem.difficulty == models.ProblemOutDifficulty.MEDIUM
    assert created.headers["Location"] == f"/api/problems/{problem.id}"

    got = get_problem.sync_detailed(problem.id, client=anonymous)
    assert got.status_code == 200
    assert isinstance(got.parsed, models.ProblemOut) and got.parsed.id == problem.id
    assert got.parsed.created_at.tzinfo is not None
    etag = got.headers["ETag"]
    again = get_problem.sync_detailed(problem.id, client=anonymous, if_none_match=etag)
    assert again.status_code == 304

    patched = update_problem.sync_detailed(
        problem.id,
        client=client,
        body=models.ProblemPatch(difficulty=models.ProblemPatchDifficulty.HARD),
        if_match=etag,
    )
    assert patched.status_code == 200, patched.content
    assert patched.parsed.difficulty == models.ProblemOutDifficulty.HARD
    stale = update_problem.sync_detailed(
        problem.id, client=client, body=models.ProblemPatch(name="Too Late"), if_match=etag
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.ErrorBody)

    found = search_problems.sync_detailed(client=anonymous, q="generated", limit=1)
    assert found.status_code == 200
    assert [p.id for p in found.parsed] == [problem.id]
    assert found.headers["X-Total-Count"] == "1"

    who = who_am_i.sync_detailed(client=client)
    assert who.status_code == 200
    assert (who.parsed.user.name, who.parsed.user.admin) == ("genclient", False)
    nobody = who_am_i.sync_detailed(client=anonymous)
    assert nobody.parsed.user is None

    missing = get_problem.sync_detailed(2_000_000_000, client=anonymous)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorBody)
    assert missing.parsed.error == "Problem not found"

    invalid = create_problem.sync_detailed(
        client=client, body=models.ProblemInput(name="Two\u200bSum")
    )
    assert invalid.status_code == 422
    assert "name" in invalid.parsed.details.additional_properties

    unauthorised = create_problem.sync_detailed(
        client=anonymous, body=models.ProblemInput(name="No Token")
    )
    assert unauthorised.status_code == 401 and isinstance(unauthorised.parsed, models.ErrorBody)

    listed = list_problems.sync(client=anonymous)
    assert len(listed) == before + 1
