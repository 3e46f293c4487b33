"""Exporting paintings beyond the strokes file: stroke-by-stroke animations (MP4 and GIF)."""
from .animation import FFmpegUnavailable, frame_counts, write_animation

__all__ = ["FFmpegUnavailable", "frame_counts", "write_animation"]
