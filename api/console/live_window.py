"""The newest rows of a table, found by id without missing one committed out of order.

A dashboard tick asks for the rows inserted since the last one. "Ids above the largest
seen" misses a row whose id was taken before a larger one but committed after it (on
PostgreSQL ids come from a sequence at insert time, not at commit). So every id above a
``floor`` some ``SLACK`` ids below the largest one seen is read again each tick and those
already counted are skipped: a transaction that holds its id while ``SLACK`` others are
taken and committed is the rare case the periodic full recount corrects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

SLACK = 512  # ids below the largest seen that are read again every tick
KEEP = 2 * SLACK  # the floor is raised when the largest id is this far above it


@dataclass
class IdWindow:
    floor: int = 0  # every id above it is read each tick
    seen: set[int] = field(default_factory=set)  # the ids above ``floor`` already counted

    @staticmethod
    def starting_at(largest: int, seen: Iterable[int] = ()) -> IdWindow:
        """A window whose floor is ``SLACK`` below ``largest``; ``seen`` are already counted
        (read in the same statement as the totals they are part of)."""
        floor = max(largest - SLACK, 0)
        return IdWindow(floor, {i for i in seen if i > floor})

    def unseen(self, ids: Iterable[int], largest: int) -> list[int]:
        """The ids not counted yet, now marked counted; ``largest``: the largest id read
        above the floor (the table's, not only the ones that count), which moves the floor
        up so a tick reads a few hundred rows, not everything since the start."""
        fresh = [i for i in ids if i not in self.seen]
        self.seen.update(fresh)
        if largest - self.floor > KEEP:
            self.floor = largest - SLACK
            self.seen = {i for i in self.seen if i > self.floor}
        return fresh
