"""The region objective: each region of a new label map in the manner of its source region.

A *source* is a region of a style painting (the painting and the region's mask). For a picture
``x (3, H, W)`` and the new map's regions ``r = 0..R-1`` with their sources ``s(r)``,

    style(x)  = mean over layers l and regions r of  |G_r^l(x) - G_s(r)^l|^2 / |G_s(r)^l|^2
    colour(x) = mean over regions r of  SW_Lab(pixels of x in r, pixels of the source s(r)) / 10

``G_r^l``: the Gram matrix of the backbone's features at layer ``l`` under region ``r``'s mask
(``grams.region_grams``; Gatys et al., CVPR 2017). The masks of ``x``'s regions are *feathered*:
near a border each pixel belongs to both regions in proportion (a Gaussian of ``feather`` pixels),
so the two textures blend over a few pixels instead of meeting along a hard cut. The colour term
(sliced Wasserstein distance in CIE Lab, ``style.losses``) counts the pixels inside each region
(not its feathered border). A region too small for a layer's resolution (in ``x`` or in its
source: under one feature position) has no term at that layer.

``RegionObjective(backbone, sources, index)`` computes every source's Grams and colour quantiles
once; ``objective(x) -> (total, terms)``. ``region_report(x, ...)`` measures a finished picture
for the benchmark (every region's colour distance to its source region and to the whole style
painting, and its Gram distance per layer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import NeuralPaintError
from ..style.losses import ColourTarget, image_colours, random_directions, sliced_wasserstein
from .grams import masks_at, region_grams, region_masks

SWD_SCALE = 10.0  # the colour term: sliced Wasserstein distance in Lab units divided by this
COLOUR_PIXELS = 2048  # pixels of each region compared per step


@dataclass(frozen=True)
class Source:
    """Where a region takes its manner from: ``image (3, Hs, Ws)`` a style painting (at the working
    scale) and ``mask (Hs, Ws)`` bool, its region there; ``name`` says which, for messages."""

    image: Tensor
    mask: Tensor
    name: str


def feathered_masks(index: np.ndarray | Tensor, regions: int, feather: float) -> Tensor:
    """``index (H, W)`` in ``0..regions-1`` -> soft masks ``(regions, H, W)`` that sum to 1 at every
    pixel: the one-hot masks blurred by a Gaussian of ``feather`` pixels (0: the hard masks)."""
    masks = region_masks(index, regions)  # (R, H, W)
    if feather <= 0:
        return masks
    import kornia

    k = 2 * max(1, round(3 * feather)) + 1
    soft = kornia.filters.gaussian_blur2d(masks[None], (k, k), (feather, feather), border_type="replicate")[0]
    return soft / soft.sum(dim=0, keepdim=True).clamp_min(1e-8)


def _valid(masks: Tensor, h: int, w: int) -> Tensor:
    """``(R,)`` bool: regions weighing at least one feature position at ``h x w``."""
    return masks_at(masks, h, w).flatten(1).sum(dim=1) >= 1.0


class RegionObjective:
    """``style_weight * style + colour_weight * colour`` of a picture whose regions are ``index``
    (module docstring). ``sources[r]`` is region ``r``'s ``Source``; ``layers``: backbone layer names
    (default: its texture layers). All tensors on the backbone's device."""

    def __init__(self, backbone, sources: list[Source], index: np.ndarray | Tensor, feather: float = 2.0,
                 layers: tuple[str, ...] | None = None, style_weight: float = 1.0, colour_weight: float = 1.0,
                 generator: torch.Generator | None = None):
        self.backbone = backbone
        self.layers = tuple(layers or (name for name, _ in backbone.style_layers["texture"]))
        self.style_weight, self.colour_weight = style_weight, colour_weight
        self.generator = generator or torch.Generator().manual_seed(0)
        device = next(backbone.parameters()).device
        R = len(sources)
        self.masks = feathered_masks(index, R, feather).to(device)  # (R, H, W), soft
        self.inside = region_masks(index, R).bool().to(device)  # (R, H, W)
        if not self.inside.flatten(1).any(dim=1).all():
            missing = int((~self.inside.flatten(1).any(dim=1)).nonzero()[0])
            raise NeuralPaintError(f"region {missing} ({sources[missing].name}) has no pixels in the label map")
        # every source's Grams: one backbone pass per distinct style painting
        self.targets: dict[str, Tensor] = {}  # layer -> (R, C, C)
        self.scales: dict[str, Tensor] = {}  # layer -> (R,)
        self.source_ok: dict[str, Tensor] = {}  # layer -> (R,) bool: the source region has a Gram there
        by_image: dict[int, list[int]] = {}
        for r, source in enumerate(sources):
            by_image.setdefault(id(source.image), []).append(r)
        grams: dict[str, list[Tensor | None]] = {name: [None] * R for name in self.layers}
        ok: dict[str, list[bool]] = {name: [False] * R for name in self.layers}
        with torch.no_grad():
            for rows in by_image.values():
                image = sources[rows[0]].image.to(device)
                feats = backbone(image[None], self.layers)
                masks = torch.stack([sources[r].mask.to(device).float() for r in rows])  # (n, Hs, Ws)
                for name in self.layers:
                    h, w = feats[name].shape[2:]
                    valid = _valid(masks, h, w)
                    C = feats[name].shape[1]
                    g = torch.zeros(len(rows), C, C, device=device)
                    if valid.any():
                        g[valid] = region_grams(feats[name], masks[valid])
                    for i, r in enumerate(rows):
                        grams[name][r], ok[name][r] = g[i], bool(valid[i])
            for name in self.layers:
                self.targets[name] = torch.stack(grams[name])
                self.scales[name] = self.targets[name].square().flatten(1).sum(dim=1).clamp_min(1e-12)
                self.source_ok[name] = torch.tensor(ok[name], device=device)
            # fixed for the map: each region's pixels (for the colour term), and which regions have
            # a Gram term at each layer's resolution (filled in on the first picture)
            self.pixels = [self.inside[r].flatten().nonzero().flatten() for r in range(R)]
            self._used: dict[tuple[str, int, int], Tensor] = {}
            self.colour_targets = [ColourTarget(image_colours(s.image.to(device)[:, s.mask.to(device)][..., None]),
                                                generator=self.generator) for s in sources]

    def used(self, name: str, h: int, w: int) -> Tensor:
        """``(R,)`` bool: the regions with a Gram term at layer ``name`` of ``h x w`` positions (big
        enough there, in the map and in their source)."""
        key = (name, h, w)
        if key not in self._used:
            self._used[key] = self.source_ok[name] & _valid(self.masks, h, w)
        return self._used[key]

    def style_terms(self, feats: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per layer, ``(R,)`` relative Gram distances (0 where a region has no term)."""
        out = {}
        for name in self.layers:
            use = self.used(name, *feats[name].shape[2:])
            d = torch.zeros(self.masks.shape[0], device=self.masks.device)
            if use.any():
                g = region_grams(feats[name], self.masks[use])
                d[use] = (g - self.targets[name][use]).square().flatten(1).sum(dim=1) / self.scales[name][use]
            out[name] = d
        return out

    def __call__(self, image: Tensor) -> tuple[Tensor, dict]:
        """``image (3, H, W)`` in [0, 1] -> ``(total, terms)``; ``terms``: floats ``style``,
        ``colour`` (Lab units) and ``total``."""
        feats = self.backbone(image[None], self.layers)
        per_layer = self.style_terms(feats)
        style = torch.stack([d.mean() for d in per_layer.values()]).mean()
        colours = []
        pixels = image.reshape(3, -1)
        for r, target in enumerate(self.colour_targets):
            where = self.pixels[r]
            if where.numel() > COLOUR_PIXELS:
                where = where[torch.randperm(where.numel(), generator=self.generator)[:COLOUR_PIXELS].to(where.device)]
            colours.append(target.loss(image_colours(pixels[:, where][..., None])))
        colour = torch.stack(colours).mean() / SWD_SCALE
        total = self.style_weight * style + self.colour_weight * colour
        return total, {"style": style.item(), "colour": colour.item() * SWD_SCALE, "total": total.item()}


def region_noise(index: np.ndarray | Tensor, sources: list[Source], generator: torch.Generator) -> Tensor:
    """A starting picture ``(3, H, W)``: every pixel of region ``r`` a random pixel of its source
    region (right colours, no structure yet)."""
    index = torch.as_tensor(np.asarray(index)).long()
    picture = torch.zeros(3, *index.shape)
    for r, source in enumerate(sources):
        where = index == r
        pool = source.image[:, source.mask]  # (3, n)
        pick = torch.randint(pool.shape[1], (int(where.sum()),), generator=generator)
        picture[:, where] = pool[:, pick]
    return picture


def region_report(picture: Tensor, index: np.ndarray | Tensor, sources: list[Source], objective: RegionObjective,
                  seed: int = 0, n_directions: int = 64) -> list[dict]:
    """For each region of ``picture (3, H, W)`` (regions ``index``): ``colour_to_source`` and
    ``colour_to_painting``, the sliced Wasserstein distances in Lab (fixed random directions of
    ``seed``) of its pixels to its source region's pixels and to the whole style painting's, and
    ``gram`` (per layer, the relative Gram distance to the source region; None where the layer has
    no term). Not differentiable."""
    index = torch.as_tensor(np.asarray(index)).long()
    device = objective.masks.device
    g = torch.Generator().manual_seed(seed)
    dirs = random_directions(n_directions, g)
    rows = []
    with torch.no_grad():
        feats = objective.backbone(picture.to(device)[None], objective.layers)
        per_layer = objective.style_terms(feats)
        for r, source in enumerate(sources):
            mine = image_colours(picture[:, index == r][..., None].cpu(), 65536, g)
            own = image_colours(source.image[:, source.mask][..., None], 65536, g)
            whole = image_colours(source.image, 65536, g)
            grams = {}
            for name in objective.layers:
                used = bool(objective.used(name, *feats[name].shape[2:])[r])
                grams[name] = float(per_layer[name][r]) if used else None
            rows.append({"region": r, "source": source.name, "area": float((index == r).float().mean()),
                         "colour_to_source": float(sliced_wasserstein(mine, own, dirs)),
                         "colour_to_painting": float(sliced_wasserstein(mine, whole, dirs)), "gram": grams})
    return rows


def synthesise(objective: RegionObjective, start: Tensor, steps: int, lr: float = 0.03, watch=None
               ) -> tuple[Tensor, list[dict], bool]:
    """Pixels ``start (3, H, W)`` moved by ``steps`` Adam steps (values kept in [0, 1]) to lower
    ``objective``. ``watch(step, terms)`` is called after each step. Returns the picture, the log
    (the terms per step) and whether Ctrl-C stopped it early (the picture is then the last step's)."""
    from ..optim import Adam

    device = objective.masks.device
    x = start.to(device).clone().requires_grad_(True)
    opt = Adam([x], lr, bounds=(0.0, 1.0))
    log = []
    try:
        for step in range(steps):
            total, terms = objective(x)
            opt.zero_grad()
            total.backward()
            opt.step()
            log.append(terms)
            if watch is not None:
                watch(step, terms)
    except KeyboardInterrupt:
        return x.detach(), log, True
    return x.detach(), log, False


def resize_index(index: np.ndarray, height: int, width: int) -> np.ndarray:
    """A label map ``index (H, W)`` resized to ``(height, width)`` by nearest neighbour."""
    t = torch.as_tensor(np.asarray(index))[None, None].float()
    return F.interpolate(t, size=(height, width), mode="nearest")[0, 0].long().numpy().astype(np.int32)
