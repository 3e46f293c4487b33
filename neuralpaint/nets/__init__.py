"""Neural stroke renderers (networks that imitate stroke engines) and their registry."""
from .renderers import NETS, RendererConfig, RendererNet, build_net, net_names, renderer_config

__all__ = ["NETS", "RendererConfig", "RendererNet", "build_net", "net_names", "renderer_config"]
