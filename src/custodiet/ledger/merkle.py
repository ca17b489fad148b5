"""RFC 9162 §2.1 Merkle tree hashing, proofs, and their verification, over an append-only node store.

Hashing: leaf = SHA-256(0x00 ‖ leaf input), node = SHA-256(0x01 ‖ left ‖ right), and the tree over
``n`` leaves splits at the largest power of two smaller than ``n`` (so every left subtree is perfect).

Storage: a tree that only grows has one useful property: a *perfect, aligned* subtree (``2^k`` leaves
starting at a multiple of ``2^k``) never changes once its last leaf exists. Every proof and every root
is built from such subtrees plus at most ``log n`` hashes along the right edge. We keep every perfect
node in **post-order** (the order in which nodes become complete, as in a Merkle mountain range), so
the node file only ever grows at its end and node ``(level, index)`` sits at a position computed in
O(1) (``node_position``). A tree of ``n`` leaves holds ``node_count(n) = 2n - popcount(n)`` nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32

# Reads the perfect node at (level, index): the root of leaves [index * 2^level, (index + 1) * 2^level).
NodeGetter = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof was asked for sizes or indices that the tree cannot answer."""


def hash_leaf(leaf_input: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf_input).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    """MTH({}) = SHA-256() (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"").digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def node_count(size: int) -> int:
    """How many perfect nodes (leaves included) a tree of ``size`` leaves has."""
    return 2 * size - size.bit_count()


def node_position(level: int, index: int) -> int:
    """Post-order position of the perfect node ``(level, index)``."""
    end = (index + 1) << level  # the leaf count at which this node becomes complete
    trailing = (end & -end).bit_length() - 1
    return node_count(end) - 1 - (trailing - level)


def node_positions(level: int, first: int, count: int) -> np.ndarray:
    """Vectorised ``node_position`` for nodes ``first .. first+count-1`` of one level (int64)."""
    end = (np.arange(first, first + count, dtype=np.int64) + 1) << level
    trailing = np.bitwise_count((end & -end) - 1).astype(np.int64)
    return 2 * end - np.bitwise_count(end).astype(np.int64) - 1 - (trailing - level)


def subtree_root(get: NodeGetter, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range whose start is aligned as the RFC recursion produces it."""
    size = end - start
    if size <= 0:
        raise ProofError(f"empty range [{start}, {end})")
    if size & (size - 1) == 0 and start % size == 0:
        return get(size.bit_length() - 1, start // size)
    k = split_point(size)
    return hash_children(subtree_root(get, start, start + k), subtree_root(get, start + k, end))


def root(get: NodeGetter, size: int) -> bytes:
    return empty_root() if size == 0 else subtree_root(get, 0, size)


def inclusion_path(get: NodeGetter, leaf_index: int, tree_size: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf to root."""
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is outside a tree of {tree_size} leaves")
    start, end, path = 0, tree_size, []
    while end - start > 1:
        k = split_point(end - start)
        if leaf_index < start + k:
            path.append(subtree_root(get, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(get, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(get: NodeGetter, first: int, second: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (SUBPROOF with b = true), oldest-level first."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    start, m, n, whole = 0, first, second, True
    collected: list[bytes] = []
    while m != n:
        k = split_point(n)
        if m <= k:
            collected.append(subtree_root(get, start + k, start + n))
            n = k
        else:
            collected.append(subtree_root(get, start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    head = [] if whole else [subtree_root(get, start, start + m)]
    return head + collected[::-1]


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2); needs nothing but the hashes --------------------

def root_from_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an inclusion path leads to, or None when the path cannot belong to that index and size."""
    if not 0 <= leaf_index < tree_size:
        return None
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes],
                     root_hash: bytes) -> bool:
    return root_from_inclusion(leaf_index, tree_size, leaf_hash, path) == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """True when ``proof`` shows the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    if not 0 < first <= second:
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
