"""Flask-Limiter on 127.0.0.1, for ratewise's tests and benchmarks (started by flask-limiter.ts).

Usage: /usr/bin/python3 flask_limiter_app.py PORT STRATEGY LIMIT
  PORT      0 for a free port
  STRATEGY  a Flask-Limiter strategy: fixed-window, moving-window, fixed-window-elastic-expiry
  LIMIT     a limit string such as "50 per 2 seconds"

Every path answers 200 {"ok": true} (any method) until the limit, then Flask-Limiter's 429. One limit for every
path and client, in memory, with Flask-Limiter's headers on every response: X-RateLimit-Limit, -Remaining, -Reset
(epoch seconds) and Retry-After (seconds), 200s included.

Stdout carries one JSON object per line: first {"port": N} once the socket listens, then for every request
{"id": i, "receivedAt": ms} when it arrives and {"id": i, "status": s, "answeredAt": ms} when its status is set,
instants in epoch ms (the same clock as Node's Date.now()). The process exits when its stdin closes, so a parent
that dies without stopping it leaves no server behind.
"""

import json
import logging
import os
import sys
import threading
import time

from flask import Flask
from flask_limiter import Limiter
from werkzeug.serving import ThreadedWSGIServer, make_server

HOST = "127.0.0.1"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

_write_lock = threading.Lock()


def emit(record):
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with _write_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def now_ms():
    return time.time() * 1000


class RequestLog:
    """WSGI middleware: logs each request's arrival, and its status at the moment the application sets it."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            request_id = self.count
            self.count += 1
        emit({"id": request_id, "receivedAt": now_ms()})

        def logged_start_response(status, headers, exc_info=None):
            emit({"id": request_id, "status": int(status.split(" ", 1)[0]), "answeredAt": now_ms()})
            return start_response(status, headers, exc_info)

        return self.app(environ, logged_start_response)


def create_app(strategy, limit):
    app = Flask(__name__)
    app.config.update(
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_STRATEGY=strategy,
    )
    # One key for every client: the tests and benchmarks all come from 127.0.0.1 anyway.
    Limiter(lambda: "all", app=app, default_limits=[limit])

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def item(path):
        return {"ok": True}

    app.wsgi_app = RequestLog(app.wsgi_app)
    return app


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    port, strategy, limit = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    # No line per request on stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # werkzeug listens with a backlog of 128: a burst of 300 connections at once would overflow it, and the kernel
    # would then make the extra clients retry their handshake a second later, a delay that is werkzeug's, not the
    # limiter's.
    ThreadedWSGIServer.request_queue_size = 1024
    server = make_server(HOST, port, create_app(strategy, limit), threaded=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    # make_server has bound and started listening: with port 0, server.port is the one the system chose.
    emit({"port": server.port})
    server.serve_forever()


if __name__ == "__main__":
    main()
