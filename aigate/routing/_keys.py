"""Key pools: which of a provider's keys a call uses, and each key's local rpm/tpm caps."""

from __future__ import annotations

import itertools
import math
import threading
import zlib
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

    from ..providers._base import ApiKey, ProviderRuntime

__all__ = ["KeyPool", "KeyWindow"]

_MINUTE = 60.0
_ONE = (0,)


class KeyWindow:
    """Requests and tokens one key used in the last minute, against its ``rpm``/``tpm``."""

    __slots__ = ("_events", "rpm", "tpm")

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._events: deque[list[float]] = deque()  # [time, tokens]

    def wait(self, now: float, tokens: int) -> float:
        """0.0 when a call of ``tokens`` fits now, else the time it will."""
        events = self._events
        while events and events[0][0] <= now - _MINUTE:
            events.popleft()
        if self.rpm is not None and len(events) >= self.rpm:
            return events[len(events) - self.rpm][0] + _MINUTE
        if self.tpm is not None and events:
            used = sum(e[1] for e in events)
            if used + tokens > self.tpm:
                # when enough of the window expires; a call larger than the whole budget
                # goes alone once the window is empty
                need = used + min(tokens, self.tpm) - self.tpm
                freed = 0.0
                for at, spent in events:
                    freed += spent
                    if freed >= need:
                        return at + _MINUTE
                return events[-1][0] + _MINUTE
        return 0.0

    def take(self, now: float, tokens: int) -> list[float]:
        """Count a call; the returned entry can be corrected with the real usage."""
        entry = [now, float(tokens)]
        self._events.append(entry)
        return entry


def _per_key(value: int | list[int | None] | None, n: int, name: str) -> list[int | None]:
    if value is None or isinstance(value, int):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"{name}: {len(value)} values for {n} keys")
    return list(value)


class KeyPool:
    """A provider's keys and how calls share them.

    ``order(user)`` gives key indexes in the order to try: ``round_robin`` rotates,
    ``least_used`` prefers the key this process used least, ``weighted`` draws by
    ``weights``, ``sticky`` keeps each user on one key (rendezvous hashing, so a dead key
    moves only its own users) and rotates for calls without a user.
    """

    def __init__(
        self,
        provider: ProviderRuntime,
        strategy: str = "round_robin",
        *,
        weights: Sequence[float] | None = None,
        rpm: int | list[int | None] | None = None,
        tpm: int | list[int | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        keys = provider.keys
        n = len(keys)
        self.provider = provider.name
        self.keys: tuple[ApiKey, ...] = keys
        self.strategy = strategy
        names: list[str] = []
        for key in keys:
            name = f"key:{provider.name}:{key.id}"
            names.append(name if name not in names else f"{name}#{len(names)}")
        self.names = tuple(names)
        if weights is not None and len(weights) != n:
            raise ValueError(f"weights: {len(weights)} values for {n} keys")
        self.weights = list(weights) if weights is not None else [1.0] * n
        if strategy == "weighted" and rng is None:
            import random

            rng = random.Random()
        self._rng = rng
        self.uses = [0] * n
        rpms, tpms = _per_key(rpm, n, "rpm"), _per_key(tpm, n, "tpm")
        self.windows: list[KeyWindow | None] = [
            KeyWindow(r, t) if r is not None or t is not None else None
            for r, t in zip(rpms, tpms, strict=True)
        ]
        self.limited = any(w is not None for w in self.windows)
        self.counts_tokens = any(t is not None for t in tpms)
        self._turn = itertools.count(1)  # the same turns as ProviderRuntime.next_key
        # round robin orders, made once (small pools): each call reads one
        self._rotations = (
            [tuple((s + i) % n for i in range(n)) for s in range(n)] if 1 < n <= 32 else None
        )
        self._lock = threading.Lock()

    def order(self, user: str | None = None) -> Sequence[int]:
        n = len(self.keys)
        if n == 1:
            return _ONE
        strategy = self.strategy
        if strategy == "least_used":
            uses = self.uses
            return sorted(range(n), key=uses.__getitem__)
        if strategy == "weighted":
            assert self._rng is not None
            draw, weights = self._rng.random, self.weights
            keys = [-math.log(1.0 - draw()) / w if w > 0 else math.inf for w in weights]
            return sorted(range(n), key=keys.__getitem__)
        if strategy == "sticky" and user is not None:
            salt = user.encode()
            scores = [zlib.crc32(salt + b"\0" + k.id.encode()) for k in self.keys]
            return sorted(range(n), key=lambda i: -scores[i])
        start = next(self._turn) % n
        rotations = self._rotations
        if rotations is not None:
            return rotations[start]
        return [(start + i) % n for i in range(n)]

    def limit_wait(self, index: int, now: float, tokens: int) -> float:
        """0.0 when key ``index`` has room for a call of ``tokens`` now, else when it will."""
        window = self.windows[index]
        if window is None:
            return 0.0
        with self._lock:
            return window.wait(now, tokens)

    def take(self, index: int, now: float, tokens: int) -> list[float] | None:
        """Count a call on key ``index`` (uses, and its rpm/tpm window)."""
        self.uses[index] += 1
        window = self.windows[index]
        if window is None:
            return None
        with self._lock:
            return window.take(now, tokens)

    def __repr__(self) -> str:
        return f"KeyPool({self.provider!r}, keys={len(self.keys)}, strategy={self.strategy!r})"
