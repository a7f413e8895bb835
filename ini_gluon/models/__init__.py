"""Backbones with attention, and the registry that names them.

The family modules keep their own names here (``ini_gluon.models.cifar_wrn`` is the module, not
its constructor), so a tool that replaces a function in a module reaches the module itself.
"""
__all__ = ['register_backbone', 'get_model', 'list_models', 'parse_model_name',
           'CIFARPreActBlock', 'PreActBottleneck', 'CIFARWideBlock', 'ResNetV1Block',
           'ResNetV1Bottleneck', 'ResNetV2Block']

from .registry import register_backbone, get_model, list_models, parse_model_name
from . import cifar_resnet, cifar_wrn, imagenet_resnet  # noqa: F401  (register the families)
from .cifar_resnet import CIFARPreActBlock, PreActBottleneck
from .cifar_wrn import CIFARWideBlock
from .imagenet_resnet import ResNetV1Block, ResNetV1Bottleneck, ResNetV2Block
