"""Backbones with attention, and the registry that names them.

Every module of this package is imported here, so that a new backbone module's
``register_backbone`` runs: adding a backbone is one file (README, "Adding a backbone").  The
family modules keep their own names here (``ini_gluon.models.cifar_wrn`` is the module, not its
constructor), so a tool that replaces a function in a module reaches the module itself.
"""
import importlib
import pkgutil

from .registry import (Backbone, ModelSpec, register_backbone, backbones, get_model, list_models,
                       find_models, backbone_models, parse_model_name, model_name,
                       resolve_model_name, shown_template, default_classes, DEFAULT_INPUT_SHAPE)
from .residual import AttentionBlock, AttentionResidual, SqueezeChain, BlockShape
from .cifar_resnet import CIFARPreActBlock, PreActBottleneck
from .cifar_wrn import CIFARWideBlock
from .imagenet_resnet import ResNetV1Block, ResNetV1Bottleneck, ResNetV2Block

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module('%s.%s' % (__name__, _module.name))

__all__ = ['Backbone', 'ModelSpec', 'register_backbone', 'backbones', 'get_model', 'list_models',
           'find_models', 'backbone_models', 'parse_model_name', 'model_name',
           'resolve_model_name', 'shown_template', 'default_classes', 'DEFAULT_INPUT_SHAPE',
           'AttentionBlock',
           'AttentionResidual', 'SqueezeChain', 'BlockShape', 'CIFARPreActBlock',
           'PreActBottleneck', 'CIFARWideBlock', 'ResNetV1Block', 'ResNetV1Bottleneck',
           'ResNetV2Block']
