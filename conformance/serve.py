"""A read-only HTTP server on 127.0.0.1 for a directory (the zoo), so URL handles are exercised for real."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


POLL_SECONDS = 0.02


class LoopbackServer(object):
    def __init__(self, directory: str):
        handler = functools.partial(_QuietHandler, directory=directory)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # shutdown() waits for the loop's next poll: at the default 0.5 s, that was most of a run's teardown
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                                       name="zoo-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d" % (host, port)

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
