"""The ledger protocols and the base class that writes the report API once for every backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from .._closing import Closing
from ._record import LedgerRecord, SummaryRow
from ._spec import Spec, finish, make_spec

if TYPE_CHECKING:
    pass

__all__ = ["BaseLedger", "Ledger", "LedgerReader", "SharedLedger", "counted", "counts_refused"]

When: TypeAlias = datetime | date | None


def counts_refused(spec: Spec) -> bool:
    """Whether a report counts refused rows: only when it filters on ``status`` (refused
    calls were never made, so "calls", cost and latency figures leave them out; ask
    ``where={"status": "refused"}`` to report them)."""
    return any(key == "status" for key, _ in spec.where)


def counted(records: list[LedgerRecord], spec: Spec) -> list[LedgerRecord]:
    """The records a Python-side report totals (see `counts_refused`)."""
    if counts_refused(spec):
        return records
    return [r for r in records if r.status != "refused"]


@runtime_checkable
class Ledger(Protocol):
    """Where the gateway records each call.

    Both methods commit before returning and are idempotent on ``rec.id``: recording the
    same id twice keeps the first row. They raise on failure; whether a failed write fails
    the call is the gateway's policy (see `SafeLedger`).
    """

    def record(self, rec: LedgerRecord) -> None: ...

    async def arecord(self, rec: LedgerRecord) -> None: ...


class SharedLedger(Ledger, Protocol):
    """A ledger whose row can commit inside another store's transaction: ``database``
    names the database (and durability) it writes to, ``insert_step`` the statement that
    writes one record (see `aigate.budget.SQLiteBudgetStore.settle_with`)."""

    @property
    def database(self) -> tuple[str, ...] | None: ...

    def insert_step(self, rec: LedgerRecord) -> tuple[str, tuple[Any, ...]]: ...


@runtime_checkable
class LedgerReader(Protocol):
    """Reads and reports over recorded calls (every backend implements it)."""

    def get(self, id: str) -> LedgerRecord | None: ...

    def query(
        self,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerRecord]: ...

    def summary(
        self,
        *,
        since: When = None,
        until: When = None,
        group_by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]: ...

    def totals(
        self, *, since: When = None, until: When = None, where: Mapping[str, str] | None = None
    ) -> SummaryRow: ...

    def top_spenders(
        self,
        by: str = "user",
        n: int = 10,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


class BaseLedger(Closing):
    """Shared public API. A backend implements ``record``/``arecord`` and four hooks:

    ``_fetch(id)``, ``_select(spec, limit, newest_first)``, ``_summarize(spec)`` (rows as
    the backend computes them; `finish` orders them) and ``_close()``. Network backends
    override the ``_a*`` hooks; local ones inherit these, which call the sync hooks.
    """

    # -- hooks -------------------------------------------------------------------------

    def record(self, rec: LedgerRecord) -> None:
        raise NotImplementedError

    async def arecord(self, rec: LedgerRecord) -> None:
        self.record(rec)

    def _fetch(self, id: str) -> LedgerRecord | None:
        raise NotImplementedError

    def _select(self, spec: Spec, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        raise NotImplementedError

    def _summarize(self, spec: Spec) -> list[SummaryRow]:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    async def _afetch(self, id: str) -> LedgerRecord | None:
        return self._fetch(id)

    async def _aselect(
        self, spec: Spec, limit: int | None, newest_first: bool
    ) -> list[LedgerRecord]:
        return self._select(spec, limit, newest_first)

    async def _asummarize(self, spec: Spec) -> list[SummaryRow]:
        return self._summarize(spec)

    async def _aclose(self) -> None:
        self._close()

    # -- public API --------------------------------------------------------------------

    def get(self, id: str) -> LedgerRecord | None:
        """The record with this id, or None."""
        return self._fetch(id)

    async def aget(self, id: str) -> LedgerRecord | None:
        """Async `get`."""
        return await self._afetch(id)

    def query(
        self,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerRecord]:
        """Records in ``[since, until)`` matching every ``where`` pair, ordered by time.

        ``where`` keys: model, provider, project, user, org, key (or virtual_key), route,
        status, kind, provider_key_id, error_class, error_type, or ``meta:<name>``.
        """
        return self._select(_query_spec(since, until, where, limit), limit, newest_first)

    async def aquery(
        self,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerRecord]:
        """Async `query`."""
        spec = _query_spec(since, until, where, limit)
        return await self._aselect(spec, limit, newest_first)

    def summary(
        self,
        *,
        since: When = None,
        until: When = None,
        group_by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """One row per group (ordered by group, ``None`` first); empty groups are omitted.

        ``group_by`` items: day, hour, month (UTC), model, provider, project, user, org,
        key, route, status, kind, or ``meta:<name>``.
        """
        spec = make_spec(since=since, until=until, group_by=group_by, where=where)
        return finish(self._summarize(spec), spec)

    async def asummary(
        self,
        *,
        since: When = None,
        until: When = None,
        group_by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """Async `summary`."""
        spec = make_spec(since=since, until=until, group_by=group_by, where=where)
        return finish(await self._asummarize(spec), spec)

    def totals(
        self, *, since: When = None, until: When = None, where: Mapping[str, str] | None = None
    ) -> SummaryRow:
        """One row over everything in range (zeros when nothing matches)."""
        return _total(self.summary(since=since, until=until, where=where))

    async def atotals(
        self, *, since: When = None, until: When = None, where: Mapping[str, str] | None = None
    ) -> SummaryRow:
        """Async `totals`."""
        return _total(await self.asummary(since=since, until=until, where=where))

    def top_spenders(
        self,
        by: str = "user",
        n: int = 10,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """The ``n`` groups of ``by`` (a ``group_by`` item) with the highest priced cost."""
        spec = make_spec(since=since, until=until, group_by=(by,), where=where, top=n)
        return finish(self._summarize(spec), spec)

    async def atop_spenders(
        self,
        by: str = "user",
        n: int = 10,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """Async `top_spenders`."""
        spec = make_spec(since=since, until=until, group_by=(by,), where=where, top=n)
        return finish(await self._asummarize(spec), spec)

    def close(self) -> None:
        """Release connections; a later call opens them again."""
        self._close()

    async def aclose(self) -> None:
        """Async `close`; call it in the event loop that used the ``a*`` methods."""
        await self._aclose()


def _query_spec(
    since: When, until: When, where: Mapping[str, str] | None, limit: int | None
) -> Spec:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    return make_spec(since=since, until=until, where=where)


def _total(rows: list[SummaryRow]) -> SummaryRow:
    return rows[0] if rows else SummaryRow(group={})
