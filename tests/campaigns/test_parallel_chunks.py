"""Chunks mapped in worker processes come back in input order, with a bounded look-ahead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voicebot.campaigns.parallel_chunks import map_chunks


def doubled(chunk: list[int]) -> list[int]:
    return [2 * n for n in chunk]


class Counted:
    """An iterable that tells how many items were taken from it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    def __iter__(self) -> Iterator[int]:
        for n in range(self.count):
            self.taken += 1
            yield n


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_in_input_order(workers: int) -> None:
    assert list(map_chunks(doubled, range(50), size=3, workers=workers)) == [
        2 * n for n in range(50)
    ]


@pytest.mark.parametrize(("ahead", "taken"), [(None, 5), (9, 10)])
def test_the_workers_get_at_most_ahead_chunks_beyond_the_one_consumed(
    ahead: int | None, taken: int
) -> None:
    """By default twice the workers; a caller that pauses to store a batch asks for more."""
    items = Counted(100)
    results = map_chunks(doubled, items, size=1, workers=2, ahead=ahead)
    assert next(results) == 0
    assert items.taken == taken
    assert list(results) == [2 * n for n in range(1, 100)]
