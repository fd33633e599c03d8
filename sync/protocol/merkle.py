"""Merkle trees as in Certificate Transparency (RFC 6962 / RFC 9162, section 2.1).

leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right); the tree over n leaves
splits at the largest power of two below n. The empty tree's root is SHA-256 of nothing.

Pure functions over bytes, no I/O: the laptop's store (``field_app.store.merkle`` re-exports this
module) and the HQ server share this one implementation. Leaf
*indexes* are 0-based here (the store's sequence number ``seq`` is ``index + 1``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash of one leaf's data (the store uses an entry's 32-byte hash as the data)."""
    return _h(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


EMPTY_ROOT = _h(b"")


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n ≥ 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _root_of_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root_of_leaf_hashes(hashes[:k]), _root_of_leaf_hashes(hashes[k:]))


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash (MTH) over the leaves' data."""
    frontier = Frontier()
    for data in leaves:
        frontier.append(data)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: append leaves one by one, ask for the root at any time.

    Keeps O(log n) hashes. ``root()`` equals ``root(all leaves so far)``.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, subtree root), heights strictly decreasing
        self.size = 0

    def append(self, data: bytes) -> None:
        self._push(leaf_hash(data))

    def _push(self, hashed: bytes) -> None:
        height = 0
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            hashed = node_hash(left, hashed)
            height += 1
        self._stack.append((height, hashed))
        self.size += 1

    def to_state(self) -> dict:
        """A JSON-ready snapshot (size and the O(log n) subtree roots), e.g. kept by HQ per device."""
        return {"size": self.size, "stack": [[h, r.hex()] for h, r in self._stack]}

    @classmethod
    def from_state(cls, state: dict) -> "Frontier":
        """Rebuild from ``to_state``. ValueError if the snapshot is inconsistent (heights must strictly
        decrease and their subtree sizes must add up to ``size``)."""
        frontier = cls()
        stack = [(int(h), bytes.fromhex(r)) for h, r in state["stack"]]
        heights = [h for h, _ in stack]
        if any(a <= b for a, b in zip(heights, heights[1:])) or sum(1 << h for h in heights) != int(state["size"]) \
                or any(len(r) != 32 for _, r in stack):
            raise ValueError("inconsistent Merkle frontier state")
        frontier._stack, frontier.size = stack, int(state["size"])
        return frontier

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc


@dataclass(frozen=True)
class InclusionProof:
    """Proof that leaf ``leaf_index`` (0-based) is in the tree of ``tree_size`` leaves."""

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]

    def to_json(self) -> dict:
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size,
                "path": [p.hex() for p in self.path]}

    @classmethod
    def from_json(cls, data: dict) -> "InclusionProof":
        return cls(int(data["leaf_index"]), int(data["tree_size"]),
                   tuple(bytes.fromhex(p) for p in data["path"]))


def inclusion_proof(leaves: Sequence[bytes], leaf_index: int) -> InclusionProof:
    """The audit path for ``leaves[leaf_index]`` in the tree over all of ``leaves`` (RFC 6962 2.1.1)."""
    if not 0 <= leaf_index < len(leaves):
        raise ValueError(f"leaf index {leaf_index} outside a tree of {len(leaves)} leaves")
    hashes = [leaf_hash(d) for d in leaves]
    path: list[bytes] = []
    lo, hi, m = 0, len(hashes), leaf_index
    # Walk down from the root, collecting the sibling subtree roots; RFC order is leaf-to-root.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(_root_of_leaf_hashes(hashes[lo + k:hi]))
            hi = lo + k
        else:
            path.append(_root_of_leaf_hashes(hashes[lo:lo + k]))
            lo, m = lo + k, m - k
    return InclusionProof(leaf_index, len(leaves), tuple(reversed(path)))


def verify_inclusion(leaf_data: bytes, proof: InclusionProof, expected_root: bytes) -> bool:
    """True iff ``proof`` shows ``leaf_data`` at ``proof.leaf_index`` in a tree whose root is
    ``expected_root`` (RFC 9162 section 2.1.3.2). Never raises on malformed proofs: returns False.

    Dangerous: take ``expected_root`` and ``proof.tree_size`` from the same signed checkpoint. The
    algorithm alone does not bind the size to the root (a path for leaf 0 of 3 leaves also "verifies"
    as a path in a 4-leaf tree against the 3-leaf root)."""
    index, size = proof.leaf_index, proof.tree_size
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf_data)
    for p in proof.path:
        if len(p) != 32 or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root
