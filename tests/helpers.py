"""Helpers shared by the tests."""
import builtins
import errno
import os
import re
from pathlib import Path


def have_mypaint() -> bool:
    """Whether libmypaint and the default MyPaint brush are installed (``scripts/setup.sh`` installs them)."""
    from neuralpaint.errors import NeuralPaintError
    from neuralpaint.strokes import libmypaint, mypaint

    try:
        libmypaint.library()
        mypaint.find_brush(mypaint.DEFAULT_BRUSH)
    except NeuralPaintError:
        return False
    return True


def assert_user_error(status, err, *words):
    """A usage error: exit status 2 and exactly one ``neuralpaint: error:`` line, no traceback."""
    assert status == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("neuralpaint: error: "), err
    for word in words:
        assert word in lines[0], lines[0]


def run_cli(capsys, *argv):
    """``neuralpaint.cli.main(argv)`` -> ``(status, stdout, stderr)``; argparse exits become statuses."""
    from neuralpaint.cli import main

    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


class DiskFullAfter:
    """Stands in for ``open`` in ``neuralpaint.fileutil``: the file it opens takes ``limit`` bytes,
    then a write stores part of its data and fails with ENOSPC, as on a full disk mid-write."""

    def __init__(self, limit: int):
        self.limit, self.paths, self.written = limit, [], 0

    def __call__(self, path, mode="r", *args, **kwargs):
        self.paths.append(Path(path))
        return _FailingFile(self, builtins.open(path, mode, *args, **kwargs))


class _FailingFile:
    def __init__(self, owner: DiskFullAfter, f):
        self.owner, self.f = owner, f

    def write(self, data) -> int:
        room = self.owner.limit - self.owner.written
        if len(data) > room:
            self.f.write(bytes(data)[: max(room, 0)])
            self.f.flush()
            self.owner.written += max(room, 0)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.owner.written += len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp(?P<suffix>\.[^.]*)?$")


def run_main(*argv):
    """``neuralpaint.cli.main(argv)`` in-process -> ``(status, stdout, stderr)``; argparse exits
    become statuses."""
    import contextlib
    import io

    from neuralpaint.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exit_:
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def write_small_photos(folder: Path, names, side: int = 64) -> Path:
    """The bundled photos ``names`` shrunk to ``side`` pixels on their longer side, as PNGs in ``folder``."""
    import cv2

    root = Path(__file__).resolve().parent.parent
    for name in names:
        image = cv2.imread(str(next(root.glob(f"test_images/{name}.*"))))
        h, w = image.shape[:2]
        scale = side / max(h, w)
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(image, (round(w * scale), round(h * scale)),
                                                             interpolation=cv2.INTER_AREA))
    return folder
