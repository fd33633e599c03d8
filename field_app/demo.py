"""`field-app demo --data-dir DIR --out DIR`: a scripted, headless run of the product on a machine
without a camera. It drives the same core objects the wizards drive (Store, ProcedureSession,
RecordingSession with the synthetic camera and tone, the printing package) — not a separate path.

What it does: enrols two demo officers in a new store, registers a case, starts one continuous
recording at the place, runs all five procedures on it (every required step: checklist, key shots as
photos from the recording, the documents filled with the scenario values of ../shared/SCENARIOS.md,
approvals recorded), prints every finalized document to PDF under OUT, records every page as signed,
stops the recording, and writes one officer's password to OUT/password.txt (usable with
``--password-file``). Dangerous: the password file is plain text — a demo store is for showing, never
for real evidence. Qt-free.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from field_app.core.deadlines import BEIJING

PROCEDURES = ("inspection", "questioning", "preservation", "sealing", "service")
OFFICERS = (("王建国", "13010220170031", "长安区人社局劳动保障监察大队", "demo-wang-jianguo-2026"),
            ("刘晓燕", "13010220190047", "长安区人社局劳动保障监察大队", "demo-liu-xiaoyan-2026"))
CASE = dict(case_no="长人社监〔2026〕第0117号", party_name="石家庄恒泰建筑劳务有限公司",
            credit_code="911301025260181593", legal_rep="陈卫东",
            address="石家庄市长安区建设北大街216号恒泰大厦6层")
PLACE, MATTER = "石家庄市长安区建设北大街216号恒泰大厦6层", "工资支付情况检查（演示）"


@dataclass
class DemoResult:
    pdfs: list[Path]
    records: int
    password_file: Path
    seconds: float


def run_demo(data_dir: Path, out: Path, *, seconds_per_procedure: float = 2.0,
             kdf=None, say=print) -> DemoResult:
    """Run the demo (see the module docstring). Refuses (StoreExists) when DIR already holds a store."""
    from field_app.capture.encoder import EncoderSettings
    from field_app.capture.session import RecordingRegistry, RecordingSession
    from field_app.capture.sources import SyntheticAudio, SyntheticVideo
    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair

    began = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    hq_private, hq_public = generate_hq_keypair()
    store = Store.create(data_dir, officers=list(OFFICERS), hq_public_key=hq_public, kdf=kdf)
    (out / "hq-private.key").write_text(hq_private.hex() + "\n")
    (out / "hq-private.key").chmod(0o600)
    pdfs: list[Path] = []
    records = 0
    try:
        store.add_case(**CASE)
        registry = RecordingRegistry()
        recording = RecordingSession(
            store, case_no=CASE["case_no"], place=PLACE, matter=MATTER,
            video=SyntheticVideo(640, 360, 15), audio=SyntheticAudio(),
            settings=EncoderSettings(width=640, height=360, fps=15, video_bitrate=600_000,
                                     segment_seconds=2.0))
        registry.add(recording)
        with store.keep_unlocked():
            recording.start()
            _wait(lambda: recording._last_frame is not None, 20)
            recording.confirm_notice()
            for pid in PROCEDURES:
                done_pdfs, n = _run_procedure(store, registry, recording, pid, out)
                pdfs += done_pdfs
                records += n
                say(f"{_title(pid)}：已完成，定稿文书{n}份")
                time.sleep(seconds_per_procedure)
            stop = recording.stop()
        say(f"录像已结束：{stop['segments']}个片段")
    finally:
        store.close()
    password_file = out / "password.txt"
    password_file.write_text(OFFICERS[0][3] + "\n")
    password_file.chmod(0o600)
    return DemoResult(pdfs, records, password_file, time.monotonic() - began)


def _title(pid: str) -> str:
    return {"inspection": "现场检查", "questioning": "调查询问", "preservation": "证据登记保存",
            "sealing": "查封（封存）", "service": "送达"}[pid]


def _wait(cond, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("摄像头（合成信号）没有画面")
        time.sleep(0.05)


def _run_procedure(store, registry, recording, pid: str, out: Path) -> tuple[list[Path], int]:
    """Walk the required steps of one procedure as the wizard does; print what is finalized."""
    from field_app.core.driver import SCENARIO
    from field_app.core.engine import ProcedureSession
    from forms.loader import default_registry

    forms = default_registry()
    party = {"kind": "organisation", "name": CASE["party_name"], "uscc": CASE["credit_code"],
             "legal_rep": CASE["legal_rep"], "address": CASE["address"]}
    session = ProcedureSession.start(forms, pid, list(SCENARIO.officers), writer=store,
                                     recording=registry,
                                     context={"case_no": CASE["case_no"], "party": party,
                                              "place": PLACE})
    recording.join(session.id)
    pdfs: list[Path] = []
    records = 0
    for _ in range(40):
        if not session.missing():
            break
        available = session.available()
        required = [s for s in available if session.procedure.step(s).required]
        step_id = (required or available)[0]
        entry = _do_step(store, session, recording, step_id)
        if entry is not None and session.procedure.step(step_id).document:
            records += 1
            pdfs.append(_print(store, forms, entry, out, pid, step_id))
    session.finish()
    return pdfs, records


def _do_step(store, session, recording, step_id: str):
    from field_app.core.driver import SCENARIO, sample_values
    from forms import schema as fs

    step = session.enter(step_id)
    for item in step.checklist:
        session.confirm(item.id)
    for shot in step.key_shots:
        session.record_key_shot(shot.id, [_photo(recording, shot.label)])
    if step.document:
        form = session.form()
        fixed = {k: v for k, v in form.values.items() if v not in (None, "", [], {})}
        values = sample_values(form.document, fixed, SCENARIO, datetime.now(BEIJING))
        for f in form.document.fields:
            if isinstance(f, fs.AttachmentsField) and f.key in values:
                values[f.key] = [_photo(recording, f.label) for _ in values[f.key]]
        session.save_draft(values)
    if step.records_gate:
        gate = session.procedure.gate(step.records_gate)
        for role in gate.roles:
            session.record_approval(step.records_gate, role.role,
                                    SCENARIO.approvers.get(role.role, "审批人"), "granted",
                                    how="电话")
    return session.finalize()


def _photo(recording, note: str) -> str:
    time.sleep(0.1)  # a new frame, so photos differ
    return recording.take_still(note)


def _print(store, forms, entry, out: Path, pid: str, step_id: str) -> Path:
    from field_app.printing.signoff import print_record, sign

    job = print_record(store, entry.record_id, registry=forms)
    path = out / f"{pid}-{step_id}-{job.entry.payload['document']['id']}.pdf"
    path.write_bytes(job.rendered.pdf)
    sign(store, job.entry.seq)
    return path


def main(data_dir: str | Path, out: str | Path) -> int:
    """Entry point for ``field-app demo``; prints the officers, the password file and a summary."""
    from field_app.store import StoreError

    try:
        result = run_demo(Path(data_dir), Path(out))
    except StoreError as exc:
        print(f"演示没有完成：{exc}", file=sys.stderr)
        return 2
    names = "、".join(f"{o[0]}（执法证号{o[1]}）" for o in OFFICERS)
    print(f"演示执法人员：{names}")
    print(f"{OFFICERS[0][0]}的密码文件：{result.password_file}")
    print(f"五个程序均已完成：定稿文书{result.records}份，PDF {len(result.pdfs)}份（{Path(out)}），"
          f"用时{result.seconds:.0f}秒。")
    print(f"检查：field-app --data-dir {data_dir} verify --officer {OFFICERS[0][1]} "
          f"--password-file {result.password_file}")
    return 0
