"""Drive the real app and save the documentation screenshots (run under Xvfb)::

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/screenshots/make_screenshots.py
    QT_SCALE_FACTOR=1.5 xvfb-run -a -s "-screen 0 2049x1152x24" \
        .venv/bin/python docs/screenshots/make_screenshots.py --suffix -150

A private keyring (the test harness's SecretService), a throw-away store with the scenario
officers and cases (../shared/SCENARIOS.md), the synthetic camera and tone. Nothing here is a
separate code path: the screens are driven through the same methods their buttons call.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
OUT_DIR = [OUT]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suffix", default="")
    parser.add_argument("--out", default=str(OUT), help="directory for the PNGs")
    args = parser.parse_args()
    OUT_DIR[0] = Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix="field-shots-"))
    os.environ["HOME"] = str(tmp)
    os.environ["XDG_DATA_HOME"] = str(tmp / "share")
    from tests.harness.daemons import SecretService

    service = SecretService(tmp / "secrets").start()
    try:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
        return shoot(tmp / "data", args.suffix)
    finally:
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def shoot(data_dir: Path, suffix: str) -> int:
    from PySide6.QtWidgets import QApplication

    from field_app.store import Store
    from field_app.store.escrow import generate_hq_keypair
    from field_app.ui import common
    from field_app.ui.app import create_app
    from field_app.ui.main_window import MainWindow
    from tests.gui.conftest import CHEAP_KDF, small_settings, synthetic_sources
    from tests.unit.store.conftest import HENGTAI, KANGNING, LIU, WANG

    store = Store.create(data_dir, officers=[WANG, LIU], hq_public_key=generate_hq_keypair()[1],
                         kdf=CHEAP_KDF)
    store.add_case(**KANGNING)
    store.add_case(**HENGTAI)
    store.close()
    app = create_app()
    common.ASK = lambda parent, title, summary: True
    win = MainWindow(data_dir)
    win.resize(1366, 768)
    win.show()

    def wait(cond, timeout=20.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError
            app.processEvents()
            time.sleep(0.02)

    def grab(name: str) -> None:
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        path = OUT_DIR[0] / f"{name}{suffix}.png"
        win.grab().save(str(path), "PNG")
        print(path)

    page = win.unlock_page
    page.slots[0][1].setText(WANG[3])
    page.unlock(0)
    wait(lambda: win.state.store.is_unlocked)
    page.slots[1][0].setCurrentText(LIU[1])
    page.slots[1][1].setText("wrong-password")
    page.unlock(1)
    wait(lambda: "还可再试" in page.message.text())
    grab("unlock")
    page.slots[1][1].setText(LIU[3])
    page.unlock(1)
    wait(lambda: len(win.state.store.unlocked_officers) == 2)
    win.show_cases()
    cases = win.cases_page
    wait(lambda: cases.table.rowCount() == 2 and cases.timeline.count() > 0)
    cases.matter_edit.setText("工资支付情况检查")
    grab("cases")

    win._work_page()
    win.panel.sources, win.panel.settings = synthetic_sources, small_settings
    cases._start()
    wait(lambda: win.panel.running and win.panel.frames_shown > 3)
    w = win.wizard
    w.enter("opening")
    win.panel.confirm_notice()
    for item in ("av_notice", "certificates", "place_sign"):
        w.confirm(item, True)
    w.film_key_shot("place_sign", "场所标牌")
    w.rebuild()
    w.finalize()
    w.enter("record")
    win.panel.mark("key_evidence")
    w.editors["findings"].set_value("现场查阅考勤表和工资支付台账，九月、十月工资未发放。")
    w.editors["statement"].set_value("无")
    w.save_now()
    time.sleep(2.5)
    grab("recording")

    questioning = next(i for i in range(cases.procedure_combo.count())
                       if cases.procedure_combo.itemData(i) == "questioning")
    w.editors["findings"].edited.emit()
    w.save_now()
    win.show_cases()
    cases.procedure_combo.setCurrentIndex(questioning)
    cases.matter_edit.setText("工资支付情况调查询问")
    cases._start()
    wait(lambda: w.session.procedure.id == "questioning")
    return 0 if _questioning_shot(app, win, wait, grab) == 0 else 1


def _questioning_shot(app, win, wait, grab) -> int:
    w = win.wizard
    s = w.session
    for sid in [x.id for x in s.procedure.steps]:
        step = s.procedure.step(sid)
        if step.document and step.document.id == "2-7":
            break
        if not step.required or sid not in s.available():
            continue
        from tests.gui.helpers import fill_headless

        w.enter(sid)
        for item in step.checklist:
            w.confirm(item.id, True)
        if step.document:
            fill_headless(win)
        w.finalize()
    w.enter(sid)
    qa = next(e for e in w.editors.values() if hasattr(e, "qa")).qa
    for q, a in (("我们是长安区人力资源和社会保障局的执法人员，这是我们的执法证件，你是否看清楚？", "看清楚了。"),
                 ("你有申请执法人员回避的权利，你是否申请回避？", "不申请。"),
                 ("你单位是否建立工资支付台账？", "九月、十月没有建立。"),
                 ("九月、十月的工资是否已经发放？", "还没有发，公司资金周转困难。")):
        qa.question.setText(q)
        qa.answer.setText(a)
        qa.commit()
    qa.question.setText("共有多少名工人的工资没有发放？")
    app.processEvents()
    w.scroll.ensureWidgetVisible(qa.list, 0, 0)
    w.scroll.ensureWidgetVisible(qa.add_button, 0, 20)
    grab("qa")
    qa.answer.setText("二十三名。")
    qa.commit()
    from tests.gui.helpers import fill_headless

    fill_headless(win)
    w.finalize()
    record_id = w.last_record.record_id
    win.pdf_target = lambda rid: str(Path(os.environ["HOME"]) / "2-7.pdf")
    win.save_pdf(record_id)
    wait(lambda: w.signoff is not None, 30)
    w.signoff.act("sign", 1, 1)
    w.signoff.who.setText("陈卫东")
    w.signoff.reason.setText("认为笔录记载不全")
    w.signoff.witness.setText("周桂兰")
    app.processEvents()
    w.scroll.ensureWidgetVisible(w.signoff, 0, 0)
    grab("signoff")
    win.panel.stop(ask=False)
    wait(lambda: not win.panel.running, 30)
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
