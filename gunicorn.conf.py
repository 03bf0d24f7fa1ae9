"""gunicorn settings; each can be overridden on the command line or by GUNICORN_CMD_ARGS."""

import multiprocessing
import os

bind = os.environ.get("PRACTICE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
# Log to stderr. The access log holds the request line, never headers, so an
# Authorization token is not written anywhere.
accesslog = "-" if os.environ.get("PRACTICE_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("PRACTICE_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# No control socket: its default path ($XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl) is one per user, not per instance, so every gunicorn
# on the machine would bind the same socket and `gunicornc` could reach (and
# reload or stop) whichever started last. Nothing here uses gunicornc.
control_socket_disable = True
