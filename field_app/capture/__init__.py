"""Capture: camera, microphone and synthetic sources, watermark, encoder, segmenter. No Qt."""
