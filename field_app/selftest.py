"""`field-app self-test`: prove on this machine (venv or installed bundle) that the whole chain works —
a temporary evidence store (real keyring, real encryption), a recording from the synthetic sources,
an inspection procedure walked headlessly through the real engine, the 检查笔录 printed to PDF and
signed, the store verified — then everything removed again (including the keyring item).

Exit 0 when every step passed; otherwise 1 and the step that failed, in Chinese. Nothing the officer
recorded is touched: all of it happens in a temporary directory.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

OFFICERS = [("自检甲", "SELFTEST000001", "自检"), ("自检乙", "SELFTEST000002", "自检")]


def _step(name: str) -> None:
    print(f"… {name}", flush=True)


def run_self_test(keep: Path | None = None) -> int:
    """Run the chain; returns the exit code. ``keep``: copy the PDF there (for IT to look at)."""
    from field_app.capture.encoder import EncoderSettings
    from field_app.capture.recordings import list_recordings
    from field_app.capture.session import RecordingRegistry, RecordingSession
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo
    from field_app.core.deadlines import BEIJING
    from field_app.core.driver import HeadlessDriver, ManualClock, Run
    from field_app.core.engine import ProcedureSession
    from field_app.core.state import Officer
    from field_app.printing.signoff import print_record, sign
    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair
    from field_app.store.keys import KEYRING_SERVICE, _device_username
    from field_app.store.verify import verify_report

    tmp = Path(tempfile.mkdtemp(prefix="field-app-self-test-"))
    store = recording = None
    started = time.perf_counter()
    try:
        _step("创建临时证据库（加密数据库、系统密钥环）")
        passwords = [secrets.token_urlsafe(12) for _ in OFFICERS]
        store = Store.create(tmp / "data", officers=[(*o, pw) for o, pw in zip(OFFICERS, passwords)],
                             hq_public_key=generate_hq_keypair()[1])
        _step("用测试信号开始录像")
        registry = RecordingRegistry()
        driver = HeadlessDriver(check_guards=False)
        clock = ManualClock(datetime.now(BEIJING))
        officers = [Officer(name, cert) for name, cert, _ in OFFICERS]
        procedure = ProcedureSession.start(driver.registry, "inspection", officers, writer=store, recording=registry,
                                           clock=clock, context={"case_no": "自检〔0000〕第0000号"})
        recording = RecordingSession(store, case_no="自检〔0000〕第0000号", place="自检", matter="程序自检",
                                     video=SyntheticVideo(320, 240), audio=SyntheticAudio(),
                                     settings=EncoderSettings(width=320, height=240, segment_seconds=1),
                                     procedure_sessions=(procedure.id,))
        registry.add(recording)
        recording.start()
        recording.confirm_notice()
        deadline = time.monotonic() + 10
        while recording.recorder.stats.video_frames < 5:
            if time.monotonic() > deadline:
                raise SelfTestFailed("测试信号 10 秒内没有画面，录像编码可能不可用。")
            time.sleep(0.05)
        _step("检查程序（检查笔录）")
        run = Run(procedure, clock, registry, store)
        record_ids = []
        while (options := driver.options(run, max_refusals=0)):
            action = next((a for a in options if a[0] == "finish"), options[0])
            clock.advance(minutes=5)
            if action[0] == "step":
                _do_step(driver, run, recording, action[1])
            else:
                driver.act(run, action)
        for entry in store.entries_after(0, 100_000):
            if entry.entry_type == "record":
                record_ids.append(entry.record_id)
        time.sleep(1.2)
        recording.stop()
        if not record_ids:
            raise SelfTestFailed("检查程序没有生成任何笔录。")
        _step("打印检查笔录并逐页签名")
        job = print_record(store, record_ids[0])
        sign(store, job.entry.seq)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            with store.open_media(job.entry.payload["pdf"]["sha256"]) as pdf, open(keep / "self-test.pdf", "wb") as out:
                shutil.copyfileobj(pdf, out)
        _step("校验证据库")
        report = verify_report(store)
        if report.errors:
            raise SelfTestFailed("校验发现问题：" + "；".join(str(p) for p in report.errors))
        [info] = list_recordings(store)
        if not info.segments:
            raise SelfTestFailed("录像没有保存任何片段。")
        print(f"自检通过：{report.entries} 条记录、{len(info.segments)} 个录像片段、{len(record_ids)} 份笔录，"
              f"用时 {time.perf_counter() - started:.1f} 秒。")
        return 0
    except SelfTestFailed as exc:
        print(f"自检失败：{exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # any other failure is what the self-test is for: name it, no traceback
        print(f"自检失败：{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if recording is not None and recording.started and not recording.stopped:
            recording.stop()
        store_id = store.store_id if store is not None else None
        if store is not None:
            store.close()
        if store_id:
            try:
                import keyring

                keyring.delete_password(KEYRING_SERVICE, _device_username(store_id))
            except Exception:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


class SelfTestFailed(RuntimeError):
    pass


def _do_step(driver, run, recording, step_id: str) -> None:
    """One step as an officer does it: checklist, key shots as real photos from the recording,
    the document filled with the driver's sample data, approvals granted, finalize."""
    from field_app.core.driver import sample_values

    s = run.session
    step = s.procedure.step(step_id)
    s.enter(step_id)
    for item in step.checklist:
        s.confirm(item.id)
    for shot in step.key_shots:
        s.record_key_shot(shot.id, [recording.take_still(shot.id)])
    if step.document:
        form = s.form()
        fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
        values = sample_values(form.document, fixed, driver.cast, run.clock.now)
        for f in form.document.fields:  # photos: real stills from the recording, not sample hashes
            if getattr(f, "type", "") == "attachments" and values.get(f.key):
                values[f.key] = [recording.take_still(f.key) for _ in values[f.key]]
        s.save_draft(values)
    if step.records_gate and s.gate(step.records_gate).status not in ("granted", "refused"):
        driver.decide(run, step.records_gate, "granted")
    s.finalize()
