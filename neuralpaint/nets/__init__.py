"""Neural stroke renderers (networks that imitate stroke engines) and their registry."""
from .architectures import NETS, RendererConfig, RendererNet, build_net, net_names, renderer_config
from .gan import GanGenerator

# the GAN-trained renderer (neuralpaint/nets/gan.py; trained by neuralpaint/training/train_gan.py)
NETS["gan"] = (GanGenerator, dict(size=64))

__all__ = ["NETS", "RendererConfig", "RendererNet", "build_net", "net_names", "renderer_config"]
