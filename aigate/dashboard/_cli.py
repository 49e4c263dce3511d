"""``aigate dashboard``: serve the dashboard on 127.0.0.1 (by default) until interrupted.

Wired into ``aigate.cli.build_parser`` with ``register(sub)``; importing this module does
not import Starlette or uvicorn (the command does, when it runs).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from typing import Any

__all__ = ["TOKEN_ENV", "cmd_dashboard", "register"]

TOKEN_ENV = "AIGATE_DASHBOARD_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``dashboard`` command to ``aigate``'s subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "dashboard", help="a live local dashboard: usage, cost, requests, budgets, keys"
    )
    p.add_argument("--ledger", "-l", help="ledger URL (default: the config's, $AIGATE_LEDGER)")
    p.add_argument("--keys", help="virtual key store URL (needs $AIGATE_KEY_PEPPER)")
    p.add_argument("--budget", help="budget store URL (limits come from --config)")
    p.add_argument("--health", help="shared health store URL (redis://...)")
    p.add_argument("--config", "-c", help="read store URLs and limits from this config")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", "-p", type=int, default=8765, help="port (default: 8765)")
    p.add_argument("--read-only", action="store_true", help="hide and refuse key actions")
    p.set_defaults(run=cmd_dashboard)
    return p


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Run the server; prints its address and, unless ``$AIGATE_DASHBOARD_TOKEN`` is set,
    a fresh admin token (once)."""
    from . import create_app, open_sources

    try:
        import uvicorn
    except ImportError:
        from .._exceptions import ConfigurationError

        raise ConfigurationError(
            'the dashboard needs uvicorn: pip install "aigate[dashboard]"', field="dashboard"
        ) from None
    err = sys.stderr
    token = os.environ.get(TOKEN_ENV) or ""
    printed = not token
    if printed:
        token = secrets.token_urlsafe(24)
    elif len(token) < 16:
        from .._exceptions import ConfigurationError

        raise ConfigurationError(f"${TOKEN_ENV} must be at least 16 characters", field=TOKEN_ENV)
    sources = open_sources(
        config=args.config,
        ledger=args.ledger,
        keys=args.keys,
        budget=args.budget,
        health=args.health,
        read_only=args.read_only,
    )
    try:
        app = create_app(sources, token)
        if args.host not in LOOPBACK:
            err.write(
                f"warning: serving on {args.host}, reachable from other machines; the admin "
                "token is the only guard and travels in clear over plain HTTP\n"
            )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{shown}:{args.port}/"
        err.write(f"aigate dashboard: serving on {url}\n")
        if printed:
            err.write(f"admin token (shown once; set ${TOKEN_ENV} to choose one): {token}\n")
            err.write(f"open: {url}?token={token}\n")
        else:
            err.write(f"admin token: from ${TOKEN_ENV}\n")
        if sources.read_only:
            err.write("read-only: key actions are hidden and refused\n")
        err.flush()
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        sources.close()
    return 0
