"""A stroke type added by its own module alone: registered, it renders, exports and takes its
command-line options with no other file touched (docs/stroke-types.md, "Adding a stroke type")."""
import argparse
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from neuralpaint.canvas.render import render_painting
from neuralpaint.cli.common import add_brush_argument, brush_options
from neuralpaint.errors import NeuralPaintError
from neuralpaint.export import strokelist, svg
from neuralpaint.strokes import StrokeType, box_coverage, register, stroke_type_names, unregister
from neuralpaint.strokes.base import CommandLineOption
from neuralpaint.strokesfile import Strokes, save_strokes
from helpers import assert_user_error, run_cli as run  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


class Square(StrokeType):
    """An axis-aligned square of flat colour: ``x, y`` its centre, ``size`` its side (a fraction
    of the canvas's longer side), no opacity parameter. ``edge="soft"`` is accepted, to test a
    stroke type's own command-line option (it changes nothing)."""

    name = "square"
    param_names = ("x", "y", "size", "R", "G", "B")
    shape = slice(0, 3)
    colour = slice(3, 6)
    alpha = None
    x_indices = (0,)
    y_indices = (1,)
    length_indices = (2,)
    command_line_options = (CommandLineOption("--edge", "edge", "hard or soft (default: hard)",
                                              choices=("hard", "soft"), kind="an edge"),)

    def __init__(self, edge: str = "hard"):
        if edge not in ("hard", "soft"):
            raise ValueError(f"edge must be hard or soft, got {edge!r}")
        self.edge = edge

    @property
    def options(self) -> dict:
        return {"edge": self.edge}

    def _render(self, params, grid):
        B = params.shape[0]
        x, y, size = (self.field(params, n).view(B, 1, 1) for n in ("x", "y", "size"))
        half = size * grid.scale / 2
        cover = box_coverage(grid.xs - x * grid.width, half) * box_coverage(grid.ys - y * grid.height, half)
        colour = self.fields(params, "R", "G", "B").view(B, 3, 1, 1).expand(B, 3, *cover.shape[1:])
        return colour, cover.unsqueeze(1)

    def bounding_boxes(self, params, height, width):
        x, y = self.field(params, "x") * width, self.field(params, "y") * height
        reach = self.field(params, "size") * max(height, width) / 2 + 1.0
        stack = np.stack if isinstance(params, np.ndarray) else __import__("torch").stack
        return stack([y - reach, x - reach, y + reach, x + reach], 1)


@pytest.fixture
def square():
    """``Square`` registered for one test, unregistered afterwards."""
    register(Square)
    try:
        yield Square
    finally:
        unregister("square")
    assert "square" not in stroke_type_names()


@pytest.fixture
def painting(square, tmp_path):
    """Two squares on a 40 x 30 canvas: a red one 10 px wide at (10, 10), then a blue one."""
    params = np.array([[0.25, 1 / 3, 0.25, 1.0, 0.0, 0.0], [0.75, 0.5, 0.125, 0.0, 0.0, 1.0]], np.float32)
    strokes = Strokes("square", params, 40, 30, (1.0, 1.0, 1.0))
    path = tmp_path / "squares.npz"
    save_strokes(strokes, path)
    return strokes, path


def test_registered_type_renders(painting):
    strokes, _ = painting
    canvas = render_painting(strokes.stroke(), strokes.params, 30, 40, strokes.canvas_colour)
    np.testing.assert_allclose(canvas[:, 5:15, 5:15], np.array([1, 0, 0])[:, None, None].repeat(10, 1).repeat(10, 2))
    np.testing.assert_allclose(canvas[:, 15, 30], [0, 0, 1])
    np.testing.assert_allclose(canvas[:, 25, 2], [1, 1, 1])
    np.testing.assert_allclose(canvas[:, 12, 28], [0.5, 0.5, 1])  # half a pixel of the blue square's corner row


