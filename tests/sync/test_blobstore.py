"""HQ blob store: chunks written piecewise land byte-exact with the right prefix hash, refused chunks leave
no trace, and the running hash survives a restart (rebuilt from the file)."""

from __future__ import annotations

import hashlib
import os

import pytest

from sync.server.blobstore import MAX_IOVECS, WRITE_GROUP, BlobHashMismatch, FileBlobStore


def _pieces(total: int, sizes: list[int]) -> list[bytes]:
    data = os.urandom(total)
    out, at, i = [], 0, 0
    while at < total:
        n = min(sizes[i % len(sizes)], total - at)
        out.append(data[at:at + n])
        at += n
        i += 1
    return out


@pytest.mark.parametrize("sizes", [
    [1],                                # more pieces than pwritev takes at once
    [7, 65536, 3, 300000],              # odd sizes straddling the write groups
    [WRITE_GROUP + 5],                  # single pieces larger than a group
])
def test_chunks_written_piecewise_are_exact_and_the_blob_commits(tmp_path, sizes):
    store = FileBlobStore(tmp_path)
    first = _pieces(3 * WRITE_GROUP // 2 if sizes != [1] else 3 * MAX_IOVECS, sizes)
    second = _pieces(WRITE_GROUP // 3, sizes)
    blob = b"".join(first) + b"".join(second)
    key = "dev/x"
    offset = 0
    for pieces in (first, second):
        writer = store.open_chunk(key, offset)
        for start in range(0, len(pieces), 5):   # as the event loop hands them over: a few at a time
            writer.write(pieces[start:start + 5])
        # what the client declares for the chunk: the blob's hash from its first byte to the chunk's end
        assert writer.prefix_sha256() == hashlib.sha256(blob[:offset + sum(len(p) for p in pieces)]).hexdigest()
        writer.sync()
        writer.keep()
        offset += sum(len(p) for p in pieces)
    assert store.partial_size(key) == len(blob)
    sha = hashlib.sha256(blob).hexdigest()
    store.commit(key, sha, len(blob))
    assert store.path(sha).read_bytes() == blob


def test_an_aborted_chunk_is_cut_back_and_does_not_advance_the_blob_hash(tmp_path):
    store = FileBlobStore(tmp_path)
    key = "dev/y"
    good = os.urandom(WRITE_GROUP + 123)
    writer = store.open_chunk(key, 0)
    writer.write([good])
    writer.sync()
    writer.keep()
    bad = store.open_chunk(key, len(good))
    bad.write([os.urandom(4096), os.urandom(WRITE_GROUP)])
    bad.abort()
    assert store.partial_size(key) == len(good)
    tail = os.urandom(1000)
    writer = store.open_chunk(key, len(good))
    writer.write([tail])
    writer.sync()
    writer.keep()
    blob = good + tail
    with pytest.raises(BlobHashMismatch):
        store.commit(key, hashlib.sha256(good + b"x" * 1000).hexdigest(), len(blob))
    assert store.partial_size(key) == 0  # a blob that does not hash to its name is discarded, not kept


def test_after_a_restart_the_running_hash_is_rebuilt_from_the_file(tmp_path):
    key = "dev/z"
    blob = os.urandom(2 * WRITE_GROUP + 17)
    store = FileBlobStore(tmp_path)
    writer = store.open_chunk(key, 0)
    writer.write([blob[:WRITE_GROUP]])
    writer.sync()
    writer.keep()
    restarted = FileBlobStore(tmp_path)  # the running hash lived in the old process only
    writer = restarted.open_chunk(key, WRITE_GROUP)
    writer.write([blob[WRITE_GROUP:]])
    assert writer.prefix_sha256() == hashlib.sha256(blob).hexdigest()
    writer.sync()
    writer.keep()
    sha = hashlib.sha256(blob).hexdigest()
    restarted.commit(key, sha, len(blob))
    assert restarted.path(sha).read_bytes() == blob
