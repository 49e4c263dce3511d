"""The budget store conformance suite: one set of test bodies, every backend, sync and async."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aigate import ConfigurationError
from aigate.budget import (
    Breach,
    Budgets,
    BudgetStore,
    BudgetStoreUnavailable,
    Charge,
    Counter,
    Crossing,
    FailSafeBudgetStore,
    Limit,
    MemoryBudgetStore,
    ReserveResult,
    open_budget_store,
)

UTC = timezone.utc
T0 = 1_714_521_600.0  # 2024-05-01T00:00:00Z
MakeApi = Callable[..., Any]  # conftest.make_api


def charge(key: str, amount: int, cap: int, **kw: Any) -> Charge:
    return Charge(key, amount, cap, **kw)


class TestReserve:
    def test_is_a_budget_store(self, make_api: MakeApi) -> None:
        assert isinstance(make_api().store, BudgetStore)

    def test_all_or_nothing(self, make_api: MakeApi) -> None:
        """If one counter has no room, no counter is touched, and the result says why."""
        api = make_api()
        assert api.reserve("r1", [charge("a", 40, 100), charge("b", 40, 50)], 60, now=T0).ok
        result = api.reserve("r2", [charge("a", 20, 100), charge("b", 20, 50)], 60, now=T0)
        assert result == ReserveResult(ok=False, breaches=(Breach("b", 50, 0, 40, 20),))
        assert api.status(["a", "b"]) == {"a": Counter(0, 40), "b": Counter(0, 40)}
        assert api.pending() == ["r1"]

    def test_every_breach_is_reported(self, make_api: MakeApi) -> None:
        api = make_api()
        result = api.reserve("r1", [charge("b", 6, 5), charge("a", 11, 10)], 60, now=T0)
        assert not result.ok
        assert {b.key for b in result.breaches} == {"a", "b"}
        assert api.status(["a", "b"]) == {"a": Counter(), "b": Counter()}

    def test_exact_fit_is_admitted(self, make_api: MakeApi) -> None:
        api = make_api()
        assert api.reserve("r1", [charge("a", 7, 10)], 60, now=T0).ok
        assert api.reserve("r2", [charge("a", 3, 10)], 60, now=T0).ok
        assert not api.reserve("r3", [charge("a", 1, 10)], 60, now=T0).ok
        # A zero-cost call still fits a full budget: only price-based blocking.
        assert api.reserve("r4", [charge("a", 0, 10)], 60, now=T0).ok

    def test_same_id_twice_counts_once(self, make_api: MakeApi) -> None:
        api = make_api()
        for _ in range(2):
            assert api.reserve("r1", [charge("a", 4, 10)], 60, now=T0).ok
        assert api.status(["a"])["a"] == Counter(0, 4)

    def test_soft_limit_counts_but_never_refuses(self, make_api: MakeApi) -> None:
        api = make_api()
        assert api.reserve("r1", [charge("a", 8, 5, hard=False)], 60, now=T0).ok
        assert api.reserve("r2", [charge("a", 8, 5, hard=False)], 60, now=T0).ok
        assert api.status(["a"])["a"] == Counter(0, 16)

    def test_no_charges(self, make_api: MakeApi) -> None:
        api = make_api()
        assert api.reserve("r1", [], 60, now=T0).ok
        assert api.pending() == []

    def test_bad_charges(self, make_api: MakeApi) -> None:
        api = make_api()
        with pytest.raises(ValueError, match="twice"):
            api.reserve("r1", [charge("a", 1, 9), charge("a", 2, 9)], 60, now=T0)
        with pytest.raises(ValueError, match="negative"):
            api.reserve("r1", [charge("a", -1, 9)], 60, now=T0)

    def test_large_amounts_stay_exact(self, make_api: MakeApi) -> None:
        """Nano-dollar counters up to millions of USD add up exactly."""
        api = make_api()
        cap = 5_000_000 * 10**9 + 7  # five million USD and 7 nano-dollars
        amounts = [1_234_567_890_123_457, 987_654_321_987_653, 1_000_000_000_000_001]
        for i, amount in enumerate(amounts):
            assert api.reserve(f"r{i}", [charge("a", amount, cap)], 60, now=T0).ok
            api.settle(f"r{i}", {"a": amount - 1}, now=T0)
        assert api.status(["a"])["a"] == Counter(sum(amounts) - 3, 0)
        last = cap - (sum(amounts) - 3)
        assert not api.reserve("x", [charge("a", last + 1, cap)], 60, now=T0).ok
        assert api.reserve("y", [charge("a", last, cap)], 60, now=T0).ok


class TestSettle:
    def test_settle_charges_actual_and_releases_the_rest(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("r1", [charge("a", 40, 100), charge("b", 3, 10)], 60, now=T0)
        assert api.settle("r1", {"a": 25, "b": 1}, now=T0) == []
        assert api.status(["a", "b"]) == {"a": Counter(25, 0), "b": Counter(1, 0)}
        assert api.pending() == []

    def test_settle_is_idempotent(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("r1", [charge("a", 40, 100)], 60, now=T0)
        api.settle("r1", {"a": 30}, now=T0)
        api.settle("r1", {"a": 30}, now=T0)
        api.release("r1", now=T0)
        assert api.settle("unknown", {"a": 5}, now=T0) == []
        assert api.status(["a"])["a"] == Counter(30, 0)

    def test_missing_amount_settles_at_zero(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("r1", [charge("a", 4, 10), charge("b", 4, 10)], 60, now=T0)
        api.settle("r1", {"a": 2, "not-in-reservation": 99}, now=T0)
        assert api.status(["a", "b", "not-in-reservation"]) == {
            "a": Counter(2, 0),
            "b": Counter(0, 0),
            "not-in-reservation": Counter(0, 0),
        }

    def test_release_gives_everything_back(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("r1", [charge("a", 40, 100)], 60, now=T0)
        api.release("r1", now=T0)
        assert api.status(["a"])["a"] == Counter(0, 0)
        assert api.reserve("r2", [charge("a", 100, 100)], 60, now=T0).ok

    def test_actual_above_the_reservation_is_still_charged(self, make_api: MakeApi) -> None:
        """Real money is recorded even when the estimate was too low."""
        api = make_api()
        api.reserve("r1", [charge("a", 10, 100)], 60, now=T0)
        api.settle("r1", {"a": 130}, now=T0)
        assert api.status(["a"])["a"] == Counter(130, 0)
        assert not api.reserve("r2", [charge("a", 0, 100)], 60, now=T0).ok

    def test_a_second_client_sees_the_same_counters(self, make_api: MakeApi) -> None:
        one, two = make_api(), make_api()
        assert one.reserve("r1", [charge("a", 6, 10)], 60, now=T0).ok
        assert not two.reserve("r2", [charge("a", 6, 10)], 60, now=T0).ok
        two.settle("r1", {"a": 2}, now=T0)
        assert one.status(["a"])["a"] == Counter(2, 0)
        assert two.reserve("r2", [charge("a", 8, 10)], 60, now=T0).ok


class TestThresholds:
    def test_each_threshold_fires_once(self, make_api: MakeApi) -> None:
        api = make_api()
        marks = (50, 80, 100)

        def spend(rid: str, amount: int) -> list[Crossing]:
            assert api.reserve(rid, [charge("a", amount, 100, marks=marks)], 60, now=T0).ok
            return api.settle(rid, {"a": amount}, now=T0)  # type: ignore[no-any-return]

        assert spend("r1", 30) == []
        assert spend("r2", 25) == [Crossing("a", 0, 55)]
        assert spend("r3", 5) == []
        assert spend("r4", 40) == [Crossing("a", 1, 100), Crossing("a", 2, 100)]
        assert spend("r5", 0) == []

    def test_once_across_clients(self, make_api: MakeApi) -> None:
        one, two = make_api(), make_api()
        marks = (5,)
        clients = (one, two, one)
        for i, api in enumerate(clients):
            assert api.reserve(f"r{i}", [charge("a", 3, 10, marks=marks)], 60, now=T0).ok
        crossed = [api.settle(f"r{i}", {"a": 3}, now=T0) for i, api in enumerate(clients)]
        assert crossed == [[], [Crossing("a", 0, 6)], []]

    def test_a_new_window_fires_again(self, make_api: MakeApi) -> None:
        api = make_api()
        budgets = Budgets([Limit(amount="1", window="day", thresholds=(0.5,))])
        for day in range(2):
            now = T0 + day * 86400 + 10
            charges = budgets.plan(estimate_nano=600_000_000, now=now)
            api.reserve(f"r{day}", charges, 60, now=now)
            crossed = api.settle(
                f"r{day}", budgets.actual(charges, cost_nano=600_000_000, tokens=0)
            )
            events = budgets.events(crossed, charges)
            assert [(e.scope, e.threshold, str(e.spent)) for e in events] == [
                ("global", 0.5, "0.600000000")
            ]


class TestExpiry:
    def test_expired_reservation_is_released_when_in_the_way(self, make_api: MakeApi) -> None:
        api = make_api()
        assert api.reserve("dead", [charge("a", 8, 10)], 30, now=T0).ok
        assert not api.reserve("r2", [charge("a", 8, 10)], 30, now=T0 + 29).ok
        assert api.reserve("r3", [charge("a", 8, 10)], 30, now=T0 + 30).ok
        assert api.status(["a"])["a"] == Counter(0, 8)
        assert api.pending() == ["r3"]

    def test_lazy_release_on_a_later_reserve(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("dead", [charge("a", 3, 10)], 30, now=T0)
        api.reserve("r2", [charge("b", 1, 10)], 30, now=T0 + 31)
        assert api.status(["a"])["a"] == Counter(0, 0)
        assert api.pending() == ["r2"]

    def test_sweep(self, make_api: MakeApi) -> None:
        api = make_api()
        api.reserve("r1", [charge("a", 3, 10)], 30, now=T0)
        api.reserve("r2", [charge("a", 4, 10), charge("b", 1, 10)], 60, now=T0)
        assert api.sweep(now=T0 + 10) == 0
        assert api.sweep(now=T0 + 31) == 1
        assert api.status(["a", "b"]) == {"a": Counter(0, 4), "b": Counter(0, 1)}
        assert api.sweep(now=T0 + 61) == 1
        assert api.status(["a", "b"]) == {"a": Counter(0, 0), "b": Counter(0, 0)}
        assert api.pending() == []

    def test_late_settle_still_charges(self, make_api: MakeApi) -> None:
        """A slow call whose reservation expired still records what it spent, once."""
        api = make_api()
        api.reserve("slow", [charge("a", 8, 10)], 30, now=T0)
        api.sweep(now=T0 + 31)
        api.settle("slow", {"a": 5}, now=T0 + 40)
        api.settle("slow", {"a": 5}, now=T0 + 41)
        assert api.status(["a"])["a"] == Counter(5, 0)

    def test_released_holds_are_forgotten_after_keep(self, make_api: MakeApi) -> None:
        api = make_api(keep_s=100)
        api.reserve("slow", [charge("a", 8, 10)], 30, now=T0)
        api.sweep(now=T0 + 31)
        api.sweep(now=T0 + 200)
        api.settle("slow", {"a": 5}, now=T0 + 201)
        assert api.status(["a"])["a"] == Counter(0, 0)


class TestWindows:
    @pytest.mark.parametrize(
        ("window", "tz", "last_second"),
        [
            ("day", "UTC", (2024, 5, 1)),
            ("month", "UTC", (2024, 2, 29)),  # leap-year February
            ("day", "America/New_York", (2024, 3, 9)),  # the next day has 23 hours
            ("month", "America/New_York", (2024, 5, 31)),
            ("month", "Asia/Tokyo", (2024, 12, 31)),  # and the year ends
        ],
    )
    def test_call_across_midnight_is_charged_to_its_window(
        self, make_api: MakeApi, window: str, tz: str, last_second: tuple[int, int, int]
    ) -> None:
        """Reserved at 23:59:59 local time and settled after midnight: charged to the old
        window; a call made after midnight starts the new window with the whole budget."""
        zone = ZoneInfo(tz)
        before = datetime(*last_second, 23, 59, 59, tzinfo=zone)
        after = before + timedelta(seconds=2)
        api = make_api()
        budgets = Budgets([Limit(amount="1", window=window, tz=tz)])
        old = budgets.plan(estimate_nano=900_000_000, now=before)
        assert api.reserve("late", old, 60, now=before.timestamp()).ok
        new = budgets.plan(estimate_nano=1_000_000_000, now=after)
        assert old[0].key != new[0].key
        assert api.reserve("early", new, 60, now=after.timestamp()).ok  # a fresh window
        api.settle("late", budgets.actual(old, cost_nano=700_000_000, tokens=0))
        api.settle("early", budgets.actual(new, cost_nano=1, tokens=0))
        status = api.status([old[0].key, new[0].key])
        assert status == {old[0].key: Counter(700_000_000, 0), new[0].key: Counter(1, 0)}
        assert old[0].resets_at is not None and old[0].resets_at <= after


class TestOpen:
    def test_unknown_url(self) -> None:
        with pytest.raises(ConfigurationError) as info:
            open_budget_store("mysql://root:hunter2@db/x")
        assert info.value.field == "budget.store"
        assert "hunter2" not in str(info.value)

    def test_memory(self) -> None:
        assert isinstance(open_budget_store("memory://"), MemoryBudgetStore)

    def test_url_options(self, tmp_path: Any) -> None:
        store = open_budget_store(f"sqlite:///{tmp_path}/x.db?table=spend")
        store.reserve("r1", [charge("a", 1, 5)], 60, now=T0)
        store.close()
        import sqlite3

        with sqlite3.connect(tmp_path / "x.db") as conn:
            assert conn.execute("SELECT reserved FROM spend_counters").fetchall() == [(1,)]

    def test_bad_table_name(self, tmp_path: Any) -> None:
        with pytest.raises(ValueError, match="identifier"):
            open_budget_store(f"sqlite:///{tmp_path}/x.db", table="x; drop table y")


# -- outages ------------------------------------------------------------------------------


class Broken(MemoryBudgetStore):
    """A store whose server is gone."""

    def reserve(self, *args: Any, **kwargs: Any) -> ReserveResult:
        raise ConnectionError("connection refused")

    def settle(self, *args: Any, **kwargs: Any) -> list[Crossing]:
        raise ConnectionError("connection refused")


class TestFailSafe:
    def test_fail_closed_rejects(self, caplog: pytest.LogCaptureFixture) -> None:
        store = FailSafeBudgetStore(Broken())
        charges = [charge("user:u1|usd|day|UTC|0", 1, 10, fail_open=False)]
        with pytest.raises(BudgetStoreUnavailable) as info:
            store.reserve("r1", charges, 60, now=T0)
        assert info.value.scope == "user:u1"
        assert "fail-closed" in caplog.text

    def test_fail_open_uses_a_per_process_limit(self, caplog: pytest.LogCaptureFixture) -> None:
        store = FailSafeBudgetStore(Broken(), local_share=0.5)
        charges = [charge("global|usd|day|UTC|0", 3, 10, fail_open=True)]
        with caplog.at_level(logging.WARNING, logger="aigate.budget"):
            first = store.reserve("r1", charges, 60, now=T0)
        assert first.ok and first.degraded and "per-process" in caplog.text
        assert not store.reserve("r2", charges, 60, now=T0).ok  # 3 + 3 > 10 * 0.5
        store.settle("r1", {"global|usd|day|UTC|0": 2}, now=T0)
        assert store.local.status(["global|usd|day|UTC|0"])["global|usd|day|UTC|0"] == Counter(2, 0)
        assert store.reserve("r3", charges, 60, now=T0).ok

    def test_mixed_charges_follow_the_closed_one(self) -> None:
        store = FailSafeBudgetStore(Broken())
        charges = [charge("a", 1, 9, fail_open=True), charge("b", 1, 9, fail_open=False)]
        with pytest.raises(BudgetStoreUnavailable):
            store.reserve("r1", charges, 60, now=T0)

    def test_failed_settle_is_counted(self, caplog: pytest.LogCaptureFixture) -> None:
        store = FailSafeBudgetStore(Broken())
        assert store.settle("r1", {"a": 1}) == []
        assert store.failures == 1 and "settle failed" in caplog.text
        with pytest.raises(ConnectionError):
            FailSafeBudgetStore(Broken(), on_error="raise").settle("r1", {})

    def test_healthy_store_passes_through(self) -> None:
        store = FailSafeBudgetStore(MemoryBudgetStore())
        result = store.reserve("r1", [charge("a", 1, 9)], 60, now=T0)
        assert result.ok and not result.degraded
        store.settle("r1", {"a": 1})
        assert store.status(["a"])["a"] == Counter(1, 0)

    def test_bad_options(self) -> None:
        with pytest.raises(ConfigurationError):
            FailSafeBudgetStore(MemoryBudgetStore(), local_share=0)
        with pytest.raises(ConfigurationError):
            FailSafeBudgetStore(MemoryBudgetStore(), on_error="ignore")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "url", ["redis://127.0.0.1:1/0", "postgresql://postgres@127.0.0.1:1/test?connect_timeout=1"]
    )
    def test_real_outage_rejects_every_fail_closed_call(self, url: str) -> None:
        """With the server down, fail-closed budgets reject 100% of calls, sync and async."""
        import asyncio

        store = FailSafeBudgetStore(open_budget_store(url))
        charges = Budgets([Limit(amount="5", window="day")]).plan(estimate_nano=1, now=T0)
        for i in range(3):
            with pytest.raises(BudgetStoreUnavailable):
                store.reserve(f"r{i}", charges, 60, now=T0)
        with pytest.raises(BudgetStoreUnavailable):
            asyncio.run(store.areserve("ra", charges, 60, now=T0))
        opened = Budgets([Limit(amount="5", window="day", fail_open=True)])
        result = store.reserve("r9", opened.plan(estimate_nano=1, now=T0), 60, now=T0)
        assert result.ok and result.degraded