def test_export_svg_embeds_a_type_without_a_vector_form(painting, capsys):
    _, path = painting
    assert "square" in svg.raster_types() and "square" not in svg.vector_types()
    status, out, err = run(capsys, "export-svg", path)
    assert status == 0, err
    text = path.with_suffix(".svg").read_text()
    root = ET.fromstring(text)
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == "strokes"]
    assert [e.get("id") for e in group] == ["s0", "s1"] and all(e.tag == f"{SVG}image" for e in group)
    assert group.get("data-mode") == "raster"
    assert [e.get("x") for e in group] == ["4", "26"]  # the rendered windows, cropped to the boxes


def test_a_type_with_its_own_svg_element(painting, monkeypatch):
    strokes, _ = painting

    def svg_element(self, doc, i):
        x, y, size = self.fields(doc.params[i], "x", "y", "size")
        return f'<rect id="s{i}" x="{x * doc.width - size * doc.side / 2:g}" width="{size * doc.side:g}"/>'

    monkeypatch.setattr(Square, "svg_element", svg_element)
    assert "square" in svg.vector_types()
    text = svg.strokes_to_svg(strokes)
    assert '<rect id="s0" x="5" width="10"/>' in text and 'data-mode="vector"' in text
    assert 'data-mode="raster"' in svg.strokes_to_svg(strokes, raster=True)


def test_export_strokes_writes_bounding_boxes(painting, capsys):
    _, path = painting
    status, out, err = run(capsys, "export-strokes", path, "-o", "-")
    assert status == 0, err
    doc = json.loads(out)
    first, second = doc["strokes"]
    assert first["type"] == "square" and first["shape"] == "bbox"
    assert first["points"] == [[4.0, 4.0], [16.0, 4.0], [16.0, 16.0], [4.0, 16.0]]  # 1 px of margin
    assert (first["colour_start"], first["colour_end"], first["opacity"]) == ("#ff0000", "#ff0000", None)
    assert second["colour_start"] == "#0000ff" and second["width_start"] is None
    with pytest.raises(NeuralPaintError, match="cannot rebuild 'square'"):
        strokelist.records_to_params(doc["strokes"], "square", doc["width"], doc["height"])


def test_command_line_options_come_from_the_type(square):
    parser = argparse.ArgumentParser()
    parser.add_argument("--stroke")
    add_brush_argument(parser)
    assert "square: hard or soft" in parser.format_help()
    assert brush_options(parser.parse_args(["--stroke", "square", "--edge", "soft"])) == {"edge": "soft"}
    assert brush_options(parser.parse_args(["--stroke", "square"])) == {}
    assert brush_options(parser.parse_args(["--stroke", "oilpaintbrush", "--brush", "dry"])) == {"brush": "dry"}
    with pytest.raises(NeuralPaintError, match="--edge 'round' is not an edge; choose one of hard, soft"):
        brush_options(parser.parse_args(["--stroke", "square", "--edge", "round"]))
    with pytest.raises(NeuralPaintError, match="--edge applies only to --stroke square, not rectangle"):
        brush_options(parser.parse_args(["--stroke", "rectangle", "--edge", "soft"]))
    with pytest.raises(NeuralPaintError, match="--brush applies only to --stroke mypaint or oilpaintbrush, not square"):
        brush_options(parser.parse_args(["--stroke", "square", "--brush", "dry"]))


def test_commands_refuse_an_option_of_another_type(square, tmp_path, capsys):
    status, _, err = run(capsys, "random-strokes", "--stroke", "rectangle", "--edge", "soft", "-o", tmp_path / "r.npz")
    assert_user_error(status, err, "--edge", "square")


def test_field_names(square):
    row = np.arange(6.0)
    assert Square.index("size") == 2 and Square.field(row, "G") == 4.0
    np.testing.assert_array_equal(Square.fields(row, "B", "x"), [5.0, 0.0])
    with pytest.raises(ValueError, match="square has no parameter 'A'; it has x, y, size, R, G, B"):
        Square.index("A")
    assert Square.implements("bounding_boxes") and not Square.implements("svg_element")
