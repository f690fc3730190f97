"""PyTorch twins of tinyseg's models: the models' own code, run on torch.nn layers.

A twin is built from a tinyseg model, module by module, under the same attribute names:

- each layer of tinyseg.nn (Conv2d, BatchNorm2d, MaxPool2d, ...) becomes its torch.nn namesake
  with the same settings (and PyTorch's own initial weights), see ``_layers``;
- every other module (the blocks of models/blocks.py, the models themselves) becomes a
  torch.nn.Module that runs the tinyseg class's own methods (forward, encode, decode) on them.

So each architecture is written once, in tinyseg/models, and parameter names map one to one
(``dec3.convs.0.bn.running_var`` is the same tensor in both); what a twin swaps is every op:
PyTorch's convolution, batch norm, pooling, unpooling and LRN in place of tinyseg's. The twins
are the references of tests/test_models_torch.py and what ``python -m tinyseg.bench --compare
torch`` times. PyTorch is imported the first time a twin is asked for.

    >>> from tinyseg import interop, models
    >>> twin = interop.from_tinyseg(models.create("segnet_basic"))  # the same weights, in PyTorch
    >>> interop.create("segnet", num_classes=11)                   # PyTorch's own initial weights
    >>> interop.TorchSegNetBasic(num_classes=11)                   # the same, by class
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn
from ..models import FCNBasic, SegNet, SegNetBasic
from ._lazy import import_torch
from .state_dict import to_torch_state_dict

__all__ = ["TWINS", "twin_class", "create", "from_tinyseg", "twin_of"]

_MODELS = {"segnet_basic": SegNetBasic, "segnet": SegNet, "fcn_basic": FCNBasic}
TWINS = {name: f"Torch{cls.__name__}" for name, cls in _MODELS.items()}
"""tinyseg model name -> its twin class (``interop.TorchSegNetBasic`` ...). The twins are references to
compare numbers with, so models with dropout have none (the two frameworks draw different masks)."""

_MODULE_STATE = ("_parameters", "_buffers", "_modules", "training")  # tinyseg.nn.Module's own bookkeeping


@functools.cache
def _layers() -> dict[type, Callable[[Any], Any]]:
    """tinyseg.nn layer class -> a function that builds the torch.nn layer with the same settings."""
    tnn = import_torch("tinyseg.interop's twins").nn

    class BatchNorm2d(tnn.BatchNorm2d):  # type: ignore[name-defined]  # torch, imported on demand
        """torch.nn.BatchNorm2d taking tinyseg's ``relu=True`` (a ReLU after the normalisation)."""

        def forward(self, x: Any, relu: bool = False) -> Any:
            x = super().forward(x)
            return tnn.functional.relu(x) if relu else x

    return {
        nn.Conv2d: lambda m: tnn.Conv2d(
            m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None
        ),
        nn.ConvTranspose2d: lambda m: tnn.ConvTranspose2d(
            m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.output_padding, bias=m.bias is not None
        ),
        nn.BatchNorm2d: lambda m: BatchNorm2d(m.num_features, m.eps, m.momentum),
        nn.ReLU: lambda m: tnn.ReLU(),
        nn.MaxPool2d: lambda m: tnn.MaxPool2d(m.kernel_size, m.stride, return_indices=m.return_indices is not False),
        nn.MaxUnpool2d: lambda m: tnn.MaxUnpool2d(m.kernel_size, m.stride),
        nn.LocalResponseNorm: lambda m: tnn.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
        nn.Dropout: lambda m: tnn.Dropout(m.p),
        nn.Sequential: lambda m: tnn.Sequential(*[twin_of(c) for c in m]),
    }


@functools.cache
def _twin_class(cls: type) -> Any:
    """Torch<cls name>: a torch.nn.Module with ``cls``'s methods; Torch<cls>(*args, **kwargs) mirrors
    a fresh ``cls(*args, **kwargs)`` (whose own weights, drawn from a private generator, are not kept)."""
    tnn = import_torch("tinyseg.interop's twins").nn
    methods: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[: cls.__mro__.index(nn.Module)]):  # cls and its bases below Module
        methods.update({k: v for k, v in vars(klass).items() if not k.startswith("__") and k != "model_name"})

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 (the twin class's __init__)
        tnn.Module.__init__(self)
        _mirror(self, cls(*args, rng=np.random.default_rng(0), **kwargs))

    name = f"Torch{cls.__name__}"
    doc = f"PyTorch twin of tinyseg's {cls.__module__}.{cls.__name__}: its code on torch.nn layers.\n\n{cls.__doc__}"
    return type(
        name,
        (tnn.Module,),
        {
            **methods,
            "__init__": __init__,
            "__doc__": doc,
            "__module__": __name__,
            "__qualname__": name,
            "tinyseg_class": cls,
        },
    )


def _mirror(twin: Any, module: nn.Module) -> Any:
    """Give ``twin`` (a fresh torch module) ``module``'s settings and the twins of its children."""
    if module._parameters or module._buffers:
        raise TypeError(f"{type(module).__name__}: a twin mirrors modules whose weights sit in tinyseg.nn layers")
    for name, value in vars(module).items():
        if name not in _MODULE_STATE:
            setattr(twin, name, value)  # settings: in_channels, relu, config, an absent dropout (None) ...
    for name, child in module.named_children():
        setattr(twin, name, twin_of(child))
    return twin


def twin_of(module: nn.Module) -> Any:
    """The torch.nn twin of any tinyseg module (a layer, a block, a model): same names, PyTorch's weights."""
    layers = _layers()
    for klass in type(module).__mro__:
        if klass in layers:
            return layers[klass](module)
    cls = _twin_class(type(module))  # type: ignore[arg-type]  # a class is Hashable; mypy checks it as an instance
    twin = cls.__new__(cls)
    import_torch("tinyseg.interop's twins").nn.Module.__init__(twin)
    return _mirror(twin, module)


def twin_class(model_name: str) -> type:
    """The PyTorch twin class of the tinyseg model registered as ``model_name``."""
    if model_name not in TWINS:
        raise ValueError(f"no PyTorch twin for model {model_name!r}: twins exist for {', '.join(sorted(TWINS))}")
    return _twin_class(_MODELS[model_name])


def create(model_name: str, **kwargs: Any) -> Any:
    """A fresh twin of ``model_name`` (PyTorch's initialisation), e.g. create("segnet_basic", num_classes=11)."""
    return twin_class(model_name)(**kwargs)


def from_tinyseg(model: nn.Module) -> Any:
    """A PyTorch twin of a tinyseg model with the same weights and buffers (float32, CPU)."""
    twin = twin_of(model)
    twin.load_state_dict(to_torch_state_dict(model))  # strict: every name matches
    return twin


def __getattr__(name: str) -> Any:
    """``twins.TorchSegNetBasic`` etc.: defined (and torch imported) on first access."""
    for model_name, class_name in TWINS.items():
        if name == class_name:
            return twin_class(model_name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
