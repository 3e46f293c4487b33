import os

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from helpers import TEMPORARY, DiskFullAfter
from neuralpaint.errors import NeuralPaintError
from neuralpaint import fileutil
from neuralpaint.fileutil import atomic_path, atomic_write
from neuralpaint.imagefiles import read_image, write_image


def rgb8(h=20, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def read_error(path) -> str:
    with pytest.raises(NeuralPaintError) as info:
        read_image(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


# ---- reading ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
def test_read_rgb_lossless(tmp_path, ext):
    pixels = rgb8()
    path = tmp_path / f"a{ext}"
    cv2.imwrite(str(path), pixels[..., ::-1])  # OpenCV writes BGR
    img = read_image(path)
    assert img.dtype == np.float32 and img.shape == (20, 30, 3)
    np.testing.assert_allclose(img, pixels / 255.0, atol=1e-6)


def test_read_jpeg(tmp_path):
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[..., 0] = 255  # pure red
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=95)
    img = read_image(tmp_path / "a.jpg")
    assert img.shape == (16, 16, 3)
    assert img[..., 0].min() > 0.9 and img[..., 1:].max() < 0.1


def test_grayscale(tmp_path):
    gray = rgb8()[..., 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.shape == (20, 30, 3)
    for c in range(3):
        np.testing.assert_allclose(img[..., c], gray / 255.0, atol=1e-6)


def test_rgba_composited_over_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (255, 0, 0)
    rgba[0, :, 3] = 255  # opaque red
    rgba[1, :, 3] = 0  # transparent -> white
    rgba[2:, :, 3] = 128  # half red over white -> pink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.shape == (4, 4, 3)
    np.testing.assert_allclose(img[0], [[1, 0, 0]] * 4, atol=1e-6)
    np.testing.assert_allclose(img[1], [[1, 1, 1]] * 4, atol=1e-6)
    a = 128 / 255
    np.testing.assert_allclose(img[2], [[1, 1 - a, 1 - a]] * 4, atol=1e-6)


def test_gray_alpha(tmp_path):
    la = np.zeros((3, 3, 2), np.uint8)
    la[..., 1] = 255
    la[0, 0, 1] = 0
    Image.fromarray(la, "LA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.shape == (3, 3, 3)
    np.testing.assert_allclose(img[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(img[1, 1], [0, 0, 0], atol=1e-6)


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (4, 4), 0)
    p.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    p.putpixel((1, 1), 1)
    p.save(tmp_path / "p.png", transparency=0)
    img = read_image(tmp_path / "p.png")
    np.testing.assert_allclose(img[0, 0], [1, 1, 1], atol=1e-6)  # transparent -> white
    np.testing.assert_allclose(img[1, 1], [0, 1, 0], atol=1e-6)


def test_16_bit_colour(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), pixels[..., ::-1])
    img = read_image(tmp_path / "a.png")
    assert img.dtype == np.float32
    np.testing.assert_allclose(img, pixels / 65535.0, atol=1e-6)  # full 16-bit precision


def test_16_bit_gray_and_rgba(tmp_path):
    gray = np.array([[0, 65535], [32768, 1000]], np.uint16)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    img = read_image(tmp_path / "g.png")
    np.testing.assert_allclose(img[..., 1], gray / 65535.0, atol=1e-6)

    bgra = np.zeros((2, 2, 4), np.uint16)
    bgra[..., 2] = 65535  # red
    bgra[..., 3] = [[65535, 0], [65535, 0]]
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    img = read_image(tmp_path / "a.png")
    np.testing.assert_allclose(img[:, 0], [[1, 0, 0]] * 2, atol=1e-6)
    np.testing.assert_allclose(img[:, 1], [[1, 1, 1]] * 2, atol=1e-6)


def test_gif_read(tmp_path):
    Image.fromarray(rgb8(8, 8)).convert("P").save(tmp_path / "a.gif")
    img = read_image(tmp_path / "a.gif")
    assert img.shape == (8, 8, 3) and 0 <= img.min() and img.max() <= 1


@pytest.mark.parametrize("orientation, turn", [(1, lambda a: a), (3, lambda a: a[::-1, ::-1]),
                                               (6, lambda a: np.rot90(a, -1)), (8, lambda a: np.rot90(a, 1))])
def test_exif_orientation(tmp_path, orientation, turn):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:10, :20] = 255  # white top-left quadrant
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(tmp_path / "a.jpg", exif=exif, quality=100)
    img = read_image(tmp_path / "a.jpg")
    expected = turn(pixels) / 255.0
    assert img.shape == expected.shape
    assert np.abs(img - expected).mean() < 0.02


def test_missing_file(tmp_path):
    assert "no such file" in read_error(tmp_path / "nope.png")


def test_directory(tmp_path):
    assert "no such file" in read_error(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    assert "not an image" in read_error(tmp_path / "e.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "t.png").write_text("this is not an image\n" * 10)
    assert "not an image" in read_error(tmp_path / "t.png")


def test_npz_named_jpg(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    os.replace(tmp_path / "x.npz", tmp_path / "x.jpg")
    assert "not an image" in read_error(tmp_path / "x.jpg")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated(tmp_path, ext, keep):
    path = tmp_path / f"a{ext}"
    cv2.imwrite(str(path), rgb8(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert "truncated" in read_error(path)


def test_corrupt_png_data(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), rgb8(64, 64))
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 100
    data[start : start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    assert "corrupt" in read_error(path)


@pytest.mark.parametrize("shape", [(1, 1), (1, 50), (50, 1)])
def test_too_small(tmp_path, shape):
    Image.fromarray(np.zeros(shape, np.uint8)).save(tmp_path / "s.png")
    msg = read_error(tmp_path / "s.png")
    assert f"{shape[1]}x{shape[0]}" in msg and "at least 2x2" in msg


def test_smallest_allowed(tmp_path):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "s.png")
    assert read_image(tmp_path / "s.png").shape == (2, 2, 3)


def test_too_large(tmp_path):
    Image.fromarray(np.zeros((2, 20001), np.uint8)).save(tmp_path / "w.png")
    msg = read_error(tmp_path / "w.png")
    assert "20001x2" in msg and "20000" in msg


# ---- writing ---------------------------------------------------------------------------------
def test_write_png_round_trip_array(tmp_path):
    rgb = rgb8() / 255.0
    out = write_image(tmp_path / "o.png", rgb)
    assert out == tmp_path / "o.png"
    np.testing.assert_allclose(read_image(out), rgb, atol=1e-6)
    assert np.array_equal(np.asarray(Image.open(out)), rgb8())  # really RGB order on disk


def test_write_tensor_chw(tmp_path):
    rgb = torch.rand(3, 10, 14)
    out = write_image(tmp_path / "o.png", rgb)
    np.testing.assert_allclose(read_image(out), rgb.permute(1, 2, 0).numpy(), atol=0.5 / 255 + 1e-6)


def test_write_clips_and_handles_nan(tmp_path):
    rgb = np.array([[[-1.0, 2.0, np.nan], [0.5, 0.5, 0.5]]] * 2, np.float32)
    img = read_image(write_image(tmp_path / "o.png", rgb))
    np.testing.assert_allclose(img[0, 0], [0, 1, 0])


def test_write_jpeg_creates_dirs(tmp_path):
    out = write_image(tmp_path / "a" / "b" / "o.jpg", np.full((8, 8, 3), 0.5))
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (8, 8)
    assert np.abs(read_image(out) - 0.5).max() < 0.02


def test_write_is_atomic_and_leaves_no_temp(tmp_path):
    write_image(tmp_path / "o.png", np.zeros((4, 4, 3)))
    write_image(tmp_path / "o.png", np.ones((4, 4, 3)))
    assert os.listdir(tmp_path) == ["o.png"]
    assert read_image(tmp_path / "o.png").min() == 1.0


@pytest.mark.parametrize("name", ["o.png", "o.jpg"])
def test_write_failing_mid_write_keeps_old_file_and_no_temporary(tmp_path, monkeypatch, name):
    path = write_image(tmp_path / name, rgb8(64, 64, seed=1) / 255.0)
    old = path.read_bytes()
    disk = DiskFullAfter(len(old) // 2)
    monkeypatch.setattr(fileutil, "open", disk, raising=False)
    with pytest.raises(NeuralPaintError, match="cannot write") as info:
        write_image(path, rgb8(64, 64, seed=2) / 255.0)
    monkeypatch.undo()
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    (tmp,) = disk.paths  # a temporary file beside the destination, half written when it failed
    match = TEMPORARY.match(tmp.name)
    assert tmp.parent == tmp_path and match and match["name"] == name and match["suffix"] == path.suffix
    assert int(match["pid"]) == os.getpid() and disk.written == len(old) // 2
    assert path.read_bytes() == old and os.listdir(tmp_path) == [name]


def test_write_bad_extension(tmp_path):
    with pytest.raises(NeuralPaintError, match="extension"):
        write_image(tmp_path / "o.xyz", np.zeros((4, 4, 3)))
    assert os.listdir(tmp_path) == []


def test_write_bad_shape(tmp_path):
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", np.zeros((4, 4)))
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", torch.zeros(4, 4, 3))


# ---- fileutil --------------------------------------------------------------------------------
def test_atomic_path_keeps_suffix_and_cleans_up(tmp_path):
    target = tmp_path / "x.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp.name.startswith(".")
            tmp.write_bytes(b"partial")
            raise RuntimeError("writer failed")
    assert os.listdir(tmp_path) == []


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"new")
            raise RuntimeError
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.bin"]
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.bin"]
