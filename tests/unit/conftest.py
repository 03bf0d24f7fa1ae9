"""Fixtures of the unit tests: an API token, and the test client signed in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.support.forms import sign_in


@pytest.fixture
def token(make_user: Callable[..., int], make_token: Callable[[str], str]) -> str:
    """An API token of alice, a new user."""
    make_user("alice")
    return make_token("alice")


@pytest.fixture
def alice(client: FlaskClient, make_user: Callable[..., int]) -> FlaskClient:
    """The test client, signed in as alice."""
    make_user("alice")
    sign_in(client, "alice")
    return client
