"""``/docs``: Swagger UI served by this server, so it works offline.

FastAPI's own ``/docs`` loads Swagger UI's script and stylesheet from a CDN and its icon from
FastAPI's site; a server on a network without the Internet would show a blank page. Here the
files come from the ``fastapi-offline`` package (Swagger UI 5, under its Apache-2.0 licence)
and are served under ``/docs/static``; the page is sent with a Content-Security-Policy that
lets it load nothing from another host.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["DOCS_PATH", "DOCS_STATIC", "assets_folder", "mount_docs"]

DOCS_PATH = "/docs"
DOCS_STATIC = "/docs/static"
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def assets_folder() -> Path:
    """The folder holding Swagger UI's files (`RuntimeError` when the package lacks one)."""
    folder = Path(str(files("fastapi_offline") / "static"))
    missing = [name for name in _ASSETS if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline has no {', '.join(missing)} in {folder}")
    return folder


def mount_docs(api: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` of ``api`` (made with ``docs_url=None``)."""
    api.mount(DOCS_STATIC, StaticFiles(directory=assets_folder()), name="docs-static")
    api.add_api_route(DOCS_PATH, swagger_ui, include_in_schema=False, methods=["GET"])
    api.add_api_route(_OAUTH2_REDIRECT, oauth2_redirect, include_in_schema=False, methods=["GET"])


async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for ``/openapi.json``, every file from this server (under ``root_path``)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - API",
        oauth2_redirect_url=f"{root}{_OAUTH2_REDIRECT}",
        swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers=_headers(html))


async def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def _headers(html: str) -> dict[str, str]:
    """Same-origin only; the page's one inline script (Swagger UI's set-up) by its hash."""
    hashes = " ".join(f"'sha256-{_sha256(code)}'" for code in _INLINE_SCRIPT.findall(html))
    policy = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer"}


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
