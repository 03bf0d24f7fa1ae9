"""Commands: ``flask --app practice_app seed | users create | tokens create | cache clear|warm``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from . import caching, services
from .errors import FieldErrors, ValueTaken

users = AppGroup("users", help="Manage accounts.")
tokens = AppGroup("tokens", help="Manage API tokens.")
cache_group = AppGroup("cache", help="Manage the response cache.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _read_password() -> str:
    """Read a password: from a prompt on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.command("seed")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the catalogue has no problem.")
def seed_command(if_empty: bool) -> None:
    """Load the sample problems that are not there yet."""
    if if_empty and services.problem_stats()["total"]:
        click.echo("The catalogue has problems already; nothing loaded.")
        return
    added = services.seed_problems()
    click.echo(f"Added {added} sample problems.")


@users.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Let this user change every problem.")
def users_create(name: str, admin: bool) -> None:
    """Create an account; the password comes from a prompt or standard input."""
    if services.find_user(name) is not None:
        _fail(f"a user named {name!r} exists already.")
    password = _read_password()
    try:
        user = services.create_user(name, password, admin=admin)
    except (FieldErrors, ValueTaken) as err:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in err.details.items())
        _fail(problems)
        return
    click.echo(f"Created {'admin ' if user.is_admin else ''}user {user.name}.")


@tokens.command("create")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
def tokens_create(name: str, label: str) -> None:
    """Create an API token for user NAME and print it once, on the last line."""
    user = services.find_user(name)
    if user is None:
        _fail(f"no user named {name!r}.")
        return
    _row, token = services.create_token(user, label)
    click.echo(f"API token for {user.name} (shown once; only its hash is kept):", err=True)
    click.echo(token)


@cache_group.command("clear")
def cache_clear() -> None:
    """Drop every stored response (the static clock included)."""
    services.clear_cache()
    click.echo("Cache cleared.")


@cache_group.command("warm")
def cache_warm() -> None:
    """Store every static and revalidating route without parameters, as ``next build`` renders them.

    Run after migrating, before traffic (``make run`` does): the first GET of
    the list is then a hit.
    """
    for warmed in caching.warm():
        click.echo(f"{warmed.path}: {warmed.outcome}")


def register(app: Flask) -> None:
    """Add the commands to ``flask``."""
    app.cli.add_command(seed_command)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(cache_group)
