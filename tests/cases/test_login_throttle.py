"""Failed logins counted per account and per (account, address) in the store, with a doubling delay."""
import pytest

from cases import ThrottlePolicy, UserNotFound

POLICY = ThrottlePolicy(free_failures=5, account_free_failures=20, first_delay_s=30, max_delay_s=900,
                        window_s=3600)
STATION = "10.20.0.1"  # one NAT address for a whole police station
T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path, backend):
    with backend.open(tmp_path) as opened:
        opened.add_user("li", role="officer", unit="默认单位", password="correct-horse-9")
        opened.add_user("wang", role="officer", unit="默认单位", password="correct-horse-9")
        yield opened


def failure(store, name, address, *, now):
    return store.record_login_failure(name, address, POLICY, actor=f"anonymous:{address}", now=now)


def fail(store, name, address, times, *, at):
    started = None
    for i in range(times):
        started = failure(store, name, address, now=at + i)
    return started


def test_the_fifth_failure_holds_that_account_at_that_address_only(store):
    assert fail(store, "li", STATION, 4, at=T0) is None
    assert store.login_wait("li", STATION, now=T0 + 4) is None
    started = failure(store, "li", STATION, now=T0 + 4)
    assert started.wait_s == 30 and not started.whole_account
    held = store.login_wait("li", STATION, now=T0 + 10)
    assert held is not None and 23 < held.wait_s <= 24 and not held.whole_account
    # a colleague at the same station, and the same officer at another computer, are not held
    assert store.login_wait("wang", STATION, now=T0 + 10) is None
    assert store.login_wait("li", "10.20.0.2", now=T0 + 10) is None
    assert store.login_wait("li", STATION, now=T0 + 35) is None  # the wait is over


def test_the_delay_doubles_with_each_further_failure_up_to_the_longest(store):
    fail(store, "li", STATION, 5, at=T0)
    waits, now = [], T0 + 5
    for _ in range(8):
        now += store.login_wait("li", STATION, now=now).wait_s + 0.5  # try again only when allowed
        waits.append(failure(store, "li", STATION, now=now).wait_s)
    assert waits[:5] == [60, 120, 240, 480, 900]
    assert set(waits[5:]) == {900}  # capped; the account row reached 13 < 20 failures: not whole-account


def test_failures_from_many_addresses_hold_the_whole_account(store):
    for i in range(19):
        assert failure(store, "li", f"10.0.0.{i}", now=T0 + i) is None
    started = failure(store, "li", "10.0.0.99", now=T0 + 20)
    assert started.whole_account and started.wait_s == 30
    held = store.login_wait("li", "192.168.1.1", now=T0 + 21)  # a new address is held too
    assert held.whole_account
    assert store.login_wait("wang", "192.168.1.1", now=T0 + 21) is None


def test_a_count_is_forgotten_after_the_window_and_cleared_by_a_login(store):
    fail(store, "li", STATION, 4, at=T0)
    assert failure(store, "li", STATION, now=T0 + 3 + 3600) is None  # starts again at 1
    fail(store, "wang", STATION, 4, at=T0)
    store.clear_login_failures("wang", STATION, actor="cli:tester")
    assert failure(store, "wang", STATION, now=T0 + 10) is None


def test_an_administrator_unlocks_every_address_of_an_account_audited(store):
    fail(store, "li", STATION, 6, at=T0)
    fail(store, "li", "10.20.0.2", 5, at=T0)
    assert {(lock["name"], lock["address"]) for lock in store.login_locks(now=T0 + 6)} == {
        ("li", STATION), ("li", "10.20.0.2")}
    assert store.unlock_user("li", actor="cli:root") == 3  # two addresses and the account's own count
    assert store.login_wait("li", STATION, now=T0 + 7) is None
    assert store.unlock_user("li", actor="cli:root") == 0
    with pytest.raises(UserNotFound):
        store.unlock_user("nobody", actor="cli:root")
    actions = [(row["action"], row["user"]) for row in store.audit_rows()]
    assert ("user.unlocked", "cli:root") in actions
    assert actions.count(("auth.login_failed", f"anonymous:{STATION}")) == 6
    assert ("auth.login_throttled", f"anonymous:{STATION}") in actions


def test_names_that_are_no_account_are_counted_alike(store):
    started = fail(store, "no-such-officer", STATION, 5, at=T0)
    assert started is not None and started.wait_s == 30  # the answer does not reveal that the name is unknown
