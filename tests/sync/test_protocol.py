"""The pure protocol pieces: batch checks with every coded refusal, receipts, request signatures, the
sealed box against the store's escrow, and that laptop and HQ hash entries identically."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.protocol import auth, chain, merkle, sealedbox
from sync.protocol.errors import INFO, Code, ProtocolError, message_of
from sync.protocol.receipt import RECEIPT_DOMAIN, Receipt


def _wire(store, after=0):
    return [chain.WireEntry.from_json(e.to_json()) for e in store.entries_after(after, 10_000)]


def test_the_store_and_the_protocol_hash_entries_identically(store):
    store.append("form.2-5", {"place": "工地", "n": 1.5, "list": [1, "二"]}, record_id="f1")
    for wire, entry in zip(_wire(store), store.entries_after(0, 100)):
        assert wire.computed_hash() == entry.entry_hash == entry.computed_hash()


def _check(store, entries, head_size=0, head_hash=None, known=None):
    return chain.check_batch(entries, store_id=store.store_id, device_key=store.device_public_key,
                             head_size=head_size, head_hash=head_hash or chain.genesis_hash(store.store_id),
                             known_hash=(known or {}).get)


def test_check_batch_accepts_a_genuine_chain_and_skips_what_hq_has(store):
    store.append("note", {"x": 1})
    wire = _wire(store)
    assert len(_check(store, wire).new) == len(wire)
    known = {e.seq: e.entry_hash for e in wire[:2]}
    result = _check(store, wire, 2, wire[1].entry_hash, known)
    assert result.duplicates == 2 and [e.seq for e in result.new] == [e.seq for e in wire[2:]]


@pytest.mark.parametrize("fault, code", [
    ("gap", Code.ENTRY_GAP), ("altered", Code.ENTRY_HASH_MISMATCH), ("resigned_by_other", Code.BAD_SIGNATURE),
    ("relinked", Code.CHAIN_BROKEN), ("diverged", Code.HISTORY_DIVERGED)])
def test_check_batch_refuses_with_a_code(store, fault, code):
    for i in range(3):
        store.append("note", {"i": i})
    wire = _wire(store)
    head, known = 0, {}
    if fault == "gap":
        wire = wire[:1] + wire[2:]
    elif fault == "altered":
        e = wire[2]
        wire[2] = chain.WireEntry(**{**e.__dict__, "payload": '{"i":99}'})
    elif fault == "resigned_by_other":
        e, other = wire[2], Ed25519PrivateKey.generate()
        wire[2] = chain.WireEntry(**{**e.__dict__, "signature": other.sign(chain.ENTRY_DOMAIN + e.entry_hash)})
    elif fault == "relinked":
        e = wire[2]
        prev = b"\x11" * 32
        fields = {**e.__dict__, "prev_hash": prev}
        fields["entry_hash"] = chain.WireEntry(**fields).computed_hash()
        wire[2] = chain.WireEntry(**fields)
    elif fault == "diverged":
        head, known = 2, {1: wire[0].entry_hash, 2: b"\x22" * 32}
    with pytest.raises(ProtocolError) as caught:
        _check(store, wire, head, wire[1].entry_hash if head else None, known)
    assert caught.value.code == code
    assert "seq" in caught.value.detail


def test_malformed_wire_entries_are_refused_with_a_code():
    for bad in [None, {}, {"seq": 0}, {"seq": 1, "wall": 1, "mono": 1, "type": "Bad Type"}]:
        with pytest.raises(ProtocolError) as caught:
            chain.WireEntry.from_json(bad)
        assert caught.value.code == Code.MALFORMED_ENTRY


def test_every_code_has_a_chinese_message_and_a_status():
    for code in Code:
        info = INFO[code]
        assert 400 <= info.status < 600
        assert any("\u4e00" <= ch <= "\u9fff" for ch in info.message)
    assert "未知" in message_of(9999)
    assert ProtocolError.from_json(ProtocolError(Code.ENTRY_GAP, detail={"head": 3}).to_json()).detail == {"head": 3}


def test_receipt_signature_binds_every_field():
    hq = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    hq_pub = hq.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    dev = b"\x05" * 32
    r = Receipt("hq-1", hq_pub, "store-abc", dev, 3, merkle.root([b"a", b"b", b"c"]), b"\x07" * 32, 1)
    r = Receipt(**{**r.__dict__, "signature": hq.sign(RECEIPT_DOMAIN + r.body())})
    assert Receipt.from_json(r.to_json()).verify(hq_key=hq_pub, device_id="store-abc", device_key=dev)
    for change in ({"size": 4}, {"device_id": "store-xyz"}, {"root": b"\x00" * 32}):
        forged = Receipt(**{**r.__dict__, **change})
        assert not forged.verify(hq_key=hq_pub, device_id=forged.device_id, device_key=dev)


def test_request_signatures_cover_method_path_time_nonce_and_body():
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    args = ("POST", "/v1/entries", 1000, "ab" * 16, "cd" * 32)
    sig = key.sign(auth.REQUEST_DOMAIN + auth.signing_string(*args)).hex()
    assert auth.signature_valid(pub, *args, sig)
    for i, other in enumerate(("PUT", "/v1/receipt", 1001, "ef" * 16, "00" * 32)):
        changed = list(args)
        changed[i] = other
        assert not auth.signature_valid(pub, *changed, sig)
    # an entry signature can never pass for a request (different domains)
    assert not auth.signature_valid(pub, *args, key.sign(chain.ENTRY_DOMAIN + auth.signing_string(*args)).hex())


def test_the_store_escrow_box_opens_with_the_protocol_and_the_other_way(store, hq_keys):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from field_app.store import escrow

    private = X25519PrivateKey.from_private_bytes(hq_keys[0])
    aad = store.store_id.encode()
    assert len(sealedbox.open_box(private, store.header.escrow, aad)) == 32
    box = sealedbox.seal(hq_keys[1], b"secret", aad)
    assert escrow.open_sealed(hq_keys[0], box, aad) == b"secret"
    with pytest.raises(sealedbox.BoxError):
        sealedbox.open_box(private, box, b"another store")


def test_device_sign_refuses_unknown_purposes_and_never_signs_log_domains(store):
    from field_app.store import InvalidInput

    with pytest.raises(InvalidInput):
        store.device_sign("entry", b"x")
    signature = store.device_sign("request", b"msg")
    assert chain.signature_ok(store.device_public_key, auth.REQUEST_DOMAIN, b"msg", signature)
    assert not chain.signature_ok(store.device_public_key, chain.ENTRY_DOMAIN, b"msg", signature)


def test_frontier_state_round_trips_and_rejects_inconsistent_snapshots():
    f = merkle.Frontier()
    for i in range(13):
        f.append(bytes([i]) * 32)
    again = merkle.Frontier.from_state(f.to_state())
    assert again.root() == f.root() == merkle.root([bytes([i]) * 32 for i in range(13)])
    bad = f.to_state()
    bad["size"] = 12
    with pytest.raises(ValueError):
        merkle.Frontier.from_state(bad)
