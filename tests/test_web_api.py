"""The studio's JSON API (``neuralpaint serve``): paintings from upload to downloads, options, the
same picture as the command line, progress events, cancelling, bad uploads, the queue limit,
restarts, file serving and tokens. FastAPI's TestClient drives the app in-process; the restart
test runs real ``neuralpaint serve`` processes on 127.0.0.1. Paintings are tiny (48 px, a dozen
rectangle strokes, no animation)."""
import base64
import io
import json
import os
import signal
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install 'neuralpaint[web]')")
pytest.importorskip("httpx", reason="the test extra's httpx is not installed")

with warnings.catch_warnings():  # starlette asks for httpx2, which is not needed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from neuralpaint.cli import main  # noqa: E402
from neuralpaint.strokesfile import load_strokes  # noqa: E402
from neuralpaint.web import runners  # noqa: E402
from neuralpaint.web.app import create_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parents[1]
TINY = {"stroke": "rectangle", "size": "48", "max_strokes": "12", "max_divide": "2", "iters_per_stroke": "3",
        "refine_steps": "4", "animation": "false", "seed": "5"}
# long enough to be seen running, stopped and queued (minutes if left alone)
LONG = {**TINY, "size": "64", "max_strokes": "40", "iters_per_stroke": "400", "refine_steps": "3000"}


