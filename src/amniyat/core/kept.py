"""Values a process keeps for its later requests: at most a number of them, each for at most
a time, the least recently used going first (findings' pieces, the form versions a phone sends
to). For what every process of the machine shares, Django's cache is the place."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")

HOUR = 3600.0


class Kept:
    """At most ``size`` values, each for at most ``seconds``, the least recently used going
    first. Made outside the lock: a value may be made twice by two threads at once, never
    handed out half made."""

    def __init__(self, *, size: int, seconds: float = HOUR) -> None:
        self.size = size
        self.seconds = seconds
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] > now:
                self._items.move_to_end(key)
                return cast(T, found[1])
        value = make()
        with self._lock:
            self._items[key] = (now + self.seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
