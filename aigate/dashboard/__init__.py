"""A live local dashboard over the ledger: usage, cost, requests, budgets, keys, models, health.

```python
from aigate.dashboard import Sources, create_app
from aigate.ledger import open_ledger

app = create_app(Sources(ledger=open_ledger("sqlite:///aigate.db")), token="a-long-admin-token")
# uvicorn.run(app, host="127.0.0.1", port=8765), or: aigate dashboard --ledger sqlite:///aigate.db
```

Needs the ``dashboard`` extra (``pip install "aigate[dashboard]"``: Starlette and uvicorn);
``import aigate`` never imports it. Every number comes from the same query layer as
``gw.usage.*`` and ``aigate report`` (`aigate.ledger._reports`).
"""

from __future__ import annotations

import os
from typing import Any

from ._data import Sources

__all__ = ["Sources", "create_app", "open_sources"]


def create_app(sources: Sources, token: str) -> Any:
    """The Starlette app of the dashboard over ``sources``, guarded by ``token``."""
    try:
        from ._app import create_app as make
    except ImportError as exc:  # pragma: no cover - the extra installs starlette
        from .._exceptions import ConfigurationError

        raise ConfigurationError(
            'the dashboard needs Starlette: pip install "aigate[dashboard]"', field="dashboard"
        ) from exc
    return make(sources, token)


def open_sources(
    *,
    config: str | os.PathLike[str] | None = None,
    ledger: str | None = None,
    keys: str | None = None,
    budget: str | None = None,
    health: str | None = None,
    read_only: bool = False,
) -> Sources:
    """Open the stores a dashboard reads, from URLs and/or a config file (URLs win).

    ``keys`` needs the pepper the gateway uses (``$AIGATE_KEY_PEPPER``, or the config's
    ``keys.pepper_env``); ``budget`` shows the config's ``[budget]`` limits and every
    virtual key's own limits; ``health`` is the shared breaker store (``redis://``).
    """
    from .._exceptions import ConfigurationError
    from ..ledger import open_ledger

    cfg: Any = None
    if config is not None:
        from ..config import load_config

        cfg = load_config(config)
    ledger_url = (
        ledger or (cfg.ledger if cfg is not None else None) or os.environ.get("AIGATE_LEDGER")
    )
    if not ledger_url:
        raise ConfigurationError(
            "the dashboard needs a ledger: pass --ledger URL, a --config that sets ledger, "
            "or set AIGATE_LEDGER",
            field="ledger",
        )
    closers: list[Any] = []
    led = open_ledger(ledger_url)
    closers.append(led.close)
    sources = Sources(ledger=led, read_only=read_only, closers=closers)
    try:
        _open_keys(sources, cfg, keys)
        _open_budget(sources, cfg, budget)
        _open_health(sources, cfg, health)
        if cfg is not None and (cfg.prices or any(p.prices for p in cfg.providers.values())):
            from ..pricing import catalog_for

            sources.catalog = catalog_for(cfg)[0]
    except BaseException:
        sources.close()
        raise
    return sources


def _open_keys(sources: Sources, cfg: Any, url: str | None) -> None:
    from ..config import KeysConfig
    from ..tenancy import open_key_store

    section = cfg.keys if cfg is not None else None
    if isinstance(section, str):
        section = KeysConfig(store=section)
    url = url or (section.store if section is not None else None)
    if not url:
        return
    pepper_env = section.pepper_env if section is not None else "AIGATE_KEY_PEPPER"
    store = open_key_store(url, pepper=os.environ.get(pepper_env), field="keys.store")
    sources.keys = store
    sources.closers.append(store.close)


def _open_budget(sources: Sources, cfg: Any, url: str | None) -> None:
    from ..budget import open_budget_store, parse_limits

    section = cfg.budget if cfg is not None else None
    url = url or (section.store if section is not None else None)
    if not url:
        return
    store = open_budget_store(url)
    sources.budget_store = store
    sources.closers.append(store.close)
    sources.limits = parse_limits(list(section.limits)) if section is not None else []


def _open_health(sources: Sources, cfg: Any, url: str | None) -> None:
    from ..routing import open_health_store
    from ..routing._router import _breaker_settings

    router = cfg.router if cfg is not None else None
    url = url or (router.health if router is not None else None)
    if not url or url in ("memory", "memory://"):
        return  # a memory store belongs to one gateway process: nothing to show from here
    from ..config import BreakerConfig

    store = open_health_store(url, _breaker_settings(router.breaker if router else BreakerConfig()))
    sources.health = store
    close = getattr(store, "close", None)
    if close is not None:
        sources.closers.append(close)
    if cfg is not None:
        names: list[str] = []
        for route in cfg.routes.values():
            for spec in [*route.targets, *route.fallbacks]:
                target = spec if isinstance(spec, str) else getattr(spec, "target", None)
                if isinstance(target, str):
                    names.append(target)
        sources.health_names = sorted(set(names))
