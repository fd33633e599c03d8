"""RFC 6962 Merkle trees against the published Certificate Transparency test vectors (Trillian's
merkle/rfc6962 tests), plus properties over many tree sizes that a wrong split or side would break."""

from __future__ import annotations

import hashlib
import random

import pytest

from field_app.store import merkle

# RFC 6962 reference leaves d0..d7 and the published roots MTH(D[0:n]) for n = 0..8.
LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = {  # (leaf index, tree size) -> published audit path
    (0, 1): [],
    (0, 2): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    (1, 2): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_match_the_published_vectors(size):
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize("index,size", sorted(PATHS))
def test_audit_paths_match_the_published_vectors_and_verify(index, size):
    proof = merkle.inclusion_proof(LEAVES[:size], index)
    assert [p.hex() for p in proof.path] == PATHS[(index, size)]
    assert merkle.verify_inclusion(LEAVES[index], proof, bytes.fromhex(ROOTS[size]))


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 written out literally, to compare the incremental Frontier against."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])).digest()


def test_incremental_frontier_equals_the_definition_at_every_size():
    leaves = [random.randbytes(32) for _ in range(70)]
    frontier = merkle.Frontier()
    assert frontier.root() == _reference_root([])
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == _reference_root(leaves[:n]), n


def test_every_proof_in_trees_up_to_33_leaves_verifies_and_nothing_else_does():
    leaves = [random.randbytes(32) for _ in range(33)]
    for size in range(1, 34):
        root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(leaves[index], proof, root)
            # another leaf, another index, another size, a changed path: all must fail
            assert not merkle.verify_inclusion(leaves[(index + 1) % 33], proof, root)
            if size > 1:
                other = merkle.InclusionProof((index + 1) % size, size, proof.path)
                assert not merkle.verify_inclusion(leaves[index], other, root)
                flipped = bytearray(proof.path[0])
                flipped[0] ^= 1
                bad = merkle.InclusionProof(index, size, (bytes(flipped),) + proof.path[1:])
                assert not merkle.verify_inclusion(leaves[index], bad, root)
            # (The tree size is part of the proof, but only a root signed *with* that size, as in a
            # checkpoint, binds it: RFC 9162 verification cannot tell a size-3 from a size-4 shape
            # for leaf 0, so the store always takes root and size from the same checkpoint.)


def test_malformed_proofs_are_rejected_not_raised():
    root = merkle.root(LEAVES)
    assert not merkle.verify_inclusion(LEAVES[0], merkle.InclusionProof(8, 8, ()), root)
    assert not merkle.verify_inclusion(LEAVES[0], merkle.InclusionProof(-1, 8, ()), root)
    assert not merkle.verify_inclusion(LEAVES[0], merkle.InclusionProof(0, 8, (b"short",) * 3), root)
    long_path = merkle.inclusion_proof(LEAVES, 0).path + (bytes(32),)
    assert not merkle.verify_inclusion(LEAVES[0], merkle.InclusionProof(0, 8, long_path), root)


def test_proof_json_round_trip():
    proof = merkle.inclusion_proof(LEAVES, 5)
    assert merkle.InclusionProof.from_json(proof.to_json()) == proof
