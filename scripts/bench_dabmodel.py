"""Benchmark: how closely the painter's stand-ins for libmypaint imitate it.

    python scripts/bench_dabmodel.py [--n 300] [--json bench_results/dabmodel.json]

For ``--n`` strokes of ``classic/dry_brush`` drawn two ways (uniform actions, as the GAN renderer
was trained on; and strokes like a painting's, ``sample_painting``), in the data set's size layout
(the GAN's), at 64 x 64 and 128 x 128: the alpha PSNR and the PSNR of the stroke over white of
the shipped dab model (``strokes.dabmodel``) and of the shipped GAN renderer
(``checkpoints/mypaint.pt``, resized from its 64 x 64) against libmypaint's own render; and their
forward + backward time per stroke on whole 64 x 64 windows (inner timing; the painter draws the
model through the compiled kernels on 4 x 4 cells instead).
"""
from __future__ import annotations

import argparse
import math
import time

import figures


def tables(results: dict) -> dict[str, figures.Table]:
    rows = []
    for r in results["results"]:
        rows.append([r["strokes"], f"{r['size']}²", f"{r['model_alpha']:.2f}", f"{r['gan_alpha']:.2f}",
                     f"{r['model_white']:.2f}", f"{r['gan_white']:.2f}"])
    fidelity = figures.Table(["strokes", "size", "dab model, alpha", "GAN, alpha", "dab model, over white",
                              "GAN, over white"], rows, "llrrrr")
    t = results["speed"]
    speed = figures.Table(["renderer", "ms per stroke, forward + backward"], [
        ["dab model, whole 64² windows (tensor code)", f"{t['model_window_ms']:.2f}"],
        ["GAN renderer, whole 64² windows", f"{t['gan_window_ms']:.2f}"],
    ])
    return {"fidelity": fidelity, "speed": speed}


def main() -> None:
    import torch

    from neuralpaint.renderers import load_renderer
    from neuralpaint.strokes import dabmodel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--json", default="bench_results/dabmodel.json")
    args = ap.parse_args()
    net = load_renderer(figures.ROOT / "checkpoints" / "mypaint.pt")
    st = net.stroke  # classic/dry_brush in the data set's layout: what the GAN draws
    model = dabmodel.DabModel(st, dabmodel.brush_model(st.brush))
    psnr = lambda a, b: 10 * math.log10(1.0 / max(((a - b) ** 2).mean().item(), 1e-12))  # noqa: E731
    white = lambda c, a: c * a + (1 - a)  # noqa: E731
    results = []
    g = torch.Generator().manual_seed(0)
    for kind, sample in (("uniform", st.sample), ("painting", st.sample_painting)):
        params = sample(args.n, g)
        for size in (64, 128):
            colour, alpha = st.render(params, size, size)
            with torch.no_grad():
                m_colour, m_alpha = model.render(params, size, size)
                n_colour, n_alpha = net.render(params, size, size)
            results.append({"strokes": kind, "size": size, "model_alpha": psnr(m_alpha, alpha),
                            "gan_alpha": psnr(n_alpha, alpha), "model_white": psnr(white(m_colour, m_alpha), white(colour, alpha)),
                            "gan_white": psnr(white(n_colour, n_alpha), white(colour, alpha))})
            print(results[-1])
    params = st.sample_painting(64, g)

    def per_stroke(render) -> float:
        times = []
        for _ in range(5):
            p = params.clone().requires_grad_(True)
            start = time.perf_counter()
            colour, alpha = render(p)
            (colour.sum() + alpha.sum()).backward()
            times.append(time.perf_counter() - start)
        return 1000 * sorted(times)[2] / params.shape[0]

    speed = {"model_window_ms": per_stroke(lambda p: model.render(p, 64, 64)),
              "gan_window_ms": per_stroke(lambda p: net.render(p, 64, 64))}
    print(speed)
    figures.save(args.json, {"n": args.n, "results": results, "speed": speed},
                 timing=figures.INNER + "; the median of 5 calls on 64 painting strokes")


if __name__ == "__main__":
    main()
