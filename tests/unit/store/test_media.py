"""The media vault: streaming in and out, identity by SHA-256, deduplication, and saving what a failed
write left behind."""

from __future__ import annotations

import hashlib
import io
import os
import random
import tracemalloc

import pytest

from field_app.store import InvalidInput, MediaMissing, StoreError
from field_app.store import vault
from field_app.store.verify import verify_store
from tests.harness.streams import GeneratedStream, prefix_digest

MiB = 1 << 20


def test_a_stream_goes_in_and_comes_out_identical(store):
    src = GeneratedStream(3 * MiB + 12345, seed=1)
    ref = store.put_media(src, media_type="video/mp4")
    assert ref.sha256 == src.digest.hexdigest() == prefix_digest(1, 3 * MiB + 12345)
    assert ref.size == 3 * MiB + 12345
    assert ref.media_type == "video/mp4" and store.media_info(ref.sha256) == ref
    for whole_file_check in (True, False):  # False: the caller hashes (sync); same bytes either way
        out = hashlib.sha256()
        with store.open_media(ref.sha256, whole_file_check=whole_file_check) as stream:
            while block := stream.read(100_000):
                out.update(block)
        assert out.hexdigest() == ref.sha256


def test_a_file_on_disk_and_the_empty_file(store, tmp_path):
    photo = tmp_path / "考勤表第3页.jpg"
    photo.write_bytes(os.urandom(50_000))
    ref = store.put_media(photo, media_type="image/jpeg")
    assert ref.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    with store.open_media(ref.sha256) as stream:
        assert stream.read() == photo.read_bytes()
    empty = store.put_media(io.BytesIO(b""), media_type="text/plain")
    assert empty.size == 0 and store.open_media(empty.sha256).read() == b""


def test_seeking_reads_the_right_bytes(store):
    data = random.Random(7).randbytes(2 * MiB + 500)
    ref = store.put_media(io.BytesIO(data), media_type="video/mp4")
    with store.open_media(ref.sha256) as stream:
        for offset in (0, MiB - 3, MiB, 2 * MiB + 499, 17):
            stream.seek(offset)
            assert stream.read(1000) == data[offset:offset + 1000]
        stream.seek(-10, io.SEEK_END)
        assert stream.read() == data[-10:]


def test_same_content_twice_is_stored_once(store):
    data = os.urandom(300_000)
    first = store.put_media(io.BytesIO(data), media_type="image/jpeg")
    second = store.put_media(io.BytesIO(data), media_type="image/jpeg")
    assert first == second
    assert len(list(store.data_dir.glob("vault/*/*.frv"))) == 1


def test_vault_file_names_do_not_reveal_the_content_hash(store):
    ref = store.put_media(io.BytesIO(b"photo of the site sign"), media_type="image/jpeg")
    path = store.media_path(ref.sha256)
    assert path.exists() and ref.sha256 not in str(path)
    assert ref.sha256.encode() not in path.read_bytes()


def test_a_big_file_never_sits_in_memory(store):
    size = 48 * MiB
    tracemalloc.start()
    try:
        ref = store.put_media(GeneratedStream(size, seed=3), media_type="video/mp4")
        _, peak_write = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with store.open_media(ref.sha256) as stream:
            while block := stream.read(vault.CHUNK_SIZE):
                total += len(block)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    # a few chunks in flight at most: far below the file size
    assert peak_write < 8 * MiB and peak_read < 8 * MiB, (peak_write, peak_read)


def test_unknown_media_cannot_be_opened_or_referenced(store):
    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(MediaMissing, match="缺失"):
        store.open_media(missing)
    with pytest.raises(InvalidInput, match="还没有存入证据库"):
        store.append("photo", {}, media=[missing])
    with pytest.raises(InvalidInput, match="SHA-256"):
        store.append("photo", {}, media=["abc"])
    with pytest.raises(InvalidInput, match="媒体类型"):
        store.put_media(io.BytesIO(b"x"), media_type="")
    with pytest.raises(InvalidInput, match="无法读取"):
        store.put_media(store.data_dir / "no-such-file.mp4", media_type="video/mp4")


def test_a_source_that_dies_half_way_leaves_a_recoverable_part(store):
    src = GeneratedStream(5 * MiB, seed=11, fail_after=2 * MiB + 300_000)
    with pytest.raises(StoreError, match="读取要保存的媒体数据时出错"):
        store.put_media(src, media_type="video/mp4")
    parts = list((store.data_dir / "vault" / "tmp").glob("*.part"))
    assert len(parts) == 1
    recovered = store.recover_partials()
    # the two complete 1 MiB chunks written before the failure, exactly
    assert [r.size for r in recovered] == [2 * MiB]
    assert recovered[0].sha256 == prefix_digest(11, 2 * MiB)
    entry = store.entries_after(0)[-1]
    assert entry.entry_type == "store.media_recovered" and entry.media == (recovered[0].sha256,)
    assert entry.payload["complete"] is False
    assert list((store.data_dir / "vault" / "tmp").glob("*.part")) == []
    assert verify_store(store) == []


def test_a_finished_file_that_was_not_yet_renamed_is_recovered_whole(store):
    data = os.urandom(1_500_000)
    tmp_dir = store.data_dir / "vault" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    ref = vault.write_temp(tmp_dir / "cut-before-rename.part", store._media_store().keys, io.BytesIO(data),
                           "video/mp4")
    assert store.recover_partials() == [ref]
    assert store.open_media(ref.sha256).read() == data
    assert store.entries_after(0)[-1].payload["complete"] is True
    assert verify_store(store) == []


def test_garbage_in_the_temp_folder_is_kept_aside_not_imported(store):
    tmp_dir = store.data_dir / "vault" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    (tmp_dir / "junk.part").write_bytes(os.urandom(5000))
    assert store.recover_partials() == []
    assert (tmp_dir / "junk.unreadable").exists()
    assert verify_store(store) == []


def test_a_stored_file_whose_registration_was_cut_off_is_registered(store):
    # The process died after the rename into the vault but before the media row was written.
    data = os.urandom(700_000)
    keys = store._media_store().keys
    tmp_dir = store.data_dir / "vault" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    ref = vault.write_temp(tmp_dir / "x.part", keys, io.BytesIO(data), "image/jpeg")
    vault.install(tmp_dir / "x.part", store.media_path(ref.sha256), keys, ref)
    assert store.media_info(ref.sha256) is None
    assert store.recover_partials() == [ref]
    assert store.media_info(ref.sha256) == ref and store.open_media(ref.sha256).read() == data
    assert store.recover_partials() == []  # only once
    assert verify_store(store) == []


def test_a_push_writer_streams_into_the_vault_as_the_encoder_produces(store):
    data = random.Random(5).randbytes(400_000)
    writer = store.media_writer("video/x-matroska", chunk_size=32 * 1024)
    pos, rng = 0, random.Random(6)
    while pos < len(data):
        step = rng.randint(1, 50_000)
        writer.write(data[pos:pos + step])
        pos += step
    parts = list((store.data_dir / "vault" / "tmp").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 300_000  # sealed chunks are already on disk
    assert store.recover_partials() == []  # a writer still in use is not "recovered" under its feet
    ref = writer.close()
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and store.media_info(ref.sha256) == ref
    assert store.open_media(ref.sha256).read() == data
    store.append("recording.segment", {"index": 0}, media=[ref.sha256])
    assert verify_store(store) == []
