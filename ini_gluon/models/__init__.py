"""Backbones with attention, and the registry that names them."""
from .registry import register_backbone, get_model, list_models, parse_model_name
from . import cifar_resnet, cifar_wrn  # noqa: F401  (register the families)
from .cifar_resnet import CIFARPreActBlock, CIFARPreActBottleneck, cifar_preact_resnet
from .cifar_wrn import CIFARWideBlock, cifar_wrn
