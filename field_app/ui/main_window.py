"""The main window: a fixed header (who is unlocked, recording state, case, procedure step), the
screens (set-up, unlock, cases, procedure work) in a stack, and the status bar.

It owns the store, the ops runner, the procedure registry and the recording registry, and wires
the screens together; the screens themselves stay thin over the core.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMainWindow, QStackedWidget, QVBoxLayout, QWidget)

from field_app import APP_NAME_ZH
from field_app.ui.common import AppState, Place, big_button
from field_app.ui.ops import OpRunner

log = logging.getLogger(__name__)
MIN_WIDTH, MIN_HEIGHT = 1024, 640  # fits the officers' 1366×768 screens with room for the taskbar
IDLE_CHECK_MS = 10_000
LOW_DISK_BYTES = 2 * 1024 ** 3
DEADLINE_CHECK_MS = 5 * 60_000  # deadlines turn overdue as time passes


class MainWindow(QMainWindow):
    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.setWindowTitle(APP_NAME_ZH)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.state = AppState()
        self.ops = OpRunner(self)
        self.ops.failed.connect(lambda m: self.statusBar().showMessage(m, 10_000))
        self._registry = None
        self._recording_registry = None
        self._hold = None
        self.pdf_target = self._ask_pdf_path  # tests replace it with a function returning a path
        self.printer_factory = self._choose_printer  # tests replace it with a PDF QPrinter

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._header())
        self.stack = QStackedWidget(central)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._welcome()
        self._status_bar()
        self.state.changed.connect(self.refresh_header)

        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(IDLE_CHECK_MS)
        self.idle_timer.timeout.connect(self.check_idle)
        self.idle_timer.start()
        self._last_touch = 0.0
        self.overdue_count = 0  # overdue deadlines of every session in the store (status bar)
        self.deadline_timer = QTimer(self)
        self.deadline_timer.setInterval(DEADLINE_CHECK_MS)
        self.deadline_timer.timeout.connect(self.refresh_deadlines)
        self.deadline_timer.start()
        QApplication.instance().installEventFilter(self)
        self.open_store()
        self.refresh_header()

    # -- header and status --------------------------------------------------------------------
    def _header(self) -> QFrame:
        header = QFrame(self)
        header.setObjectName("header")
        header.setStyleSheet("#header { background: #1f3a5f; } QLabel { color: white; padding: 4px; }")
        row = QHBoxLayout(header)
        row.setContentsMargins(6, 2, 6, 2)
        self.officers_label = QLabel("未解锁", header)
        self.officers_label.setObjectName("officersLabel")
        self.case_label = QLabel("", header)
        self.case_label.setObjectName("caseLabel")
        self.step_label = QLabel("", header)
        self.step_label.setObjectName("stepLabel")
        self.recording_label = QLabel("● 未录制", header)
        self.recording_label.setObjectName("recordingLabel")
        self.recording_label.setStyleSheet("color: #ffcc00; font-weight: bold;")
        for w in (self.officers_label, self.case_label, self.step_label):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.recording_label)
        return header

    def _welcome(self) -> None:
        page = QWidget(self)
        v = QVBoxLayout(page)
        self.title_label = QLabel(APP_NAME_ZH, page)
        self.title_label.setObjectName("titleLabel")
        font = self.title_label.font()
        font.setPointSize(font.pointSize() * 2)
        font.setBold(True)
        self.title_label.setFont(font)
        v.addStretch(1)
        v.addWidget(self.title_label)
        self.data_dir_label = QLabel(f"数据目录：{self.data_dir}", page)
        self.data_dir_label.setObjectName("dataDirLabel")
        v.addWidget(self.data_dir_label)
        v.addStretch(1)
        self.welcome_page = page
        self.stack.addWidget(page)

    def _status_bar(self) -> None:
        bar = self.statusBar()
        # Which evidence store this window works on, always in sight (IT's first question on a call).
        self.data_dir_status = QLabel(f"数据目录：{self.data_dir}", self)
        self.data_dir_status.setObjectName("dataDirStatus")
        self.data_dir_status.setToolTip(str(self.data_dir))
        self.data_dir_status.setMaximumWidth(420)  # a long path is clipped; the tooltip holds it whole
        bar.addPermanentWidget(self.data_dir_status)  # permanent: a status message does not hide it
        self.lock_status = QLabel("", self)
        self.rec_status = QLabel("", self)
        self.disk_status = QLabel("", self)
        from field_app.ui.syncbar import SyncBar

        self.sync_bar = SyncBar(self.data_dir, self)
        self.sync_status = self.sync_bar.label
        self.sync_bar.on_finished = self._after_sync
        self.deadline_status = QLabel("", self)
        for w in (self.lock_status, self.rec_status, self.disk_status, self.sync_bar,
                  self.deadline_status):
            bar.addPermanentWidget(w)

    def refresh_header(self) -> None:
        """Header and status bar from the app state (called on every state change)."""
        st = self.state
        self.officers_label.setText(st.officers_text())
        self.case_label.setText(f"案件：{st.case.case_no}" if st.case else "")
        self.step_label.setText(f"{st.procedure_title}｜{st.step_title}" if st.procedure_title
                                else "")
        panel = getattr(self, "panel", None)
        if panel is not None and panel.running:
            text = panel.indicator.text()
            colour = "#ff5252" if "录制中" in text else "#ffcc00"
            self.recording_label.setText(text if panel.session.notice_confirmed
                                         else text + "（未告知）")
        else:
            text, colour = "● 未录制", "#ffcc00"
            self.recording_label.setText(text)
        self.recording_label.setStyleSheet(f"color: {colour}; font-weight: bold;")
        unlocked = st.store is not None and st.store.is_unlocked
        self.lock_status.setText("已解锁" if unlocked else "已锁定")
        if unlocked and self.sync_bar.store is not st.store:
            self.sync_bar.attach(st.store)
        elif not unlocked and self.sync_bar.store is not None:
            self.sync_bar.detach()
        else:
            self.sync_bar.refresh()
        self.rec_status.setText(self.recording_label.text())
        try:
            free = shutil.disk_usage(self.data_dir if self.data_dir.exists()
                                     else self.data_dir.parent).free
        except OSError:
            free = 0
        warn = "（空间不足，请先同步或清理）" if free < LOW_DISK_BYTES else ""
        self.disk_status.setText(f"剩余空间：{free / 1024 ** 3:.1f} GB{warn}")
        wizard = getattr(self, "wizard", None)
        overdue = len(wizard.session.overdue()) if wizard and wizard.session else 0
        overdue = max(overdue, self.overdue_count if unlocked else 0)
        self.deadline_status.setText(f"逾期期限：{overdue}" if overdue else "无逾期期限")

    # -- screens ------------------------------------------------------------------------------
    def _after_sync(self, _result) -> None:
        """A sync may have pulled new definitions: rebuild the registry on next use. Sessions already
        running keep the registry they started with; versions are only ever added. Case assignments
        may have arrived too: the cases page reloads."""
        self._registry = None
        cases_page = getattr(self, "cases_page", None)
        if cases_page is not None:
            cases_page.refresh()

    def registry(self):
        """Packaged definitions plus those pulled from HQ (rebuilt from the unlocked store's log);
        the packaged ones while the store is locked or when the pulled set does not load."""
        if self._registry is None:
            from forms.loader import default_registry

            store = self.state.store
            if store is not None and store.is_unlocked:
                from sync.client.pull import registry_for

                self._registry, warning = registry_for(store, self.data_dir)
                if warning:
                    self.statusBar().showMessage(warning)
            else:
                return default_registry()
        return self._registry

    def open_store(self) -> None:
        """Open the store in the data directory (locked) and show unlock, or set-up if none."""
        from field_app.store import Store, StoreError

        header = self.data_dir / "store.json"
        if not header.exists():
            self._show_setup()
            return
        try:
            self.state.store = Store.open(self.data_dir)
        except StoreError as exc:
            self.statusBar().showMessage(str(exc))
            return
        self._show_unlock()

    def _show_setup(self) -> None:
        from field_app.ui.unlock import SetupPage

        self.setup_page = SetupPage(self.data_dir, self.ops, self)
        self.setup_page.created.connect(self._created)
        self.stack.addWidget(self.setup_page)
        self.stack.setCurrentWidget(self.setup_page)

    def _created(self, store) -> None:
        self.state.store = store
        self.show_cases()

    def _show_unlock(self) -> None:
        from field_app.ui.unlock import UnlockPage

        if not hasattr(self, "unlock_page"):
            self.unlock_page = UnlockPage(self.ops, lambda: self.state.store, self)
            self.unlock_page.unlocked.connect(self.refresh_header)
            self.unlock_page.proceed.connect(self.show_cases)
            self.stack.addWidget(self.unlock_page)
        self.unlock_page.refresh()
        self.stack.setCurrentWidget(self.unlock_page)
        self.refresh_header()

    def show_cases(self) -> None:
        from field_app.ui.cases import CasesPage

        self._after_unlock()
        if not hasattr(self, "cases_page"):
            self.cases_page = CasesPage(self.state, self.ops, self.registry(), self)
            self.cases_page.start_requested.connect(self.start_procedure)
            self.cases_page.resume_requested.connect(self.resume_procedure)
            self.stack.addWidget(self.cases_page)
        self.cases_page.refresh()
        self.stack.setCurrentWidget(self.cases_page)
        self.refresh_deadlines()
        self.refresh_header()

    def refresh_deadlines(self) -> None:
        """Count the overdue deadlines of every procedure in the store on a worker (the status
        bar shows them on every screen, not only in the wizard)."""
        store = self.state.store
        if store is None or not store.is_unlocked:
            return
        from field_app.ui.timeline import overdue_deadlines

        registry = self.registry()

        def done(found) -> None:
            self.overdue_count = len(found)
            self.refresh_header()

        self.ops.run(lambda: overdue_deadlines(registry, store), on_done=done,
                     on_error=lambda m: log.warning("overdue deadlines: %s", m),
                     label="overdue deadlines")

    def _after_unlock(self) -> None:
        """Recover recordings cut by a crash (gap entries) once per unlock, on a worker."""
        store = self.state.store
        if getattr(self, "_recovered_for", None) is store:
            return
        self._recovered_for = store
        from field_app.capture.recordings import recover_recordings

        self.ops.run(lambda: recover_recordings(store), on_done=self._recovered,
                     label="recover recordings")

    def _recovered(self, ids) -> None:
        """Recordings a crash cut were closed: say so, and offer to resume the procedure they
        covered (the most recent) exactly where the log says it was."""
        if not ids:
            return
        self.statusBar().showMessage(f"上次录像意外中断，已恢复 {len(ids)} 段录像并记录中断。", 15_000)
        store = self.state.store
        from field_app.ui.timeline import sessions_cut_by_crash

        def offer(cut) -> None:  # the cases page exists: show_cases creates it right after unlock
            if cut and hasattr(self, "cases_page"):
                self.cases_page.offer_resume(*cut[-1])

        self.ops.run(lambda: sessions_cut_by_crash(store, list(ids)), on_done=offer,
                     on_error=lambda m: log.warning("crash resume offer: %s", m), label="crash resume offer")

    def _work_page(self) -> None:
        if hasattr(self, "work_page"):
            return
        from field_app.ui.recording import RecordingPanel
        from field_app.ui.wizard import WizardPage

        self.work_page = QWidget(self)
        row = QHBoxLayout(self.work_page)
        row.setContentsMargins(0, 0, 0, 0)
        self.panel = RecordingPanel(self.state, self.ops, self.work_page)
        self.panel.setFixedWidth(430)
        self.panel.recording_changed.connect(self._recording_changed)
        self.wizard = WizardPage(self.state, self.panel, self.work_page)
        self.wizard.finished.connect(self.refresh_header)
        self.wizard.request_pdf.connect(self.save_pdf)
        self.wizard.request_print.connect(self.print_paper)
        left = QWidget(self.work_page)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        back = big_button("← 返回案件列表", left, name="backButton")
        back.clicked.connect(self.back_to_cases)
        lv.addWidget(back, 0, Qt.AlignmentFlag.AlignLeft)
        lv.addWidget(self.wizard, 1)
        row.addWidget(left, 1)
        row.addWidget(self.panel)
        self.stack.addWidget(self.work_page)

    def recording_registry(self):
        if self._recording_registry is None:
            from field_app.capture.session import RecordingRegistry

            self._recording_registry = RecordingRegistry()
        return self._recording_registry

    def _leave_place_then(self, place: str, then) -> None:
        """One site visit, one recording: a procedure at the place being recorded joins its
        recording; one at another place means leaving this one, which ends its recording first
        (asked once, like 离开现场，结束录像) — then ``then()``. Declining changes nothing."""
        panel = getattr(self, "panel", None)
        if panel is None or not panel.running or (panel.place and panel.place.place == place):
            then()
            return
        panel.stop(ask=True, on_stopped=then)

    def start_procedure(self, case, procedure_id: str, place: str, matter: str) -> None:
        """Start a procedure for ``case`` at ``place``: the engine session (refused with fewer
        than two officers), then the site recording — or join the one already running there.
        A recording running at another place is ended first (leaving that place)."""
        self._leave_place_then(place, lambda: self._start_procedure(case, procedure_id, place,
                                                                     matter))

    def _start_procedure(self, case, procedure_id: str, place: str, matter: str) -> None:
        from field_app.core.engine import ProcedureSession, Refused
        from field_app.core.state import Officer
        from field_app.ui.common import show_message

        store = self.state.store
        officers = [Officer(o.name, o.cert_no, "") for o in store.unlocked_officers]
        party = {"kind": "organisation", "name": case.party_name, "uscc": case.credit_code,
                 "legal_rep": case.legal_rep, "address": case.address}
        context = {"case_no": case.case_no, "party": party, "place": place}
        try:
            session = ProcedureSession.start(self.registry(), procedure_id, officers, writer=store,
                                             recording=self.recording_registry(), context=context)
        except Refused as exc:
            show_message(self.cases_page.message, "\n".join(exc.messages))
            return
        except Exception as exc:  # noqa: BLE001
            from field_app.ui.ops import user_message

            log.exception("could not start procedure")
            show_message(self.cases_page.message, user_message(exc))
            return
        self._open_work(case, session, place, matter)

    def resume_procedure(self, case, session_id: str, place: str) -> None:
        """Continue an unfinished procedure (after a crash or power loss) exactly where the log
        says it was — current step and draft included — with a new recording at its place; the
        cut recording was closed with a gap entry by ``recover_recordings`` after unlock."""
        place = place or case.address
        self._leave_place_then(place, lambda: self._resume_procedure(case, session_id, place))

    def _resume_procedure(self, case, session_id: str, place: str) -> None:
        from field_app.core.engine import ProcedureSession
        from field_app.ui.common import show_message
        from field_app.ui.timeline import all_entries

        store = self.state.store
        try:
            session = ProcedureSession.resume(self.registry(), list(all_entries(store)),
                                              writer=store, recording=self.recording_registry(),
                                              session_id=session_id)
        except Exception as exc:  # noqa: BLE001
            from field_app.ui.ops import user_message

            log.exception("could not resume procedure %s", session_id)
            show_message(self.cases_page.message, user_message(exc))
            return
        self._open_work(case, session, place, f"继续办理{session.procedure.title}")

    def _open_work(self, case, session, place: str, matter: str) -> None:
        store = self.state.store
        self._work_page()
        self.wizard.attach(session)
        self.stack.setCurrentWidget(self.work_page)
        if self.panel.running and self.panel.place and self.panel.place.place == place:
            self.panel.add_procedure(session.id)
        else:
            self.panel.begin(store, Place(case.case_no, place, matter, [session.id]),
                             on_started=self._recording_started)
            if self.panel.session is not None:
                self.recording_registry().add(self.panel.session)
        self.refresh_header()

    def _recording_started(self) -> None:
        store = self.state.store
        self._hold = store.keep_unlocked()
        self._hold.__enter__()  # no idle lock while recording
        self.wizard.rebuild()

    def _recording_changed(self) -> None:
        if not self.panel.running and self._hold is not None:
            hold, self._hold = self._hold, None
            hold.__exit__(None, None, None)
        if self.wizard.session is not None and self.wizard.session.current is not None:
            warnings = self.wizard.session.warnings()
            shown = self.wizard.body.findChild(QLabel, "stepWarning") if self.wizard.body else None
            if bool(warnings) != bool(shown):
                self.wizard.save_now()
                self.wizard.rebuild()
        self.refresh_header()

    def back_to_cases(self) -> None:
        self.show_cases()
        self.cases_page.load_timeline()

    # -- printing -----------------------------------------------------------------------------
    def _choose_printer(self):
        from field_app.ui.printer import choose_printer

        return choose_printer(self)

    def _ask_pdf_path(self, title: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "保存PDF", str(Path.home() / f"{title}.pdf"),
                                              "PDF (*.pdf)")
        return path

    def save_pdf(self, record_id: str) -> None:
        """Print the finalized record to PDF through the printing package (a ``print`` entry
        with the PDF in the vault) and save a copy where the officer chooses."""
        from field_app.printing.signoff import print_record

        store, registry = self.state.store, self.registry()
        path = self.pdf_target(record_id)
        if not path:
            return

        def work():
            job = print_record(store, record_id, registry=registry)
            # whole or not at all: a half-written PDF at the chosen path would look like the document
            target = Path(path)
            partial = target.with_name(f".{target.name}.part")
            partial.write_bytes(job.rendered.pdf)
            os.replace(partial, target)
            return job

        def done(job) -> None:
            self.statusBar().showMessage(f"已保存PDF：{path}（共{len(job.rendered.pages)}页）", 15_000)
            self.wizard.show_signoff(record_id)

        self.ops.run(work, on_done=done, what="print", label="print pdf")

    def print_paper(self, record_id: str) -> None:
        """Print on paper: Qt's print dialog first (cancel writes nothing), then the ``print``
        entry and the page images on a worker, then the pages on the printer; then sign-off."""
        from field_app.printing.signoff import print_record
        from field_app.ui import printer as paper

        chosen = self.printer_factory()
        if chosen is None:
            return
        store, registry = self.state.store, self.registry()

        def work():
            job = print_record(store, record_id, registry=registry)
            return job, paper.rasterize(job.rendered.pdf)

        def done(result) -> None:
            job, pages = result
            try:
                paper.paint(chosen, pages)
            except paper.PrintFailed as exc:
                self.statusBar().showMessage(str(exc), 15_000)
                return
            self.statusBar().showMessage(f"已送打印机：《{job.entry.payload['title']}》共{len(pages)}页",
                                         15_000)
            self.wizard.show_signoff(record_id)

        self.ops.run(work, on_done=done, on_error=lambda m: self.statusBar().showMessage(m, 15_000),
                     what="print", label="print paper")

    # -- idle lock ----------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                            QEvent.Type.TouchBegin):
            now = time.monotonic()
            store = self.state.store
            if store is not None and now - self._last_touch > 1.0:
                self._last_touch = now
                store.touch()
        return False

    def check_idle(self) -> bool:
        """Lock after the store's idle timeout (not while recording: the recording holds the
        store). True if it locked now; then the unlock screen is shown."""
        store = self.state.store
        if store is None or not store.check_idle():
            return False
        self.state.case = None
        self.state.procedure_title = self.state.step_title = ""
        self._recovered_for = None
        self._show_unlock()
        self.statusBar().showMessage("长时间未操作，证据库已自动锁定。请重新解锁。", 15_000)
        return True

    def closeEvent(self, event) -> None:  # noqa: N802
        panel = getattr(self, "panel", None)
        if panel is not None and panel.running:
            try:
                panel.session.stop()
            except Exception:  # noqa: BLE001
                log.exception("could not stop the recording on close")
        if self._hold is not None:
            self._hold.__exit__(None, None, None)
            self._hold = None
        QApplication.instance().removeEventFilter(self)
        self.ops.shutdown()
        if self.state.store is not None:
            try:
                self.state.store.close()
            except Exception:  # noqa: BLE001
                log.exception("could not close the store")
        super().closeEvent(event)
