"""The bad-token throttle, on a fake clock: slow, then refuse, then recover; other addresses untouched."""

from __future__ import annotations

import pytest

from custodiet.gateway.throttle import BadTokenThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def attempt(th: BadTokenThrottle, ip: str) -> tuple[str, float]:
    """What the gateway does for one bad token: ask, then count it."""
    verdict = th.check(ip)
    th.failed(ip)
    return verdict


def test_slow_after_20_then_refuse_after_50_then_recover() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock)
    verdicts = [attempt(th, "10.0.0.9") for _ in range(50)]
    assert verdicts[:20] == [("ok", 0.0)] * 20
    delays = [d for v, d in verdicts[20:]]
    assert all(v == "slow" for v, _ in verdicts[20:])
    assert delays[:8] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]  # increasing by 0.25 s per failure
    assert max(delays) == 2.0  # capped
    verdict, retry = th.check("10.0.0.9")
    assert verdict == "refuse"
    assert retry == pytest.approx(300)
    clock.now += 100
    verdict, retry = attempt(th, "10.0.0.9")
    assert (verdict, retry) == ("refuse", pytest.approx(200))  # refused tokens do not extend the refusal
    clock.now += 199.9
    assert th.check("10.0.0.9")[0] == "refuse"
    clock.now += 0.1
    assert th.check("10.0.0.9") == ("ok", 0.0)
    assert [attempt(th, "10.0.0.9")[0] for _ in range(21)] == ["ok"] * 20 + ["slow"]  # a clean slate


def test_failures_slide_out_of_the_window() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock)
    for _ in range(25):
        attempt(th, "10.0.0.9")
        clock.now += 1
    assert th.check("10.0.0.9")[0] == "slow"
    clock.now += 60 - 25 + 5  # the first ~30 failures are older than a minute now
    assert th.check("10.0.0.9") == ("ok", 0.0)


def test_a_slow_steady_guesser_is_never_slowed() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock)
    for _ in range(200):
        assert attempt(th, "10.0.0.9") == ("ok", 0.0)
        clock.now += 3.1  # 19 or 20 a minute


def test_other_addresses_are_never_touched() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock)
    for _ in range(60):
        attempt(th, "10.0.0.9")
    assert th.check("10.0.0.9")[0] == "refuse"
    assert th.check("10.0.0.10") == ("ok", 0.0)
    assert th.check("2001:db8::9") == ("ok", 0.0)
    for _ in range(19):
        assert attempt(th, "10.0.0.10") == ("ok", 0.0)


def test_memory_is_bounded() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock, max_ips=100)
    for i in range(1000):
        attempt(th, f"10.1.{i // 256}.{i % 256}")
    assert len(th) == 100  # the least recently seen were dropped
    for _ in range(60):
        attempt(th, "10.0.0.9")
    clock.now += 61
    th.check("10.2.0.1")  # any call forgets the idle addresses...
    assert len(th) == 1  # ...but the refused one stays until its refusal ends
    assert th.check("10.0.0.9")[0] == "refuse"
    clock.now += 300
    th.check("10.2.0.1")
    assert len(th) == 0


def test_bad_tokens_in_flight_together_reach_the_limit_once() -> None:
    # several bad tokens asked about before any was counted (requests overlapping in the loop)
    clock = FakeClock()
    th = BadTokenThrottle(slow_after=1, refuse_after=3, clock=clock)
    attempt(th, "10.0.0.9")
    assert [th.check("10.0.0.9")[0] for _ in range(3)] == ["slow"] * 3
    for _ in range(3):
        th.failed("10.0.0.9")
    verdict, retry = th.check("10.0.0.9")
    assert verdict == "refuse"
    assert retry == pytest.approx(300)  # the failures past the limit did not extend it


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="slow_after"):
        BadTokenThrottle(slow_after=50, refuse_after=20)
    with pytest.raises(ValueError, match="positive"):
        BadTokenThrottle(window_s=0)


def test_an_ipv6_host_cannot_rotate_through_its_own_network() -> None:
    clock = FakeClock()
    th = BadTokenThrottle(clock=clock)
    for i in range(60):
        attempt(th, f"2001:db8:1:2::{i:x}")  # one /64, a new address every time
    assert th.check("2001:db8:1:2::ffff")[0] == "refuse"
    assert th.check("2001:db8:1:3::1") == ("ok", 0.0)  # the next /64 is someone else
    assert th.check("::ffff:10.0.0.9") == ("ok", 0.0)
    for _ in range(60):
        attempt(th, "::ffff:10.0.0.9")  # an IPv4 client seen through an IPv6 socket is that IPv4 address
    assert th.check("10.0.0.9")[0] == "refuse"
    assert th.check("10.0.0.8") == ("ok", 0.0)


def test_a_burst_from_many_addresses_alerts_once_a_window() -> None:
    from custodiet.gateway.throttle import BadTokenBurst

    now = [0.0]
    burst = BadTokenBurst(threshold=50, window_s=60, clock=lambda: now[0])
    said = []
    for i in range(120):  # 120 addresses, one bad token each: no address is ever slowed
        now[0] = i * 0.2
        said.append(burst.failed(f"10.0.{i // 250}.{i % 250}"))
    alerts = [s for s in said if s]
    assert len(alerts) == 1
    assert alerts[0]["bad_tokens"] == 50
    assert alerts[0]["addresses"] == 50
    assert said.index(alerts[0]) == 49
    now[0] = 200.0  # the window has passed, and so have the failures in it
    assert burst.failed("10.9.9.9") is None
