"""Image files: photos in, pictures out (numpy; no torch).

* ``io`` -- ``read_image`` (any photo OpenCV or Pillow decodes, as float RGB in [0, 1]) and
  ``write_image`` (an 8-bit image, atomically);
* ``streaming`` -- ``open_image_writer``: images written row by row (PNG streamed through
  deflate; other formats by extension), for renders too big to hold.
"""
from .io import read_image, write_image
from .streaming import open_image_writer

__all__ = ["open_image_writer", "read_image", "write_image"]
