"""tinyseg.nn: Module, Parameter and the layers of SegNet, named like torch.nn.

A block of layers, and the names its parameters get:

    >>> import tinyseg
    >>> from tinyseg import nn
    >>> tinyseg.manual_seed(0)
    >>> block = nn.Sequential(nn.Conv2d(3, 64, 7, padding=3), nn.BatchNorm2d(64), nn.ReLU())
    >>> [name for name, _ in block.named_parameters()]
    ['0.weight', '0.bias', '1.weight', '1.bias']
"""

from . import init
from .layers import BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, LocalResponseNorm, MaxPool2d, MaxUnpool2d, ReLU
from .module import IncompatibleKeys, Module, Parameter, Sequential, eval_mode

__all__ = [
    "init",
    "Module",
    "Parameter",
    "Sequential",
    "IncompatibleKeys",
    "eval_mode",
    "Conv2d",
    "ConvTranspose2d",
    "BatchNorm2d",
    "ReLU",
    "MaxPool2d",
    "MaxUnpool2d",
    "LocalResponseNorm",
    "Dropout",
]
