"""Benchmark: the studio (``neuralpaint serve``) as a whole server on this machine.

    python scripts/bench_web.py                                   # 512 px, 500 oil strokes (the defaults)
    python scripts/bench_web.py --size 48 --strokes 12 --paint-args="--stroke rectangle --max-divide 2" \\
        --repeat 1 --paintings 3 --burst 3 --json /tmp/web.json    # a quick check that it works

A real server is started (``neuralpaint serve --port 0`` in a fresh process, 127.0.0.1) and warmed
with one painting, then driven through its API (httpx) and, for the first measurement, through
its page in Debian's chromium (Playwright; ``--no-browser`` skips that part):

* ``first picture``: from pressing Paint (the click, in the browser) to the first live picture
  drawn on the page's canvas, and from the API's POST to the first event carrying a picture;
* ``painting time``: the same painting through the server (an event stream open, so every live
  picture is made and sent) and as ``neuralpaint paint`` in a fresh process, interleaved, each
  ``--repeat`` times: the painter's own time (``painted_seconds`` of the server's record; the
  command's "painted ... in X s") and the ratio of their medians (target at most 1.15);
* ``memory``: the server's resident set (``VmRSS``) after each of ``--paintings`` paintings in a
  row, and its growth from after the first to after the last (target at most 10 %);
* ``burst``: ``--burst`` paintings submitted at once (``--max-queued`` is raised to fit): all
  finish, they start in the order submitted, none is lost; the time until the last is done.

Results: ``--json`` (default ``bench_results/web.json``) through ``figures.save`` (whole server
timings); the table from ``tables`` on stdout. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import figures

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "test_images" / "astronaut.png"
PAINTED = re.compile(r"^painted .* in ([\d.]+) s \(", re.M)
CLI_FLAGS = {"stroke": "--stroke", "max_divide": "--max-divide", "m_grid": "--m-grid",
             "iters_per_stroke": "--iters-per-stroke", "refine_steps": "--refine-steps", "seed": "--seed"}


def form_fields(args) -> dict:
    """The paint options as the API's form fields (``--paint-args`` parsed by flag)."""
    fields = {"size": str(args.size), "max_strokes": str(args.strokes), "animation": "false"}
    words = shlex.split(args.paint_args)
    by_flag = {flag: name for name, flag in CLI_FLAGS.items()}
    for flag, value in zip(words[::2], words[1::2]):
        if flag not in by_flag:
            raise SystemExit(f"bench_web: --paint-args takes only {', '.join(by_flag)}, got {flag}")
        fields[by_flag[flag]] = value
    return fields


