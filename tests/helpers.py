"""Helpers shared by the tests."""


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
