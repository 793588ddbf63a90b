"""``dailypapers serve``: the site folder over HTTP on localhost, for a quick look.

The standard library's file server, with caching off so a fresh
``dailypapers render`` shows on reload. Not meant for the open internet:
publish the folder itself (GitHub Pages, any static host) for that.
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def send_head(self) -> Any:
        """Files only: a path with a NUL byte is a 400, not a traceback."""
        if "\x00" in urllib.parse.unquote(self.path):
            self.send_error(HTTPStatus.BAD_REQUEST, "bad path")
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """Folders are never listed (a folder without index.html is a 404)."""
        self.send_error(HTTPStatus.NOT_FOUND, "not found")


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``directory`` bound to ``host:port`` (port 0: any free one); not started."""
    handler = functools.partial(_Handler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)


def server_url(server: ThreadingHTTPServer) -> str:
    """``http://host:port/`` of a bound server."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"
