"""The server configuration licserver ships; gunicorn reads it by itself when
started in this folder, or with ``-c /path/to/gunicorn.conf.py``. Command-line
options and ``GUNICORN_CMD_ARGS`` override it (``--workers 8``). Why each
value: docs/reliability.md, "Slow clients"; README, Deployment."""

import os
import shutil
import tempfile

# Several workers, one /metrics: prometheus-client's multiprocess mode. Set
# before anything imports prometheus_client (the worker class below imports
# licserver). A folder the deployment names (on tmpfs) is kept and emptied at
# start; without one, a private folder is made and removed at exit.
_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_own_metrics_dir = None
if not os.environ.get(_METRICS_ENV):
    _own_metrics_dir = tempfile.mkdtemp(prefix="licserver-metrics-")
    os.environ[_METRICS_ENV] = _own_metrics_dir

bind = "127.0.0.1:8000"
workers = 2
# gthread with licserver's changes: a request is read whole in the worker's
# event loop before a thread serves it, so idle and slow clients take no
# thread; problem+json for gunicorn's own parse errors under /api/.
worker_class = "licserver.serving.ApiThreadWorker"
threads = 8
worker_connections = 1000  # open connections per worker, idle ones included
keepalive = 5  # seconds an idle kept-alive connection stays open
timeout = 30  # the arbiter restarts a worker whose event loop is stuck this long
graceful_timeout = 20
# Tokens of invitation, reset and download links never reach the access log.
logger_class = "licserver.gunicorn_logging.RedactingLogger"
# Request limits: gunicorn's defaults, named. A longer request line answers
# 414, more or longer header fields 431 (problem+json under /api/).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def on_starting(server):
    from licserver.observability import on_starting as empty_metrics_dir

    empty_metrics_dir(server)


def child_exit(server, worker):
    from licserver.observability import child_exit as retire_worker

    retire_worker(server, worker)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
