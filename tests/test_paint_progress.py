"""The painter's progress hook (``paint_photo(..., watch=)``): the stage, steps, strokes and the live
picture after every optimiser step, and a stop request that keeps the finished strokes as Ctrl-C
does. Tiny paintings (32 px, a dozen rectangle strokes)."""
import dataclasses

import numpy as np
import pytest
import torch

from neuralpaint.painter import PaintConfig, PaintProgress, paint_image

CFG = PaintConfig(stroke="rectangle", size=32, max_strokes=12, max_divide=2, iters_per_stroke=3, refine_steps=4,
                  seed=3)


def photo() -> np.ndarray:
    img = np.zeros((24, 32, 3), np.float32)
    img[:] = (0.1, 0.2, 0.6)
    img[12:] = (0.2, 0.6, 0.2)
    img[4:10, 20:28] = (0.9, 0.2, 0.1)
    return img


def test_watch_sees_every_step_with_stages_strokes_and_live_pictures():
    events, pictures = [], []

    def watch(event: PaintProgress):
        events.append(event)
        pictures.append(event.picture(16))
        return None

    strokes, state, _ = paint_image(photo(), CFG, watch=watch)
    plain, plain_state, _ = paint_image(photo(), CFG)
    # watching changes nothing in the painting
    assert torch.equal(state.params, plain_state.params) and torch.equal(state.canvas, plain_state.canvas)
    total = events[0].total_steps
    assert [e.step for e in events] == list(range(1, total + 1))
    assert [e.stage for e in events] == ["levels"] * (total - 4) + ["refine"] * 4
    assert {e.level for e in events} == {"1x1", "2x2", "all"}
    assert all(e.strokes_total == 12 for e in events)
    done = [e.strokes_done for e in events]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 12
    assert all(p.dtype == np.uint8 and p.shape == (12, 16, 3) for p in pictures)
    assert len({p.tobytes() for p in pictures}) > 5, "the live picture does not change as strokes move"
    # the last live picture is the refined strokes as they stand: the painting's own render
    full = events[-1].picture()
    assert full.shape == (24, 32, 3)
    final = (state.canvas.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).numpy()
    assert np.abs(full.astype(int) - final.astype(int)).max() <= 1


def test_live_picture_during_a_level_shows_the_strokes_being_optimised():
    firsts = []

    def watch(event):
        if event.step == 1:
            firsts.append(event.picture())

    paint_image(photo(), CFG, watch=watch)
    blank = np.full((24, 32, 3), 255, np.uint8)  # before the first level ends the canvas is bare
    assert not np.array_equal(firsts[0], blank)


@pytest.mark.parametrize("stop_after", [2, None])
def test_stop_request_keeps_the_finished_strokes(stop_after):
    """Returning True from ``watch`` stops as Ctrl-C: in the second level only the first level's
    strokes stay; in the refinement the levels' strokes, unrefined."""
    reference = paint_image(photo(), CFG)[1]
    first_level = reference.log[0]["strokes"]
    levels = []

    def watch(event):
        levels.append(event.level)
        if stop_after == 2:
            return event.level == "2x2"
        return event.stage == "refine" and event.step == event.total_steps - 2

    strokes, state, _ = paint_image(photo(), CFG, watch=watch)
    assert state.interrupted and strokes.metadata["interrupted"] is True
    if stop_after == 2:
        assert strokes.n == first_level < 12
        assert levels[-1] == "2x2" and levels.count("2x2") == 1
    else:
        unrefined = paint_image(photo(), dataclasses.replace(CFG, refine_steps=0))[0]
        assert strokes.n == 12 and np.array_equal(strokes.params, unrefined.params)
