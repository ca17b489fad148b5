"""Growing the tree by a whole batch of leaves at once, level by level, with vectorised hashing.

Given the leaf hashes of a batch and the tree size before it, ``grow`` returns every perfect node the
batch completes, already in post-order, so the caller appends them to the node file in one write. A
new node at level ``k`` whose left sibling is older than the batch reads that sibling through
``get`` (from the node file when appending, from a ``Frontier`` when re-building in memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from custodiet.ledger.merkle import (
    HASH_SIZE,
    NodeGetter,
    empty_root,
    hash_children,
    node_count,
    node_positions,
)

# Hashes many (left ‖ right) pairs: input (p, 64) uint8, output (p, 32) uint8, SHA-256(0x01 ‖ pair).
PairHasher = Callable[[np.ndarray], np.ndarray]


@dataclass
class Growth:
    """The nodes a batch adds: ``nodes`` (count, 32) uint8 in post-order, and per-level new nodes."""

    old_size: int
    new_size: int
    nodes: np.ndarray
    levels: dict[int, tuple[int, np.ndarray]]  # level -> (index of first new node, hashes)

    def node(self, level: int, index: int) -> bytes | None:
        entry = self.levels.get(level)
        if entry is None or index < entry[0] or index >= entry[0] + len(entry[1]):
            return None
        return entry[1][index - entry[0]].tobytes()


def grow(old_size: int, leaves: np.ndarray, get: NodeGetter, hash_pairs: PairHasher) -> Growth:
    """All perfect nodes that appending ``leaves`` (m, 32) to a tree of ``old_size`` leaves completes."""
    m = len(leaves)
    new_size = old_size + m
    levels: dict[int, tuple[int, np.ndarray]] = {}
    level, first, current = 0, old_size, leaves
    while len(current):
        levels[level] = (first, current)
        if first & 1:  # the first new node's left sibling is already stored
            left = np.frombuffer(get(level, first - 1), dtype=np.uint8).reshape(1, HASH_SIZE)
            current, first = np.concatenate([left, current]), first - 1
        pairs = len(current) // 2
        current = hash_pairs(np.ascontiguousarray(current[: 2 * pairs]).reshape(pairs, 2 * HASH_SIZE))
        level, first = level + 1, first // 2
    base = node_count(old_size)
    out = np.empty((node_count(new_size) - base, HASH_SIZE), dtype=np.uint8)
    for lvl, (start, hashes) in levels.items():
        out[node_positions(lvl, start, len(hashes)) - base] = hashes
    return Growth(old_size, new_size, out, levels)


@dataclass
class Frontier:
    """The peaks of an in-memory tree: enough to keep growing it and to compute its root."""

    size: int = 0
    peaks: dict[int, bytes] = field(default_factory=dict)  # level -> last perfect node at that level

    def get(self, level: int, index: int) -> bytes:
        if (self.size >> level) - 1 != index or level not in self.peaks:
            raise KeyError(f"node ({level}, {index}) is not a peak of a tree of {self.size} leaves")
        return self.peaks[level]

    def extend(self, leaves: np.ndarray, hash_pairs: PairHasher) -> Growth:
        growth = grow(self.size, leaves, self.get, hash_pairs)
        size = growth.new_size
        peaks: dict[int, bytes] = {}
        for level in range(size.bit_length()):
            if size >> level & 1:
                index = (size >> level) - 1
                new = growth.node(level, index)
                peaks[level] = new if new is not None else self.peaks[level]
        self.size, self.peaks = size, peaks
        return growth

    def root(self) -> bytes:
        """MTH over all leaves so far: fold the peaks from the smallest up (RFC 9162 split rule)."""
        if self.size == 0:
            return empty_root()
        acc: bytes | None = None
        for level in sorted(self.peaks):
            acc = self.peaks[level] if acc is None else hash_children(self.peaks[level], acc)
        assert acc is not None
        return acc
