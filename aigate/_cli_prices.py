"""``aigate prices``: how old the prices are, update them from a file or URL, re-price the
ledger's unpriced rows (issue 13.8). Wired into ``aigate`` by :func:`register`.

```
aigate prices show                                  # snapshot date, age, user price file
aigate prices update --from prices.json             # or an https:// URL; validated, atomic
aigate prices reprice --ledger sqlite:///aigate.db  # what unpriced calls cost now
```
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["cmd_reprice", "fetch", "register", "snapshot_line"]

#: The largest price file accepted (LiteLLM's whole table is ~3 MB).
MAX_BYTES = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    """Add ``prices`` (show, update, reprice) to the ``aigate`` command's subparsers."""
    prices = subparsers.add_parser("prices", help="model prices: age, update, re-price")
    sub = prices.add_subparsers(dest="prices_command", metavar="ACTION")
    show = sub.add_parser("show", help="the catalog's snapshot date, age and user price file")
    show.add_argument("--max-age-days", type=int, default=None, help="stale after (default 90)")
    show.set_defaults(run=cmd_show)
    update = sub.add_parser(
        "update", help="install a price file (catalog format or overrides) for this user"
    )
    update.add_argument(
        "--from", dest="source", required=True, metavar="FILE_OR_URL", help="path or URL"
    )
    update.add_argument("--file", default=None, help="write here instead of the user file")
    update.set_defaults(run=cmd_update)
    again = sub.add_parser("reprice", help="price the ledger's calls recorded without a price")
    again.add_argument("--ledger", default=None, help="ledger URL (else --config or AIGATE_LEDGER)")
    again.add_argument("--config", "-c", default=None, help="apply this config's prices")
    again.add_argument("--since", default=None, help="YYYY-MM-DD, ISO time, today, 7d, 24h")
    again.add_argument("--until", default=None, help="exclusive end, same forms as --since")
    again.add_argument(
        "--apply", action="store_true", help="write the costs (ledgers that support it)"
    )
    again.set_defaults(run=cmd_reprice)
    prices.set_defaults(run=lambda args: _help(prices))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def fetch(source: str, *, timeout: float = 30.0) -> bytes:
    """The bytes of a local file, or of an ``http(s)://`` / ``file://`` URL (stdlib only:
    this is a one-off download, not a provider call)."""
    from pathlib import Path

    from ._exceptions import ConfigurationError

    if "://" not in source:
        try:
            path = Path(source).expanduser()
            if path.stat().st_size > MAX_BYTES:
                raise ConfigurationError(f"{source}: larger than {MAX_BYTES} bytes")
            return path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {source}: {exc.strerror}") from None
    scheme = source.split("://", 1)[0].lower()
    if scheme not in ("http", "https", "file"):
        raise ConfigurationError(f"--from: unsupported URL scheme {scheme!r} (http, https, file)")
    import urllib.error
    import urllib.request

    from .pricing import _safe_source

    try:
        with urllib.request.urlopen(source, timeout=timeout) as response:
            data: bytes = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigurationError(f"cannot fetch {_safe_source(source)}: {reason}") from None
    if len(data) > MAX_BYTES:
        raise ConfigurationError(f"{_safe_source(source)}: larger than {MAX_BYTES} bytes")
    return data


def snapshot_line(catalog: Any) -> str:
    """``"prices: snapshot of 2026-12-03 (12 days old)"`` (for ``aigate models``), plus the
    staleness warning on a second line when the snapshot is stale."""
    from .pricing import staleness

    age = catalog.age_days()
    days = f"{age} day{'' if age == 1 else 's'}"
    when = f"{catalog.snapshot_date} ({days} old)" if age is not None else "unknown"
    line = f"prices: snapshot of {when}"
    if catalog.overrides_from:
        line += f", with {catalog.overrides_from}"
    warning = staleness(catalog)
    return line + (f"\nwarning: {warning}" if warning else "")


def cmd_show(args: argparse.Namespace) -> int:
    from .pricing import Catalog, staleness, user_prices_path

    catalog = Catalog.default()
    age = catalog.age_days()
    when = f"{catalog.snapshot_date} ({age} days old)" if age is not None else "unknown"
    out = sys.stdout
    out.write(f"prices: {len(catalog)} models, snapshot of {when}\n")
    user = user_prices_path()
    out.write(f"user price file: {user if user is not None else 'none (AIGATE_PRICES_FILE=)'}")
    out.write(" (merged)\n" if catalog.overrides_from else " (not present)\n")
    warning = staleness(catalog, args.max_age_days)
    if warning:
        out.write(f"warning: {warning}\n")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from ._exceptions import ConfigurationError
    from .pricing import Catalog, _safe_source, write_user_prices

    raw = fetch(args.source)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{_safe_source(args.source)}: not JSON ({exc})") from None
    if isinstance(data, dict) and any(
        isinstance(v, dict) and "litellm_provider" in v for v in list(data.values())[:50]
    ):
        raise ConfigurationError(
            f"{_safe_source(args.source)} is LiteLLM's table, not aigate's format: convert it "
            "with scripts/generate_catalog.py --source FILE --output prices.json first"
        )
    try:
        path, count = write_user_prices(data, source=args.source, path=args.file)
    except ValueError as exc:
        raise ConfigurationError(f"{_safe_source(args.source)}: {exc}") from None
    catalog = Catalog.default(reload=True)
    sys.stdout.write(
        f"wrote {count} model prices to {path}; the catalog now has {len(catalog)} models "
        f"(snapshot of {catalog.snapshot_date})\n"
    )
    return 0


def cmd_reprice(args: argparse.Namespace) -> int:
    from ._cli_common import UsageError, ledger_url, load_config_file, parse_when
    from ._reprice import reprice
    from .ledger import open_ledger
    from .pricing import catalog_for

    config = load_config_file(args.config)
    catalog, kinds = catalog_for(config)
    url = ledger_url(args)
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until) if args.until else None
    ledger = open_ledger(url)
    try:
        try:
            result = reprice(
                ledger,
                catalog,
                kinds=kinds,
                since=since,
                until=until,
                apply=bool(getattr(args, "apply", False)),
            )
        except TypeError as exc:
            raise UsageError(str(exc)) from None
    finally:
        ledger.close()
    out = sys.stdout
    out.write(f"unpriced calls: {result.unpriced}; priced now: {len(result.priced)}\n")
    for name, amount in sorted(result.by_model.items()):
        out.write(f"  {name}: ${amount}\n")
    if result.priced:
        out.write(f"total: ${result.total_usd}\n")
    for name, rows in sorted(result.still_unpriced.items()):
        out.write(f"  still unpriced: {name} ({rows} calls): add a price for it\n")
    if result.written is not None:
        out.write(f"written: {result.written} rows\n")
    elif result.priced:
        out.write("nothing written (pass --apply to store these costs)\n")
    return 0
