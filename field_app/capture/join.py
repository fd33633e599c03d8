"""Joining a recording's segments into one playable MP4 without re-encoding.

Segments carry absolute timestamps on the recording clock, so joining is a remux: packets are copied
in order, shifted so the file starts at 0. A pause or gap between segments stays a gap in time (the
player holds the last picture) — nothing is stretched or hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterable

import av

from field_app.capture.encoder import SEGMENT_FORMAT


def join_segments(segments: Iterable[BinaryIO], out_path: Path) -> dict:
    """Write the segments (readable binary streams, in order) as one MP4 at ``out_path``.

    Returns {"segments": n, "video_packets": …, "audio_packets": …}. Raises ValueError if there is
    no segment. The MP4 is written to a temporary name and renamed, so a crash leaves no half file.
    """
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    counts = {"segments": 0, "video_packets": 0, "audio_packets": 0}
    out = None
    streams = {}
    origin = None
    last_dts: dict[str, int] = {}
    try:
        for seg in segments:
            with av.open(seg, "r", format=SEGMENT_FORMAT) as src:
                if out is None:
                    out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
                    for s in src.streams:
                        streams[s.type] = (out.add_stream_from_template(s), s.time_base)
                counts["segments"] += 1
                for packet in src.demux():
                    if packet.dts is None or packet.stream.type not in streams:
                        continue
                    kind = packet.stream.type
                    seconds = packet.dts * packet.time_base
                    if origin is None:
                        origin = seconds
                    shift = round(origin / packet.time_base)
                    packet.pts -= shift
                    packet.dts -= shift
                    if kind in last_dts and packet.dts <= last_dts[kind]:
                        continue  # overlap at a boundary (audio flushed into the next segment)
                    last_dts[kind] = packet.dts
                    packet.stream = streams[kind][0]
                    out.mux(packet)
                    counts[f"{kind}_packets"] += 1
        if out is None:
            raise ValueError("no segments to join")
        out.close()
        out = None
        tmp.replace(out_path)
    finally:
        if out is not None:
            out.close()
        if tmp.exists():
            tmp.unlink()
    return counts
