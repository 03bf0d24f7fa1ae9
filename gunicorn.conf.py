"""gunicorn settings; each can be overridden on the command line or by GUNICORN_CMD_ARGS."""

import multiprocessing
import os

bind = os.environ.get("PRACTICE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threads, so that a client sending its request slowly holds one thread, not a
# whole worker (a sync worker is one request at a time: twenty clients
# trickling their headers stopped every worker). gthread reads a request with
# blocking reads and no timeout, so each such client holds its thread until
# its request is in: workers x threads of them (40 on two CPUs) stop the app,
# hence nginx in front in production (docs/operations.md, "Slow clients and the proxy").
# Not gevent: SQLite's calls and its busy wait would block a worker's every
# greenlet, and the cache's per-thread connections would become per-greenlet.
worker_class = "gthread"
threads = int(os.environ.get("PRACTICE_THREADS", "8"))
# A worker accepts only as many connections as it has threads: one whose
# threads are all busy leaves the next connection in the listen backlog for a
# worker with a free thread, instead of queueing it behind slow clients (with
# gunicorn's default of 1,000, thirty slow clients over 5 x 8 threads held
# others up for 6 s; with room for kept-alive connections beyond its threads,
# a worker whose threads slow clients held still took a connection, and kept
# it waiting 7 s). gthread keeps alive only the connections it has room for
# beyond its threads, so with these defaults it keeps none: each answer
# closes its connection (gunicorn warns "No keepalived connections can be
# handled"), and the proxy in front keeps its clients' connections. Given
# fewer threads than PRACTICE_THREADS (the outside harness's --threads 2), a
# worker keeps the rest alive, idle for 2 s at most.
worker_connections = threads
keepalive = 2
# Each thread keeps a database connection for the cache's hit path and takes
# another for a request. SQLAlchemy's pool holds 15 (5 + 10 overflow): with 8
# threads a request may wait a moment for one; beyond that, grow the pool too
# (FLASK_SQLALCHEMY_ENGINE_OPTIONS='{"pool_size": N}').
timeout = 30
graceful_timeout = 10
# A request line up to 8,190 bytes, gunicorn's largest (its default is 4,094),
# reaches the app: a long query string under /api/ gets the app's JSON answer
# with its X-Request-ID, not gunicorn's own bare HTML 414 without one. The
# proxy in front must refuse longer lines itself: nginx's
# `large_client_header_buffers 4 8k` (docs/nginx.conf) does, with a 414, as a
# line and its CRLF must fit one 8 KiB buffer. Header fields keep gunicorn's
# defaults: 8,190 bytes each (nginx's buffers refuse longer ones too), 100 of them.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
# The access log on stdout, errors on stderr. One line a request, cache hits
# included: its X-Request-ID, the client, method, path (percent-encoded, never
# the query string, which may hold a token), status, bytes, milliseconds and
# user; practice_app/telemetry.py puts the path and the user in the environ.
# No header and no cookie is ever written.
accesslog = "-" if os.environ.get("PRACTICE_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("PRACTICE_LOG_LEVEL", "info")
access_log_format = (
    'id=%({x-request-id}o)s %(h)s "%(m)s %({practice.path}e)s" %(s)s %(B)s '
    "%(M)sms user=%({practice.user}e)s"
)
# No control socket: its default path ($XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl) is one per user, not per instance, so every gunicorn
# on the machine would bind the same socket and `gunicornc` could reach (and
# reload or stop) whichever started last. Nothing here uses gunicornc.
control_socket_disable = True


def on_starting(server):
    """Give the workers' Prometheus metrics a fresh directory, so /metrics sums this run only.

    ``PROMETHEUS_MULTIPROC_DIR`` when the environment sets it (emptied), else
    a new temporary directory; the workers inherit the variable.
    """
    import shutil
    import tempfile

    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        shutil.rmtree(configured, ignore_errors=True)
        os.makedirs(configured, mode=0o700)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="practice-metrics-")
        server._practice_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def child_exit(server, worker):
    """Let prometheus_client drop a dead worker's live gauges (its counters still count)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this gunicorn made."""
    import shutil

    made = getattr(server, "_practice_metrics_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


def post_worker_init(worker):
    """Move what loading the app made out of the garbage collector's way.

    The app's modules, routes and schemas live as long as the worker: frozen,
    they are no longer traversed by each full collection, which a request
    that builds many objects (the list of every problem) sets off.
    """
    import gc

    gc.freeze()
