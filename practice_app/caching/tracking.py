"""Observing which parts of the request a view reads (the ``auto`` mode's evidence)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Request
from werkzeug.datastructures import ETags, Headers, ImmutableMultiDict


class _Watched:
    """A request attribute whose reads are recorded while a view runs.

    Plain attributes that Werkzeug sets in ``__init__`` (``headers``,
    ``query_string``, ``remote_addr``) are kept under a private name; the
    others delegate to the property of the base class.
    """

    def __init__(self, blank: Callable[[Any], Any]) -> None:
        self.blank = blank
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.private = f"_watched_{name}"

    def _base(self, owner: type) -> Any:
        """What Werkzeug's request class (or the app's own) defines under this name."""
        for klass in owner.__mro__[1:]:
            found = klass.__dict__.get(self.name)
            if found is not None and not isinstance(found, _Watched):
                return found
        return None

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__
        reads = state.get("_cache_reads")
        if reads is not None:
            reads.add(self.name)
            if state.get("_cache_blank"):
                return self.blank(obj)
        if self.private in state:
            return state[self.private]
        base = self._base(type(obj))
        if base is None:
            raise AttributeError(self.name)
        return base.__get__(obj, type(obj))

    def __set__(self, obj: Any, value: Any) -> None:
        base = self._base(type(obj))
        if base is not None and hasattr(base, "__set__"):
            base.__set__(obj, value)
        else:
            obj.__dict__[self.private] = value


def _empty_multidict(_request: Any) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict()


class TrackingRequest(Request):
    """Flask's request, recording which parts of it a view reads (see :meth:`observe`)."""

    headers = _Watched(lambda _r: Headers())
    query_string = _Watched(lambda _r: b"")
    remote_addr = _Watched(lambda _r: None)
    args = _Watched(_empty_multidict)
    cookies = _Watched(_empty_multidict)
    form = _Watched(_empty_multidict)
    files = _Watched(_empty_multidict)
    values = _Watched(_empty_multidict)
    data = _Watched(lambda _r: b"")
    json = _Watched(lambda _r: None)
    stream = _Watched(lambda _r: io.BytesIO())
    authorization = _Watched(lambda _r: None)
    user_agent = _Watched(lambda r: Request.user_agent_class(""))
    access_route = _Watched(lambda _r: [])
    url = _Watched(lambda r: r.base_url)
    full_path = _Watched(lambda r: r.path + "?")
    if_none_match = _Watched(lambda _r: ETags())

    def get_data(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_cache_reads") is not None:
            self.__dict__["_cache_reads"].add("body")
            if self.__dict__.get("_cache_blank"):
                return "" if kwargs.get("as_text") else b""
        return super().get_data(*args, **kwargs)

    def get_json(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_cache_reads") is not None:
            self.__dict__["_cache_reads"].add("body")
            if self.__dict__.get("_cache_blank"):
                return None
        return super().get_json(*args, **kwargs)

    @contextmanager
    def observe(self, blank: bool) -> Iterator[set[str]]:
        """Record the parts of the request read inside the block; ``blank`` hides them."""
        reads: set[str] = set()
        self.__dict__["_cache_reads"] = reads
        self.__dict__["_cache_blank"] = blank
        try:
            yield reads
        finally:
            self.__dict__["_cache_reads"] = None
            self.__dict__["_cache_blank"] = False


def observe_requests(app: Flask) -> None:
    """Make ``app``'s requests :class:`TrackingRequest`, keeping the app's own request class.

    An app with a request class of its own gets one that is both (reads of
    its own attributes are not observed, only Werkzeug's above).
    """
    own = app.request_class
    if issubclass(own, TrackingRequest):
        return
    if own is Request:
        app.request_class = TrackingRequest
    else:
        app.request_class = type(f"Tracking{own.__name__}", (TrackingRequest, own), {})
