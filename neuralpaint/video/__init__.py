"""Painting video: ``paint_video(frames, config)`` yields one painted frame at a time, the
strokes of each carried to the next along the optical flow and refined there.

* ``frames`` -- ``open_frames``: a video file, an animated GIF or a folder of images;
* ``flow`` -- optical flow (OpenCV's DIS), strokes moved along it, scene cuts, the warping error;
* ``painting`` -- ``paint_video``, ``VideoConfig``, ``VideoFrame``.
"""
from .frames import Clip, open_frames
from .painting import VideoConfig, VideoFrame, paint_video

__all__ = ["Clip", "VideoConfig", "VideoFrame", "open_frames", "paint_video"]
