"""Bad-token throttle: a client address that keeps presenting bad tokens is slowed down, then refused.

How the gateway uses it. The gateway looks a request's token up first (``TokenBook.actor_of``: one hash
and one dict probe, the same cost for any token). A good token goes on to the policy and is never
throttled, so an officer who shares an address (a station's NAT) with someone guessing tokens keeps
working. Only for a bad (missing, malformed, unknown or revoked) token does the gateway ask
``check(ip)`` before it answers:

- ``("ok", 0)``: answer 401 at once;
- ``("slow", delay)``: wait ``delay`` seconds (``asyncio.sleep``: other requests go on), then answer 401;
- ``("refuse", retry_after)``: answer 429 with ``Retry-After: ceil(retry_after)``;

and then calls ``failed(ip)`` to count it. Failures are counted in a sliding window of ``window_s``
seconds: past ``slow_after`` of them each further bad token waits ``step_s`` × (failures past the limit),
at most ``max_delay_s``; at ``refuse_after`` the address is refused for ``refuse_for_s`` seconds, after
which it starts again with a clean slate. Bad tokens presented while refused are not counted (the
refusal does not grow), so ``Retry-After`` is the truth.

The throttle does not hide whether a token is good: tokens carry 256 random bits, so guessing one is out
of reach at any speed; what it bounds is the work and the log noise of stuffing lists of stolen or
made-up tokens, and it turns a brute-force attempt into something an alert can name.

Addresses are counted as ``client_key`` says: IPv4 one by one, IPv6 by /64 network. Behind a reverse
proxy the gateway must pass the client's address (from the proxy's header, trusted only from the proxy),
not the proxy's. Many addresses acting together (a botnet) are beyond a per-address throttle: the gateway's
alerts on the rate of bad tokens overall are the answer to that.

Memory is bounded: an address is forgotten once it has been idle for a window (and any refusal is
over), and at most ``max_ips`` addresses are tracked (the least recently seen is dropped first). Each
address keeps at most ``refuse_after`` timestamps. Not thread-safe: the gateway calls it from its one
asyncio loop.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

OK, SLOW, REFUSE = "ok", "slow", "refuse"


def client_key(ip: str) -> str:
    """What failures are counted against: an IPv4 address as it is, an IPv6 address by its /64 network
    (one host usually holds a whole /64, so counting single IPv6 addresses would let it rotate forever).
    Text that is not an address (e.g. a test client's name) is its own key."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


@dataclass
class _Client:
    failures: deque[float] = field(default_factory=deque)  # times of the bad tokens in the window
    refused_until: float = 0.0
    last_seen: float = 0.0


class BadTokenThrottle:
    """Per client address: slow after ``slow_after`` bad tokens in ``window_s`` seconds, refuse for
    ``refuse_for_s`` seconds after ``refuse_after``. ``clock`` is monotonic seconds (a fake one in tests)."""

    def __init__(self, slow_after: int = 20, refuse_after: int = 50, window_s: float = 60.0,
                 refuse_for_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 step_s: float = 0.25, max_delay_s: float = 2.0, max_ips: int = 100_000):
        if not 0 <= slow_after < refuse_after:
            raise ValueError(f"need 0 <= slow_after < refuse_after (got {slow_after}, {refuse_after})")
        if window_s <= 0 or refuse_for_s <= 0 or max_ips < 1:
            raise ValueError("window_s, refuse_for_s and max_ips must be positive")
        self.slow_after = slow_after
        self.refuse_after = refuse_after
        self.window_s = window_s
        self.refuse_for_s = refuse_for_s
        self.clock = clock
        self.step_s = step_s
        self.max_delay_s = max_delay_s
        self.max_ips = max_ips
        self._clients: OrderedDict[str, _Client] = OrderedDict()  # least recently seen first

    def __len__(self) -> int:
        """How many client addresses are tracked now."""
        return len(self._clients)

    def check(self, ip: str) -> tuple[str, float]:
        """What to do with a bad token from ``ip``: ``("ok", 0.0)``, ``("slow", seconds to wait)`` or
        ``("refuse", seconds until it may try again)``. Does not count the token: call ``failed``."""
        now = self.clock()
        self._evict(now)
        client = self._clients.get(client_key(ip))
        if client is None:
            return OK, 0.0
        if client.refused_until > now:
            return REFUSE, client.refused_until - now
        count = self._prune(client, now)  # below refuse_after: reaching it refuses (in ``failed``)
        if count >= self.slow_after:
            return SLOW, min(self.max_delay_s, self.step_s * (count - self.slow_after + 1))
        return OK, 0.0

    def failed(self, ip: str) -> None:
        """Count one bad token from ``ip`` (not counted while ``ip`` is refused)."""
        now = self.clock()
        ip = client_key(ip)
        client = self._clients.get(ip)
        if client is None:
            client = self._clients[ip] = _Client()
            if len(self._clients) > self.max_ips:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(ip)
        client.last_seen = now
        if client.refused_until > now:
            return
        if client.refused_until:  # a refusal ended: start again with a clean slate
            client.refused_until = 0.0
            client.failures.clear()
        count = self._prune(client, now)
        client.failures.append(now)
        if count + 1 >= self.refuse_after:
            client.refused_until = now + self.refuse_for_s
            client.failures.clear()

    def _prune(self, client: _Client, now: float) -> int:
        """Drop failures older than the window; how many remain."""
        horizon = now - self.window_s
        failures = client.failures
        while failures and failures[0] <= horizon:
            failures.popleft()
        return len(failures)

    def _evict(self, now: float) -> None:
        """Forget addresses idle for a whole window whose refusal (if any) is over."""
        clients = self._clients
        for _ in range(len(clients)):
            ip, client = next(iter(clients.items()))
            if client.last_seen > now - self.window_s:
                break  # the rest were seen more recently
            if client.refused_until > now:
                client.last_seen = now  # idle but still refused: keep it, look again in a window
                clients.move_to_end(ip)
            else:
                del clients[ip]


class BadTokenBurst:
    """Bad tokens from every address together: past ``threshold`` within ``window_s`` seconds, ``failed``
    returns what an alert should say (at most once a window). Many addresses guessing at once (a botnet)
    stay under any per-address limit; together they do not. Default 200 a minute: ten times what one address
    may send before it is slowed, far above an office's mistyped tokens. Memory is bounded: at most
    ``10 × threshold`` recent failures are kept (past that the count only says "at least")."""

    def __init__(self, threshold: int = 200, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if threshold < 1 or window_s <= 0:
            raise ValueError("threshold and window_s must be positive")
        self.threshold, self.window_s, self.clock = threshold, window_s, clock
        self._recent: deque[tuple[float, str]] = deque(maxlen=10 * threshold)
        self._alerted_at: float | None = None

    def failed(self, ip: str) -> dict[str, float] | None:
        """Count one bad token from ``ip``; the alert's numbers when the burst crosses the threshold."""
        now = self.clock()
        recent = self._recent
        recent.append((now, client_key(ip)))
        while recent and recent[0][0] <= now - self.window_s:
            recent.popleft()
        if len(recent) < self.threshold:
            return None
        if self._alerted_at is not None and now - self._alerted_at < self.window_s:
            return None
        self._alerted_at = now
        return {"bad_tokens": len(recent), "addresses": len({key for _, key in recent}), "window_s": self.window_s}
