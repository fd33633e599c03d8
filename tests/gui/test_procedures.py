"""The other procedures through the real widgets, each ending with a finalized record, a PDF and
a clean verify — with the refusals the law requires on the way."""

from __future__ import annotations

import field_app.capture.recordings  # noqa: F401 - registers the recording checks with verify
from PySide6.QtWidgets import QLineEdit

from field_app.store.verify import verify_report
from tests.gui.helpers import (click, confirm_notice, do_step, open_cases, start, unlock,
                               use_synthetic)
from tests.harness.qt_typing import type_text


def begin(qtbot, win, procedure_id: str) -> None:
    unlock(qtbot, win)
    open_cases(qtbot, win)
    use_synthetic(win)
    start(qtbot, win, procedure_id)
    qtbot.waitUntil(lambda: win.panel.running and win.panel.frames_shown > 0, timeout=20000)
    confirm_notice(qtbot, win)


def done(win, step_id: str) -> bool:
    return win.wizard.session.state.is_done(step_id)


def finish_print_stop(qtbot, win, tmp_path) -> None:
    click(qtbot, win.wizard.body, "finishButton")
    assert win.wizard.session.finished, win.wizard.message.text()
    pdf = tmp_path / "last.pdf"
    win.pdf_target = lambda record_id: str(pdf)
    click(qtbot, win.wizard.body, "printButton")
    qtbot.waitUntil(pdf.exists, timeout=30000)
    assert pdf.read_bytes().startswith(b"%PDF")
    click(qtbot, win.panel, "stopButton")
    qtbot.waitUntil(lambda: "录像已结束" in win.panel.message.text(), timeout=30000)
    store = win.state.store
    types = {e.entry_type for e in store.entries_after(0, 100000)}
    assert {"record", "print", "recording.segment", "recording.stop", "procedure.finish"} <= types
    assert verify_report(store).errors == []


def test_questioning_with_the_qa_editor(qtbot, window, tmp_path):
    win = window
    begin(qtbot, win, "questioning")
    first = win.wizard.session.available()[0]
    do_step(qtbot, win, first)
    assert done(win, first), win.wizard.message.text()
    for sid in win.wizard.session.available():
        step = win.wizard.session.procedure.step(sid)
        if not step.required:
            continue
        if step.document and step.document.id == "2-7":
            click(qtbot, win.wizard.body, f"enter_{sid}")
            qa = next(e for e in win.wizard.editors.values() if hasattr(e, "qa")).qa
            type_text(qa.question, "你单位是否建立工资支付台账？")
            qa.question.returnPressed.emit()
            assert qa.focusWidget() is qa.answer
            type_text(qa.answer, "九月、十月没有建立。")
            qa.answer.returnPressed.emit()
            type_text(qa.question, "以上笔录是否属实？")
            type_text(qa.answer, "属实。")
            click(qtbot, qa, "qaAdd")
            assert [t["q"] for t in qa.turns()] == ["你单位是否建立工资支付台账？", "以上笔录是否属实？"]
            from tests.gui.helpers import fill_form

            fill_form(qtbot, win)
            click(qtbot, win.wizard.body, "finalizeButton")
        else:
            do_step(qtbot, win, sid)
        assert done(win, sid), win.wizard.message.text()
    # the remaining required steps, if any
    while win.wizard.session.missing():
        sid = next(s for s in win.wizard.session.available()
                   if win.wizard.session.procedure.step(s).required)
        do_step(qtbot, win, sid)
        assert done(win, sid), win.wizard.message.text()
    record = [e for e in win.state.store.entries_after(0, 100000) if e.entry_type == "record"
              and e.payload["document"]["id"] == "2-7"]
    turns = next(v for v in record[-1].payload["values"].values()
                 if isinstance(v, list) and v and isinstance(v[0], dict) and "q" in v[0])
    assert turns[0] == {"q": "你单位是否建立工资支付台账？", "a": "九月、十月没有建立。"}
    finish_print_stop(qtbot, win, tmp_path)


def test_preservation_with_approval(qtbot, window, tmp_path):
    win = window
    begin(qtbot, win, "preservation")
    steps = win.wizard.session.procedure.steps
    approval = next(s for s in steps if s.records_gate)
    do_step(qtbot, win, approval.id, approvals="granted")
    assert done(win, approval.id), win.wizard.message.text()
    while win.wizard.session.missing():
        sid = next(s for s in win.wizard.session.available()
                   if win.wizard.session.procedure.step(s).required)
        do_step(qtbot, win, sid)
        assert done(win, sid), win.wizard.message.text()
    finish_print_stop(qtbot, win, tmp_path)


def test_sealing_without_approval_takes_the_emergency_path(qtbot, window, tmp_path):
    win = window
    begin(qtbot, win, "sealing")
    s = win.wizard.session
    gate = next(g for g in s.procedure.gates if g.emergency)
    blocked = [v for v in s.steps() if v.state == "blocked"]
    assert blocked, "sealing steps must wait for the approval"
    assert not win.wizard.body.findChild(type(win.wizard.body), f"enter_{blocked[0].id}")
    click(qtbot, win.wizard.body, f"emergency_{gate.id}")
    assert "理由" in win.wizard.message.text()  # a reason is demanded
    type_text(win.wizard.body.findChild(QLineEdit, f"emergencyReason_{gate.id}"),
              "当事人正在转移工资台账，情况紧急")
    click(qtbot, win.wizard.body, f"emergency_{gate.id}")
    assert s.gate(gate.id).status == "emergency"
    assert any(d.deadline_id == gate.emergency.deadline for d in s.deadlines())
    # the sealing itself: every required step that is now available, in order
    for _ in range(12):
        if not s.missing():
            break
        sid = next(x for x in s.available() if s.procedure.step(x).required)
        step = s.procedure.step(sid)
        do_step(qtbot, win, sid, approvals="granted" if step.records_gate else None)
        assert done(win, sid), win.wizard.message.text()
    finish_print_stop(qtbot, win, tmp_path)


def test_print_on_paper_through_qprinter(qtbot, window, tmp_path):
    """The paper path: QPrinter (a PDF printer here instead of the dialog), pages painted from
    the rendered PDF, the print entry in the log, then the sign-off."""
    from PySide6.QtPrintSupport import QPrinter

    win = window
    begin(qtbot, win, "service")
    do_step(qtbot, win, "direct")
    assert done(win, "direct"), win.wizard.message.text()
    out = tmp_path / "paper.pdf"

    def printer():
        p = QPrinter(QPrinter.PrinterMode.HighResolution)
        p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        p.setOutputFileName(str(out))
        return p

    win.printer_factory = printer
    click(qtbot, win.wizard.body, "paperButton")
    qtbot.waitUntil(lambda: win.wizard.signoff is not None, timeout=60000)
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 10000
    assert any(e.entry_type == "print" for e in win.state.store.entries_after(0, 100000))


def test_lien_service_refused_without_witness(qtbot, window, tmp_path):
    win = window
    begin(qtbot, win, "service")
    do_step(qtbot, win, "lien", skip=("witness",))
    assert not done(win, "lien")
    assert "见证人" in win.wizard.message.text()
    from tests.gui.helpers import fill_form

    fill_form(qtbot, win)
    click(qtbot, win.wizard.body, "finalizeButton")
    assert done(win, "lien"), win.wizard.message.text()
    finish_print_stop(qtbot, win, tmp_path)
