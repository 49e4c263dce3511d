"""What the ``aigate`` command and its sub-command modules share: the usage error, times on
the command line, the config and ledger a command reads. A leaf of the CLI, so that
sub-command modules (``_cli_prices``, ``dashboard._cli``) need not import :mod:`aigate.cli`.
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["UsageError", "ledger_url", "load_config_file", "parse_when"]

UTC = timezone.utc


class UsageError(Exception):
    """A bad command line: printed as ``error: ...`` with exit status 2."""


RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime | date:
    """``2024-05-01`` (a date: midnight UTC), an ISO-8601 time (UTC unless it says),
    ``today``, ``yesterday``, or ``7d``/``24h``/``30m``/``2w`` ago."""
    now = now or datetime.now(UTC)
    value = text.strip().lower()
    if value == "today":
        return now.date()
    if value == "yesterday":
        return now.date() - timedelta(days=1)
    match = RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{UNITS[unit]: amount})
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read time {text!r}; expected YYYY-MM-DD, an ISO time, today, yesterday "
            "or a span ago such as 7d, 24h, 30m"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def load_config_file(path: str | None) -> Any:
    if path is None:
        return None
    from .config import load_config

    return load_config(path)


def ledger_url(args: argparse.Namespace) -> str:
    if args.ledger:
        return str(args.ledger)
    config = load_config_file(args.config)
    if config is not None and config.ledger:
        return str(config.ledger)
    env = os.environ.get("AIGATE_LEDGER")
    if env:
        return env
    raise UsageError(
        "no ledger to report on: pass --ledger URL (sqlite:///aigate.db, postgresql://..., "
        "redis://...), a --config whose file sets ledger, or set AIGATE_LEDGER"
    )
