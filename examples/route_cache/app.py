"""Next.js's static and dynamic GET, with read-after-write, in a Flask app of its own.

The ``route_cache`` folder is a copy of ``practice_app/caching``. Run:
``flask --app app init-db``, then ``gunicorn -w 3 app:app``.
"""

import os
import time

from flask import Flask, request
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from route_cache import RouteCache, cache_view, invalidate_tag
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()
route_cache = RouteCache(db=db, cache=Cache())


class Note(db.Model):  # type: ignore[name-defined]
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


app = Flask(__name__)
app.config.update(
    SQLALCHEMY_DATABASE_URI="sqlite:///notes.sqlite3",  # in the instance folder
    CACHE_TYPE="FileSystemCache",  # a directory every worker shares; or RedisCache
    CACHE_DIR="cache",
)
app.config.from_prefixed_env()  # FLASK_SQLALCHEMY_DATABASE_URI=postgresql+psycopg://...
db.init_app(app)


@app.get("/notes")
@cache_view(tags=["notes"])  # static: it reads nothing of the request
def notes() -> list[str]:
    return list(db.session.scalars(select(Note.text).order_by(Note.id)))


@app.post("/notes")
def add_note() -> tuple[dict[str, int], int]:
    note = Note(text=str(request.form["text"]))
    db.session.add(note)
    invalidate_tag("notes")  # in the write's transaction: stale on every worker once it commits
    db.session.commit()
    return {"id": note.id}, 201


@app.get("/hello")
def hello() -> dict[str, str]:  # reads the query string: dynamic, never stored
    return {"hello": request.args.get("name", "world")}


@app.get("/random")
@cache_view("force-dynamic")
def random() -> dict[str, str]:
    return {"random": os.urandom(8).hex()}


@app.get("/time")
@cache_view(revalidate=2)  # stored, served stale after 2 s while one worker renders it again
def now() -> dict[str, float]:
    return {"now": time.time()}


@app.cli.command("init-db")
def init_db() -> None:
    db.create_all()  # the notes table and the cache's versions table


route_cache.init_app(app)  # after the views: it reads their declarations