class Server:
    def __init__(self, data: Path, env: dict, max_queued: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "neuralpaint", "serve", "--port", "0", "--data", str(data),
                                      "--max-queued", str(max_queued)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("neuralpaint studio: "):
            raise SystemExit(f"bench_web: the server did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split()[2]
        import httpx

        self.client = httpx.Client(base_url=self.url, timeout=120)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def submit(self, fields: dict) -> str:
        with PHOTO.open("rb") as f:
            r = self.client.post("/api/paintings", files={"image": (PHOTO.name, f, "image/png")}, data=fields)
        r.raise_for_status()
        return r.json()["id"]

    def watch(self, job_id: str, since: float) -> tuple[float | None, dict]:
        """Follow the events to the end: seconds from ``since`` to the first picture, the last record."""
        first = None
        with self.client.stream("GET", f"/api/paintings/{job_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    body = json.loads(line[5:])
                    if first is None and body.get("frame"):
                        first = time.perf_counter() - since
                    if body["state"] not in ("queued", "running"):
                        return first, body
        return first, self.client.get(f"/api/paintings/{job_id}").json()

    def wait(self, job_id: str) -> dict:
        while True:
            job = self.client.get(f"/api/paintings/{job_id}").json()
            if job["state"] not in ("queued", "running"):
                return job
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def browser_first_pictures(url: str, fields: dict, repeat: int) -> list[float]:
    """Seconds from the click on Paint to the first picture drawn on the live canvas, in chromium."""
    import shutil

    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(600_000)
        for _ in range(repeat):
            page.goto(url)
            page.wait_for_selector(f"input[name=stroke][value={fields.get('stroke', 'oilpaintbrush')}]", state="attached")
            page.get_by_test_id("photo-input").set_input_files(str(PHOTO))
            page.check(f"input[name=stroke][value={fields.get('stroke', 'oilpaintbrush')}]")
            page.fill("#max_strokes", fields["max_strokes"])
            page.fill("#size", fields["size"])
            page.evaluate("""() => {
                window.benchFirst = null;
                const canvas = document.querySelector('#live-canvas');
                document.querySelector('#paint-button').addEventListener('click', () => {
                    window.benchClick = performance.now();
                    new MutationObserver((_, observer) => {
                        window.benchFirst = performance.now() - window.benchClick; observer.disconnect();
                    }).observe(canvas, {attributes: true, attributeFilter: ['data-frames']});
                }, {capture: true, once: true});
            }""")
            page.get_by_test_id("paint-button").click()
            page.wait_for_function("() => window.benchFirst !== null")
            seconds.append(page.evaluate("() => window.benchFirst") / 1000)
            page.wait_for_function("() => /^(Done|Stopped|Failed)/.test(document.querySelector('#progress').textContent)")
        browser.close()
    return seconds


def cli_painting(fields: dict, env: dict, out: Path) -> float:
    argv = [sys.executable, "-m", "neuralpaint", "paint", "--img", str(PHOTO), "--out", str(out), "-q",
            "--no-animation", "--svg", "--size", fields["size"], "--max-strokes", fields["max_strokes"]]
    for name, flag in CLI_FLAGS.items():
        if name in fields:
            argv += [flag, fields[name]]
    run = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    match = PAINTED.search(run.stdout)
    if run.returncode != 0 or match is None:
        raise SystemExit(f"bench_web: {shlex.join(argv)} failed: {run.stderr[-2000:]}")
    return float(match.group(1))


def tables(results: dict) -> dict[str, figures.Table]:
    """``web``: each measurement with its target and whether it was met."""
    def span(values: list[float], unit: str = "s", digits: int = 2) -> str:
        return f"{statistics.median(values):.{digits}f} {unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"

    rows = []
    first = results["first_picture"]
    if first.get("browser"):
        rows.append(["first picture on the page after pressing Paint (chromium)", span(first["browser"]), "≤ 1 s",
                     "yes" if statistics.median(first["browser"]) <= 1.0 else "no"])
    rows.append(["first picture event after the API's POST", span(first["api"]), "≤ 1 s",
                 "yes" if statistics.median(first["api"]) <= 1.0 else "no"])
    speed = results["speed"]
    ratio = statistics.median(speed["server"]) / statistics.median(speed["cli"])
    rows.append(["painting time: server (streaming) / neuralpaint paint",
                 f"{ratio:.3f}× ({span(speed['server'])} / {span(speed['cli'])})", "≤ 1.15×",
                 "yes" if ratio <= 1.15 else "no"])
    rss = results["memory"]["rss_mb"]
    growth = rss[-1] / rss[0] - 1
    rows.append([f"server RSS after painting 1 → {len(rss)}", f"{rss[0]:.0f} → {rss[-1]:.0f} MB ({growth:+.1%})",
                 "≤ +10 %", "yes" if growth <= 0.10 else "no"])
    burst = results["burst"]
    ok = burst["finished"] == burst["submitted"] and burst["in_order"]
    rows.append([f"{burst['submitted']} paintings submitted at once",
                 f"{burst['finished']} done, {'in order' if burst['in_order'] else 'OUT OF ORDER'}, "
                 f"{burst['seconds']:.1f} s in all", "all, in order", "yes" if ok else "no"])
    return {"web": figures.Table(["measurement", "measured: median (min–max)", "target", "met"], rows, "llll")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--paint-args", default="", help=f"more paint options, one string: {', '.join(CLI_FLAGS.values())}")
    ap.add_argument("--repeat", type=int, default=3, help="first-picture and speed measurements (default: 3)")
    ap.add_argument("--paintings", type=int, default=20, help="paintings in a row for the memory (default: 20)")
    ap.add_argument("--burst", type=int, default=10, help="paintings submitted at once (default: 10)")
    ap.add_argument("--no-browser", action="store_true", help="skip the chromium measurement")
    ap.add_argument("--json", default="bench_results/web.json")
    args = ap.parse_args()
    fields = form_fields(args)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    results = {"settings": {**fields, "repeat": args.repeat, "paintings": args.paintings, "burst": args.burst,
                            "photo": PHOTO.name},
               "first_picture": {"api": [], "browser": []}, "speed": {"server": [], "cli": []},
               "memory": {"rss_mb": []}, "burst": {}}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "studio", env, max_queued=max(16, args.burst))
        try:
            server.wait(server.submit(fields))  # warm: torch, the kernels, the first painting's set-up
            if not args.no_browser:
                results["first_picture"]["browser"] = browser_first_pictures(server.url, fields, args.repeat)
            for i in range(args.repeat):  # interleaved: the server, then the command, each round
                start = time.perf_counter()
                first, job = server.watch(server.submit(fields), start)
                if job["state"] != "done":
                    raise SystemExit(f"bench_web: a painting ended {job['state']}: {job['error']}")
                results["first_picture"]["api"].append(first)
                results["speed"]["server"].append(job["painted_seconds"])
                results["speed"]["cli"].append(cli_painting(fields, env, Path(tmp) / f"cli{i}"))
                print(f"round {i + 1}: first picture {first:.2f} s; painted {job['painted_seconds']:.2f} s (server), "
                      f"{results['speed']['cli'][-1]:.2f} s (command)", file=sys.stderr)
            for i in range(args.paintings):
                job = server.wait(server.submit({**fields, "seed": str(i)}))
                results["memory"]["rss_mb"].append(server.rss_mb())
                print(f"painting {i + 1}/{args.paintings}: {job['state']}, RSS {results['memory']['rss_mb'][-1]:.0f} MB",
                      file=sys.stderr)
            start = time.perf_counter()
            ids = [server.submit({**fields, "seed": str(i)}) for i in range(args.burst)]
            jobs = [server.wait(job_id) for job_id in ids]
            starts = [job["started"] for job in jobs]
            results["burst"] = {"submitted": len(ids), "finished": sum(job["state"] == "done" for job in jobs),
                                "in_order": starts == sorted(starts), "seconds": time.perf_counter() - start,
                                "listed": len(server.client.get("/api/paintings").json()["paintings"])}
        finally:
            server.stop()
    figures.save(args.json, results, timing=figures.WHOLE)
    for name, table in tables(results).items():
        print(f"\n{name}:\n{table.markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
