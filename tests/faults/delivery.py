"""What a fault test received, and the checks made on it. Every message of a stream carries its
sequence number, so a test can say which numbers arrived, how many times and in what order,
instead of only counting (a count can hide a duplicate making up for a loss)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Dict, Iterable, List, Optional, Sequence


class Tally:
    """Arrivals of the sequence numbers ``0..expected-1``. A payload starts with its number
    and a colon; with ``payload_of``, a payload that is not exactly ``payload_of(number)``
    (damaged on the way) counts as a stranger, not as an arrival."""

    def __init__(self, expected: int, payload_of: Optional[Callable[[int], bytes]] = None) -> None:
        self.expected = expected
        self.payload_of = payload_of
        self.times: Counter[int] = Counter()
        self.arrivals: List[int] = []
        self.strangers: List[bytes] = []
        """Payloads that are not a number of this stream: reported, never ignored."""

    def add(self, payload: bytes) -> None:
        try:
            n = int(payload.split(b":", 1)[0])
        except ValueError:
            self.strangers.append(payload)
            return
        if not 0 <= n < self.expected or (self.payload_of is not None and payload != self.payload_of(n)):
            self.strangers.append(payload)
            return
        self.times[n] += 1
        self.arrivals.append(n)

    def add_all(self, payloads: Iterable[bytes]) -> None:
        for p in payloads:
            self.add(p)

    @property
    def distinct(self) -> int:
        return len(self.times)

    def complete(self) -> bool:
        return self.distinct == self.expected

    def missing(self) -> List[int]:
        return [n for n in range(self.expected) if n not in self.times]

    def duplicates(self) -> Dict[int, int]:
        """Numbers that arrived more than once, with how often."""
        return {n: k for n, k in sorted(self.times.items()) if k > 1}

    def first_arrivals(self) -> List[int]:
        """The numbers in the order each first arrived."""
        seen = set()
        order = []
        for n in self.arrivals:
            if n not in seen:
                seen.add(n)
                order.append(n)
        return order

    def summary(self) -> str:
        dups = self.duplicates()
        strangers = [s[:40] for s in self.strangers]
        return (f"{self.distinct}/{self.expected} distinct, {len(self.arrivals)} arrivals, "
                f"{len(dups)} duplicated {_head(list(dups.items()))}, missing {_head(self.missing())}, "
                f"strangers {_head(strangers)}")


def _head(items: Sequence[object], n: int = 10) -> str:
    return f"{list(items[:n])}{'...' if len(items) > n else ''}"


def assert_at_least_once(t: Tally, context: str = "") -> None:
    """Every number arrived intact; ``context`` (a seed, say) goes into the message."""
    assert not t.strangers, f"{context} damaged or foreign payloads: {t.summary()}"
    assert t.missing() == [], f"{context} lost messages: {t.summary()}"


def assert_exactly_once(t: Tally, context: str = "") -> None:
    assert_at_least_once(t, context)
    assert t.duplicates() == {}, f"{context} QoS 2 delivered twice: {t.summary()}"


def assert_in_publish_order(t: Tally) -> None:
    """Each number first arrives after every smaller one: a resent message may repeat an
    earlier one (QoS 1), but nothing new overtakes what was published before it."""
    order = t.first_arrivals()
    overtaken = [(a, b) for a, b in zip(order, order[1:]) if b < a]
    assert not overtaken, f"arrived out of publish order (earlier, later): {_head(overtaken)}"
