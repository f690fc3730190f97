"""tinyseg.models: SegNet-Basic, SegNet, Bayesian SegNet-Basic and FCN-Basic, creatable by name.

    >>> from tinyseg import models
    >>> net = models.create("segnet_basic", num_classes=11)
    >>> models.count_parameters(net)
    1416587
    >>> logits = net(x)                     # x (N, 3, H, W) -> logits (N, 11, H, W)

Every model is built from the two blocks of blocks.py (EncoderBlock, DecoderBlock).
Architectures, shapes at 360x480 and parameter counts: docs/models.md. Loading VGG16's
ImageNet weights into SegNet's encoder needs PyTorch: tinyseg.interop.load_vgg16_encoder.
"""

from .bayesian import MCPrediction, bayesian_segnet_basic, has_dropout, mc_predict
from .blocks import ConvBN, DecoderBlock, EncoderBlock
from .fcn import FCNBasic, Upsample2x, bilinear_kernel, decoder_storage_bytes
from .registry import available, count_parameters, create, pool_count, register
from .segnet import SegNet, SegNetBasic

__all__ = [
    "SegNetBasic",
    "SegNet",
    "bayesian_segnet_basic",
    "FCNBasic",
    "EncoderBlock",
    "DecoderBlock",
    "ConvBN",
    "Upsample2x",
    "MCPrediction",
    "mc_predict",
    "has_dropout",
    "bilinear_kernel",
    "decoder_storage_bytes",
    "create",
    "available",
    "register",
    "pool_count",
    "count_parameters",
]
