"""Static files for both hosts: a URL prefix maps to a folder (or a single file)."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path

from .http import HttpResponse

__all__ = ["StaticFiles"]


class StaticFiles:
    """Serves files from folders. ``mapping`` is ``{url_prefix: path}``; ``/`` serves index.html.

    Paths that leave the folder (``..``, symlinks out of it) are not served.
    """

    def __init__(self, mapping: Mapping[str, str | os.PathLike[str]] | None = None) -> None:
        items = [(prefix, Path(path).resolve()) for prefix, path in (mapping or {}).items()]
        self._routes = sorted(items, key=lambda item: len(item[0]), reverse=True)

    def __bool__(self) -> bool:
        return bool(self._routes)

    def lookup(self, method: str, path: str) -> HttpResponse | None:
        """The response for ``path``, or ``None`` when no file matches."""
        if method not in ("GET", "HEAD"):
            return None
        for prefix, root in self._routes:
            if not path.startswith(prefix):
                continue
            if root.is_file():
                if path == prefix:
                    return self._file(root, method)
                continue
            rest = path[len(prefix):].lstrip("/")
            target = (root / rest).resolve()
            if target != root and root not in target.parents:
                return None
            if target.is_dir():
                if path and not path.endswith("/"):
                    return HttpResponse(301, [("Location", path + "/"), ("Content-Length", "0")])
                target = target / "index.html"
            if target.is_file():
                return self._file(target, method)
        return None

    @staticmethod
    def _file(target: Path, method: str) -> HttpResponse:
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        data = target.read_bytes()
        headers = [("Content-Type", kind), ("Content-Length", str(len(data))),
                   ("Cache-Control", "no-cache")]
        return HttpResponse(200, headers, b"" if method == "HEAD" else data)
