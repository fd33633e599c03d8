"""Merkle trees as in Certificate Transparency (RFC 6962 / RFC 9162, section 2.1).

The implementation lives in ``sync.protocol.merkle`` (pure, shared with the HQ server, which must
compute the same roots); this module re-exports it so store code keeps its import path.
"""

from __future__ import annotations

from sync.protocol import merkle as _shared
from sync.protocol.merkle import EMPTY_ROOT, Frontier, InclusionProof, inclusion_proof, leaf_hash, node_hash, root

__all__ = ["EMPTY_ROOT", "Frontier", "InclusionProof", "inclusion_proof", "leaf_hash", "node_hash", "root",
           "verify_inclusion"]


def verify_inclusion(leaf_data: bytes, proof: InclusionProof, expected_root: bytes) -> bool:
    """True iff ``proof`` shows ``leaf_data`` at ``proof.leaf_index`` in a tree whose root is
    ``expected_root``; never raises. Dangerous: take ``expected_root`` and ``proof.tree_size`` from the
    same signed checkpoint (see ``sync.protocol.merkle.verify_inclusion``)."""
    return _shared.verify_inclusion(leaf_data, proof, expected_root)
