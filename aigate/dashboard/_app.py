"""The dashboard's ASGI app (Starlette): token check, JSON API, the page and its assets.

Every route, the page and its assets included, needs the admin token: an
``Authorization: Bearer <token>`` header, or the session cookie set by opening
``/?token=<token>`` once (HttpOnly, SameSite=Strict). Tokens are compared in constant
time. A state-changing call (key create / revoke / rotate) also needs the header
``X-Aigate-Dashboard: 1``, which a cross-site form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..ledger import to_csv, to_json
from ._data import BadRequest, Sources, summary_rows

__all__ = ["create_app"]

COOKIE = "aigate_dashboard"
CSRF_HEADER = "x-aigate-dashboard"
_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>aigate dashboard: token needed</title><link rel="icon" href="data:,"></head>
<body style="font:15px system-ui,sans-serif;margin:4rem auto;max-width:32rem">
<h1>aigate dashboard</h1><p>This dashboard needs its admin token (printed when it
started, or the value of <code>AIGATE_DASHBOARD_TOKEN</code>).</p>
<form method="get" action="/"><input name="token" type="password" autocomplete="off"
aria-label="admin token" required> <button>Open</button></form></body></html>"""


def _asset(name: str) -> bytes:
    return resources.files("aigate.dashboard").joinpath("static").joinpath(name).read_bytes()


def create_app(sources: Sources, token: str) -> Starlette:
    """The dashboard over ``sources``, guarded by ``token`` (at least 16 characters)."""
    if len(token) < 16:
        raise ValueError("the dashboard token must be at least 16 characters")
    secret = token.encode()
    session = hmac.new(secret, b"aigate-dashboard-session", hashlib.sha256).hexdigest()

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), secret)
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), session.encode())

    def respond(response: Response) -> Response:
        response.headers.update(_HEADERS)
        return response

    def denied() -> Response:
        return respond(JSONResponse({"error": "admin token required"}, status_code=401))

    def api(handler: Any, *, write: bool = False) -> Any:
        async def endpoint(request: Request) -> Response:
            if not authorised(request):
                return denied()
            if write and request.headers.get(CSRF_HEADER) != "1":
                return respond(
                    JSONResponse({"error": f"missing the {CSRF_HEADER} header"}, status_code=403)
                )
            try:
                data = await _body(request) if write else {}
                # The stores are synchronous: run them off the event loop.
                result = await run_in_threadpool(handler, request, data)
            except BadRequest as exc:
                return respond(JSONResponse({"error": str(exc)}, status_code=400))
            except PermissionError as exc:
                return respond(JSONResponse({"error": str(exc)}, status_code=403))
            except LookupError as exc:  # KeyNotFoundError
                return respond(JSONResponse({"error": str(exc)}, status_code=404))
            if isinstance(result, Response):
                return respond(result)
            return respond(JSONResponse(result))

        return endpoint

    def index(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), secret):
                return respond(HTMLResponse(_LOGIN, status_code=401))
            # Drop the token from the address bar (and history) at once.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
            return respond(response)
        if not authorised(request):
            return respond(HTMLResponse(_LOGIN, status_code=401))
        page = _asset("index.html").decode()
        page = page.replace("{{read_only}}", "true" if sources.read_only else "false")
        return respond(HTMLResponse(page))

    def asset(request: Request) -> Response:
        if not authorised(request):
            return denied()
        name = request.path_params["name"]
        kind = _ASSETS.get(name)
        if kind is None:
            return respond(Response("not found", status_code=404))
        return respond(Response(_asset(name), media_type=kind))

    def breakdown(request: Request, _: Any) -> Any:
        rows, meta = sources.breakdown(request.query_params)
        return _export(request, rows) or {**meta, "rows": summary_rows(rows)}

    def days(request: Request, _: Any) -> Any:
        rows = sources.days(request.query_params)
        return _export(request, rows) or {"rows": summary_rows(rows)}

    def call(request: Request, _: Any) -> Any:
        found = sources.call(request.path_params["call_id"])
        if found is None:
            raise LookupError(f"no call {request.path_params['call_id']!r} in the ledger")
        return found

    routes = [
        Route("/", index),
        Route("/static/{name}", asset),
        Route("/api/overview", api(lambda r, _: sources.overview(r.query_params))),
        Route("/api/breakdown", api(breakdown)),
        Route("/api/days", api(days)),
        Route("/api/requests", api(lambda r, _: sources.requests(r.query_params))),
        Route("/api/requests/{call_id:path}", api(call)),
        Route("/api/budgets", api(lambda r, _: sources.budgets())),
        Route("/api/keys", api(lambda r, _: sources.key_list())),
        Route(
            "/api/keys",
            api(lambda r, data: sources.create_key(data), write=True),
            methods=["POST"],
        ),
        Route(
            "/api/keys/{key_id}/revoke",
            api(lambda r, _: sources.revoke_key(r.path_params["key_id"]), write=True),
            methods=["POST"],
        ),
        Route(
            "/api/keys/{key_id}/rotate",
            api(lambda r, _: sources.rotate_key(r.path_params["key_id"]), write=True),
            methods=["POST"],
        ),
        Route("/api/models", api(lambda r, _: sources.models(r.query_params))),
        Route("/api/health", api(lambda r, _: sources.health_states())),
    ]
    return Starlette(routes=routes)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise BadRequest("expected a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def _export(request: Request, rows: Any) -> Response | None:
    """``format=csv`` or ``format=json``: the rows as ``aigate report --csv/--json`` writes
    them (`aigate.ledger.to_csv` / `to_json`), as a download."""
    fmt = request.query_params.get("format")
    if not fmt:
        return None
    name = request.query_params.get("by") or "days"
    if fmt == "csv":
        out = io.StringIO(newline="")
        to_csv(rows, out)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="aigate-{_slug(name)}.csv"'},
        )
    if fmt == "json":
        return Response(
            to_json(rows),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="aigate-{_slug(name)}.json"'},
        )
    raise BadRequest("format: expected csv or json")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)