def png_bytes(width=60, height=40) -> bytes:
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (140, 60, 30)
    img[height // 2:] = (50, 130, 40)
    img[5:15, 35:50] = (30, 40, 210)
    return cv2.imencode(".png", img)[1].tobytes()


@pytest.fixture
def studio(tmp_path):
    apps = []

    def make(**settings):
        app = create_app(tmp_path / "data", **settings)
        apps.append(app)
        return TestClient(app)

    yield make
    for app in apps:
        for job in app.state.studio.jobs.values():
            app.state.studio.cancel(job)
        app.state.studio.close()


def submit(client, options=TINY, data=None, name="scene.png"):
    return client.post("/api/paintings", files={"image": (name, data if data is not None else png_bytes(), "image/png")},
                       data=options)


def wait(client, job_id, states=("done", "failed", "cancelled"), timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/paintings/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"painting {job_id} is still {job['state']}")


def one_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"] and "\n" not in body["error"], body
    return body["error"]


# ---- a painting from upload to downloads ---------------------------------------------------------
def test_upload_paint_and_download_every_file(studio):
    client = studio()
    r = submit(client, {**TINY, "animation": "true"})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    assert len(job_id) == 24
    job = wait(client, job_id)
    assert job["state"] == "done" and job["error"] is None and job["progress"] == 1.0
    assert job["strokes_done"] == 12 and (job["width"], job["height"]) == (48, 32)
    assert {"final.png", "input.png", "strokes.npz", "painting.svg", "strokes.json", "strokes.csv", "animated.gif",
            "thumb.jpg"} <= set(job["files"])
    get = lambda name: client.get(job["files"][name])  # noqa: E731
    final = cv2.imdecode(np.frombuffer(get("final.png").content, np.uint8), cv2.IMREAD_COLOR)
    assert final.shape == (32, 48, 3) and get("final.png").headers["content-type"] == "image/png"
    svg = ET.fromstring(get("painting.svg").content)
    assert svg.tag.endswith("svg")
    npz = get("strokes.npz")
    assert npz.status_code == 200 and npz.content[:2] == b"PK"
    assert len(json.loads(get("strokes.json").content)["strokes"]) == 12
    assert get("strokes.csv").text.count("\n") == 13
    assert get("animated.gif").content[:6] in (b"GIF89a", b"GIF87a")
    listed = client.get("/api/paintings").json()["paintings"]
    assert [p["id"] for p in listed] == [job_id]


def test_the_same_picture_as_the_command_line(studio, tmp_path):
    client = studio()
    job = wait(client, submit(client).json()["id"])
    photo = tmp_path / "scene.png"
    photo.write_bytes(png_bytes())
    argv = ["paint", "--img", photo, "--out", tmp_path / "cli", "--stroke", "rectangle", "--size", 48,
            "--max-strokes", 12, "--max-divide", 2, "--iters-per-stroke", 3, "--refine-steps", 4, "--seed", 5,
            "--no-animation", "-q"]
    assert main([str(a) for a in argv]) == 0
    web = cv2.imdecode(np.frombuffer(client.get(job["files"]["final.png"]).content, np.uint8), cv2.IMREAD_COLOR)
    cli = cv2.imread(str(tmp_path / "cli" / "scene_final.png"))
    assert np.array_equal(web, cli)
    folder = tmp_path / "data" / "paintings" / job["id"]
    assert np.array_equal(load_strokes(folder / "painting_strokes.npz").params,
                          load_strokes(tmp_path / "cli" / "scene_strokes.npz").params)
    assert job["command"].startswith("neuralpaint paint --img scene.png --stroke rectangle")


def test_options_reach_the_painter(studio, tmp_path):
    client = studio()
    options = {**TINY, "opaque": "true", "palette": "3", "min_stroke_size": "4", "seed": "9", "max_divide": "1"}
    job = wait(client, submit(client, options).json()["id"])
    assert job["state"] == "done", job
    config = load_strokes(tmp_path / "data" / "paintings" / job["id"] / "painting_strokes.npz").metadata["config"]
    assert (config["stroke"], config["size"], config["max_strokes"], config["seed"]) == ("rectangle", 48, 12, 9)
    assert (config["opaque"], config["palette"], config["min_stroke_size"], config["max_divide"]) == (True, 3, 4.0, 1)
    assert config["iters_per_stroke"] == 3 and config["refine_steps"] == 4


def test_bad_options_are_refused_with_one_message(studio, tmp_path):
    client = studio()
    assert "invalid choice" in one_error(submit(client, {**TINY, "stroke": "crayon"}), 422)
    assert "max_strokes" in one_error(submit(client, {**TINY, "max_strokes": "many"}), 422)
    assert "size must be in" in one_error(submit(client, {**TINY, "size": "100000"}), 422)
    assert "style" in one_error(submit(client, {**TINY, "style": "nope"}), 422)
    assert not list((tmp_path / "data" / "paintings").iterdir())


# ---- progress, stopping, failing -----------------------------------------------------------------
def test_events_stream_progress_and_live_pictures_then_stop_keeps_the_finished_strokes(studio, tmp_path):
    client = studio()
    job_id = submit(client, LONG).json()["id"]
    frames, done_seen, stopped = [], [], False
    with client.stream("GET", f"/api/paintings/{job_id}/events") as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                body = json.loads(line[5:])
                if body.get("frame"):
                    assert body["frame"].startswith("data:image/jpeg;base64,")
                    frames.append(base64.b64decode(body["frame"].split(",", 1)[1]))
                done_seen.append(body["strokes_done"])
                if not stopped and body["strokes_done"] > 0 and len(frames) >= 3:  # the first level is finished
                    assert client.delete(f"/api/paintings/{job_id}").json()["state"] == "running"
                    stopped = True
                if kind == "done":
                    break
    assert kind == "done" and stopped
    assert len({f for f in frames}) >= 3, "the live picture should change"
    picture = cv2.imdecode(np.frombuffer(frames[-1], np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[:2] == (43, 64)
    assert done_seen == sorted(done_seen)
    job = client.get(f"/api/paintings/{job_id}").json()
    assert job["state"] == "cancelled" and 0 < job["strokes_done"] < 40, job
    strokes = load_strokes(tmp_path / "data" / "paintings" / job_id / "painting_strokes.npz")
    assert strokes.n == job["strokes_done"] and strokes.metadata["interrupted"] is True
    assert "final.png" in job["files"]


def test_live_pictures_keep_coming_after_a_slow_first_one(tmp_path):
    """The first live picture pays for loading the compiled kernels: it must not hold back the next ones."""
    from types import SimpleNamespace

    from neuralpaint.web.jobs import Job

    job = Job("0" * 24, "paint", "running", 0.0, "x.png", {}, folder=tmp_path)
    calls = []

    def picture(side):
        calls.append(side)
        time.sleep(0.5 if len(calls) == 1 else 0.001)
        return np.zeros((8, 8, 3), np.uint8)

    end = time.monotonic() + 1.5
    step = 0
    while time.monotonic() < end:
        step += 1
        job.watch(SimpleNamespace(stage="levels", level="1x1", step=step, total_steps=10**6, strokes_done=0,
                                  strokes_total=10, seconds=0.01 * step, picture=picture))
        time.sleep(0.01)
    assert job.frame_no >= 3, job.frame_no


def test_a_failing_painting_reports_one_line_and_the_server_goes_on(studio, monkeypatch):
    client = studio()
    real = runners.RUNNERS["paint"]

    def broken(studio_, job):
        raise RuntimeError("the engine fell over\nwith a second line")

    monkeypatch.setitem(runners.RUNNERS, "paint", broken)
    job = wait(client, submit(client).json()["id"])
    assert job["state"] == "failed" and job["error"] == "RuntimeError: the engine fell over with a second line"
    monkeypatch.setitem(runners.RUNNERS, "paint", real)
    assert wait(client, submit(client).json()["id"])["state"] == "done"


# ---- bad uploads ---------------------------------------------------------------------------------
def truncated_png() -> bytes:
    data = png_bytes(200, 150)
    return data[: len(data) // 2]


def huge_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # 81 megapixels in a few kilobytes
    return out.getvalue()


def wide_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (25000, 4)).save(out, format="PNG")  # few pixels, but wider than read_image takes
    return out.getvalue()


def ppm() -> bytes:
    return b"P6\n2 2\n255\n" + bytes(12)


@pytest.mark.parametrize("data, status, words", [
    (b"", 400, "empty"),
    (b"just some text, not a photo\n" * 10, 415, "not an image"),
    (truncated_png(), 400, "truncated"),
    (huge_png(), 413, "megapixels"),
    (wide_png(), 413, "per side"),
    (ppm(), 415, "PPM"),
    (png_bytes(1, 1), 400, "at least 2x2"),
], ids=["zero-byte", "text", "truncated", "decompression-bomb", "too-wide", "unsupported-format", "one-pixel"])
def test_bad_uploads_get_one_clear_error_and_nothing_is_written(studio, tmp_path, data, status, words):
    client = studio()
    assert words in one_error(submit(client, data=data, name="photo.png"), status)
    assert not list((tmp_path / "data" / "paintings").iterdir())


def test_an_upload_over_the_size_limit_is_refused(studio, tmp_path):
    client = studio(max_bytes=1000)
    big = png_bytes(300, 300)
    assert len(big) > 1000
    assert "larger than" in one_error(submit(client, data=big), 413)
    assert not list((tmp_path / "data" / "paintings").iterdir())
    r = client.post("/api/paintings", files={"image": ("big.png", b"x" * 3_200_000, "image/png")})
    assert "request is larger than" in one_error(r, 413)  # refused before the form is parsed
    assert "image: Field required" == one_error(client.post("/api/paintings", data=TINY), 422)  # no photo at all


def test_the_upload_name_is_only_shown_never_used_as_a_path(studio, tmp_path):
    client = studio()
    job = wait(client, submit(client, name="../../../../tmp/-evil.png").json()["id"])
    assert job["state"] == "done" and job["name"] == "evil.png"
    assert job["command"].startswith("neuralpaint paint --img evil.png ")
    folder = tmp_path / "data" / "paintings" / job["id"]
    assert (folder / "upload.png").is_file() and not (tmp_path / "tmp").exists()


def test_paint_with_a_shipped_or_an_uploaded_style(studio, tmp_path):
    pytest.importorskip("sklearn", reason="the style extra is not installed")
    client = studio()
    job = wait(client, submit(client, {**TINY, "style": "starry_night", "mode": "palette"}).json()["id"])
    assert job["state"] == "done" and "stylized.png" in job["files"], job
    assert "--style starry_night --mode palette" in job["command"]
    r = client.post("/api/paintings", data={**TINY, "mode": "palette"},
                    files={"image": ("scene.png", png_bytes(), "image/png"),
                           "style_image": ("mine.png", png_bytes(30, 30), "image/png")})
    job = wait(client, r.json()["id"])
    assert job["state"] == "done" and "stylized.png" in job["files"], job
    r = client.post("/api/paintings", data=TINY, files={"image": ("scene.png", png_bytes(), "image/png"),
                                                        "style_image": ("mine.txt", b"not a picture", "text/plain")})
    assert "style image is not an image" in one_error(r, 415)


def test_stylize_a_finished_painting_without_repainting_it(studio, tmp_path):
    pytest.importorskip("sklearn", reason="the style extra is not installed")
    client = studio()
    source = wait(client, submit(client).json()["id"])
    r = client.post(f"/api/paintings/{source['id']}/stylize", data={"style": "starry_night", "mode": "palette"})
    assert r.status_code == 201, r.text
    job = wait(client, r.json()["id"])
    assert job["state"] == "done", job
    assert {"final.png", "strokes.npz", "painting.svg", "input.png"} <= set(job["files"])
    before = load_strokes(tmp_path / "data" / "paintings" / source["id"] / "painting_strokes.npz")
    after = load_strokes(tmp_path / "data" / "paintings" / job["id"] / "painting_strokes.npz")
    assert after.n == before.n and not np.array_equal(after.params, before.params)
    one_error(client.post(f"/api/paintings/{source['id']}/stylize", data={"style": "nope"}), 422)


# ---- the queue -----------------------------------------------------------------------------------
def test_a_full_queue_answers_429_and_loses_nothing(studio):
    client = studio(max_running=1, max_queued=1)
    running = submit(client, LONG).json()["id"]
    wait(client, running, ("running",))
    queued = submit(client, LONG).json()["id"]
    r = submit(client, LONG)
    assert "queue is full" in one_error(r, 429) and r.headers["retry-after"]
    assert client.get(f"/api/paintings/{queued}").json()["position"] == 1
    assert {p["id"] for p in client.get("/api/paintings").json()["paintings"]} == {running, queued}
    assert client.delete(f"/api/paintings/{queued}").json()["state"] == "cancelled"
    client.delete(f"/api/paintings/{running}")
    assert wait(client, running)["state"] == "cancelled"
    assert submit(client).status_code == 201  # room again


def test_remove_a_finished_painting(studio, tmp_path):
    client = studio()
    job_id = submit(client).json()["id"]
    wait(client, job_id)
    assert client.delete(f"/api/paintings/{job_id}").json() == {"id": job_id, "removed": True}
    assert not (tmp_path / "data" / "paintings" / job_id).exists()
    one_error(client.get(f"/api/paintings/{job_id}"), 404)


def test_render_at_a_width(studio):
    client = studio()
    job = wait(client, submit(client).json()["id"])
    r = client.post(f"/api/paintings/{job['id']}/render", data={"width": "200"})
    assert r.status_code == 200, r.text
    hires = cv2.imdecode(np.frombuffer(client.get(r.json()["files"]["hires.png"]).content, np.uint8), cv2.IMREAD_COLOR)
    assert hires.shape == (133, 200, 3)
    one_error(client.post(f"/api/paintings/{job['id']}/render", data={"width": "99999"}), 422)


# ---- files and tokens ----------------------------------------------------------------------------
def test_files_are_served_only_by_their_fixed_names(studio):
    client = studio()
    job_id = wait(client, submit(client).json()["id"])["id"]
    base = f"/api/paintings/{job_id}/files"
    assert client.get(f"{base}/final.png").status_code == 200
    for name in ("job.json", "upload.png", "painting_final.png", "..%2Fjob.json", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "../job.json", "....//job.json"):
        assert client.get(f"{base}/{name}").status_code == 404, name
    other_id = job_id[:-1] + ("1" if job_id[-1] == "0" else "0")  # a well-formed id of no painting
    for path in (f"/api/paintings/..%2F{job_id}/files/final.png", "/api/paintings/../../etc/passwd",
                 f"/api/paintings/{other_id}/files/final.png", "/static/../app.py", "/static/%2e%2e/app.py",
                 "/api/styles/..%2F..%2Fweb%2Fapp.py"):
        assert client.get(path).status_code == 404, path
    assert client.get("/static/studio.js").status_code == 200


def test_a_token_is_needed_for_every_request(studio):
    client = studio(token="s3cret-token")
    for path in ("/", "/api/paintings", "/docs", "/openapi.json", "/static/studio.js"):
        assert "token" in one_error(client.get(path), 401), path
    assert client.get("/api/paintings", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/api/paintings", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    page = client.get("/?token=s3cret-token")
    assert page.status_code == 200 and "neuralpaint_token" in page.headers["set-cookie"]
    assert client.get("/api/paintings").status_code == 200  # the cookie the page got


def test_openapi_describes_the_api(studio):
    paths = studio().get("/openapi.json").json()["paths"]
    assert {"/api/paintings", "/api/paintings/{painting_id}", "/api/paintings/{painting_id}/events",
            "/api/paintings/{painting_id}/files/{name}"} <= set(paths)


# ---- neuralpaint serve ---------------------------------------------------------------------------
def serve(data: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "neuralpaint", "serve", "--port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("neuralpaint studio: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
    return proc, line.split()[2]


def test_restart_keeps_finished_paintings_and_marks_the_interrupted_one(tmp_path):
    import httpx

    data = tmp_path / "studio"
    proc, url = serve(data)
    try:
        client = httpx.Client(base_url=url, timeout=30)
        done = wait(client, submit(client).json()["id"])
        killed = submit(client, LONG).json()["id"]
        wait(client, killed, ("running",))
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    proc, url = serve(data)
    try:
        client = httpx.Client(base_url=url, timeout=30)
        listed = {p["id"]: p for p in client.get("/api/paintings").json()["paintings"]}
        assert listed[done["id"]]["state"] == "done" and listed[done["id"]]["files"] == done["files"]
        assert client.get(done["files"]["final.png"]).status_code == 200
        assert listed[killed]["state"] == "interrupted" and "final.png" not in listed[killed]["files"]
        assert wait(client, submit(client).json()["id"])["state"] == "done"  # and it paints again
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_refuses_another_host_without_a_token(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "warning" in err and err.strip().splitlines()[-1].startswith("neuralpaint: error: --host 0.0.0.0")


def test_serve_without_the_web_extra_says_how_to_install_it():
    code = ("import sys; sys.modules['fastapi'] = None\nfrom neuralpaint.cli import main\n"
            "sys.exit(main(['serve', '--port', '0']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "pip install 'neuralpaint[web]'" in r.stderr
