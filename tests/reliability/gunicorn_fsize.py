"""gunicorn config (via GUNICORN_CMD_ARGS="--config <this file>") that caps the
size of any file a worker writes at LICSERVER_TEST_FSIZE_LIMIT bytes: the
SQLite database and its WAL cannot grow past it, as on a full disk. Python
ignores SIGXFSZ, so a write past the cap fails with EFBIG (SQLITE_FULL)."""

import os
import resource


def post_fork(server: object, worker: object) -> None:
    limit = int(os.environ["LICSERVER_TEST_FSIZE_LIMIT"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
