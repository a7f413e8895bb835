"""Backbones with attention, and the names that build them.

A name is parsed once into a :class:`ModelSpec` (:mod:`~ini_gluon.models.names`, on the
registered backbone families of :mod:`~ini_gluon.models.families` and their name templates,
:mod:`~ini_gluon.models.templates`); :mod:`~ini_gluon.models.listing` lists what can be built,
:mod:`~ini_gluon.models.suggest` says what is wrong with a name and what is near it, and
:mod:`~ini_gluon.models.factory` builds a model (:func:`get_model`).

Every module of this package is imported here, so that a new backbone module's
``register_backbone`` runs: adding a backbone is one file (README, "Adding a backbone").  The
family modules keep their own names here (``ini_gluon.models.cifar_wrn`` is the module, not its
constructor), so a tool that replaces a function in a module reaches the module itself.
"""
import importlib
import pkgutil

from .families import (Backbone, register_backbone, backbones, DEFAULT_INPUT_SHAPE)
from .names import (ModelSpec, ModelAlias, MODEL_ALIASES, parse_model_name, model_name,
                    model_paper, check_attention)
from .listing import list_models, find_models, backbone_models
from .templates import shown_template
from .suggest import resolve_model_name
from .factory import get_model, default_classes, network_or_name
from .residual import AttentionBlock, AttentionResidual, SqueezeChain, BlockShape
from .cifar_resnet import CIFARPreActBlock, PreActBottleneck
from .cifar_wrn import CIFARWideBlock
from .imagenet_resnet import ResNetV1Block, ResNetV1Bottleneck, ResNetV2Block

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module('%s.%s' % (__name__, _module.name))

__all__ = ['Backbone', 'ModelSpec', 'ModelAlias', 'MODEL_ALIASES', 'register_backbone',
           'backbones', 'get_model', 'list_models', 'find_models', 'backbone_models',
           'parse_model_name', 'model_name', 'model_paper', 'resolve_model_name',
           'shown_template', 'default_classes', 'network_or_name', 'check_attention',
           'DEFAULT_INPUT_SHAPE',
           'AttentionBlock', 'AttentionResidual', 'SqueezeChain', 'BlockShape',
           'CIFARPreActBlock', 'PreActBottleneck', 'CIFARWideBlock', 'ResNetV1Block',
           'ResNetV1Bottleneck', 'ResNetV2Block']
