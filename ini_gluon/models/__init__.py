"""Backbones with attention, and the registry that names them."""
from .registry import register_backbone, get_model, list_models, parse_model_name
from . import cifar_resnet, cifar_wrn, imagenet_resnet  # noqa: F401  (register the families)
from .cifar_resnet import CIFARPreActBlock, PreActBottleneck, cifar_preact_resnet
from .cifar_wrn import CIFARWideBlock, cifar_wrn
from .imagenet_resnet import ResNetV1Block, ResNetV1Bottleneck, ResNetV2Block, imagenet_resnet
