"""tinyseg.models: SegNet-Basic, SegNet, Bayesian SegNet-Basic and FCN-Basic, creatable by name.

    >>> from tinyseg import models
    >>> net = models.create("segnet_basic", num_classes=11)
    >>> models.count_parameters(net)
    1416587
    >>> logits = net(x)                     # x (N, 3, H, W) -> logits (N, 11, H, W)

Architectures, shapes at 360x480 and parameter counts: docs/models.md.
"""

from .bayesian import BayesianSegNetBasic, MCPrediction, has_dropout, mc_predict
from .fcn import FCNBasic, bilinear_kernel, decoder_storage_bytes
from .registry import available, count_parameters, create, register
from .segnet import SegNet, SegNetBasic, load_vgg16_encoder

__all__ = [
    "SegNetBasic", "SegNet", "BayesianSegNetBasic", "FCNBasic", "MCPrediction", "mc_predict", "has_dropout",
    "load_vgg16_encoder", "bilinear_kernel", "decoder_storage_bytes", "create", "available", "register",
    "count_parameters",
]
