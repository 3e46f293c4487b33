"""The package's layout: no import cycles (imports inside functions included), no module too
long, and the rendering side importable without torch."""
import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "neuralpaint"
CYCLES_TOOL = PACKAGE.parents[1] / "shared" / "tools" / "import_cycles.py"
MAX_LINES = 700


@pytest.mark.skipif(not CYCLES_TOOL.is_file(), reason="../shared/tools/import_cycles.py is not beside the checkout")
def test_no_import_cycles():
    out = subprocess.run([sys.executable, str(CYCLES_TOOL), str(PACKAGE)], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("cycles=0"), out


def test_no_module_over_700_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_kernels_and_stroke_types_import_no_torch():
    code = ("import sys, neuralpaint.kernels.boxes, neuralpaint.kernels.curves, neuralpaint.kernels.compositor, "
            "neuralpaint.kernels.pixels, neuralpaint.strokes, neuralpaint.canvas.render, neuralpaint.imagefiles, "
            "neuralpaint.strokesfile; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_kernels_read_fields_by_name():
    """No literal parameter index in the kernels: ``q[8]`` or ``grad[t, 7]`` would tie them to one
    stroke type's layout; they read their family's named fields."""
    for path in (PACKAGE / "kernels").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in (
                    "q", "grad", "params"):
                index = node.slice.elts[-1] if isinstance(node.slice, ast.Tuple) else node.slice
                assert not isinstance(index, ast.Constant), f"{path.name}:{node.lineno}: literal index"
