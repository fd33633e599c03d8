"""Recording subcommands of ``field-app``: ``recordings`` (list) and ``export-recording`` (join the
segments into one MP4). Unlocking works as for the store commands (--officer, --password-file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from field_app.store import commands as store_commands


def add_parsers(sub: argparse._SubParsersAction) -> None:
    listing = sub.add_parser("recordings", help="列出证据库中的录像（编号、案号、地点、开始时间、时长、片段、中断）")
    store_commands._data_dir_option(listing)
    store_commands._officer_options(listing)
    export = sub.add_parser("export-recording", help="把一段录像的全部片段解密并合并为一个可播放的 MP4 文件")
    export.add_argument("recording_id", metavar="ID", help="录像编号（field-app recordings 列出；可只写末尾几位）")
    export.add_argument("out", metavar="OUT.mp4", help="输出文件")
    store_commands._data_dir_option(export)
    store_commands._officer_options(export)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    from field_app.capture.session import RecordingError

    def action() -> int:
        store = store_commands._open_unlocked(args, data_dir)
        try:
            return _list(store) if args.command == "recordings" else _export(store, args)
        finally:
            store.close()

    return store_commands.run_guarded(action, (RecordingError,))


def _list(store) -> int:
    from field_app.capture.recordings import list_recordings

    recordings = list_recordings(store)
    if not recordings:
        print("证据库中没有录像。")
        return 0
    print("编号\t案号\t地点\t开始时间\t时长\t片段\t暂停/中断\t状态")
    for r in recordings:
        state = "进行中或未恢复" if r.stop is None else ("意外终止后已恢复" if r.stop.get("ended_by") == "crash_recovery" else "已结束")
        if r.synthetic:
            state += "（测试信号）"
        print(f"{r.recording_id}\t{r.case_no}\t{r.place}\t{r.wall_start[:19]}\t{r.duration:.1f} 秒\t"
              f"{len(r.segments)}\t{len(r.pauses)}/{len(r.gaps)}\t{state}")
    return 0


def _export(store, args) -> int:
    from field_app.capture.recordings import export_recording

    counts = export_recording(store, args.recording_id, Path(args.out))
    print(f"已导出 {args.out}：{counts['segments']} 个片段，{counts['video_packets']} 帧画面。")
    return 0
