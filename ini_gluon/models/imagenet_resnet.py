"""ResNet v1 / v2 for ImageNet with channel attention (CMPE-SE, Inner-Imaging, spatial maps).

Backbones: GluonCV's ``ResNetV1`` / ``ResNetV2`` with their own blocks, into which the
attention block is injected (He et al., CVPR 2016 and ECCV 2016; attention per Hu et al.,
"Inner-Imaging Networks", Section V-B: inner-imaged map of 16 columns; Table V).  The plain and
SE baselines are GluonCV's own models (``resnet50_v2``, ``se_resnet50_v2``), not rebuilt here.
"""
from functools import partial

from mxnet.gluon.nn import BatchNorm
from gluoncv.model_zoo import get_model as gluoncv_model
from gluoncv.model_zoo.resnet import (BasicBlockV1, BasicBlockV2, BottleneckV1, ResNetV1,
                                      ResNetV2, resnet_spec)

from ..layers.create_attn import AttnSpec, parse_attn
from .cifar_resnet import PreActBottleneck, RESNET_MAP_COLS
from .families import register_backbone
from .residual import AttentionResidual, BlockShape, ChainedStages

__all__ = ['ResNetV1Block', 'ResNetV1Bottleneck', 'ResNetV2Block', 'AttnResNetV1',
           'AttnResNetV2', 'imagenet_resnet']

GLUONCV_SE = AttnSpec('se')     # GluonCV's own SE-ResNets: t = 16, no spatial map


# Blocks
class _V1(AttentionResidual):
    """Post-activation block: ``relu(X + attn(body(X)))``, attention after the last BatchNorm."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, norm_layer=BatchNorm,
                 norm_kwargs=None, attn=None, width=None, **kwargs):
        super(_V1, self).__init__(channels, stride, downsample, in_channels,
                                  norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
        self._init_attention(attn, channels, width(channels), RESNET_MAP_COLS, norm_layer,
                             norm_kwargs)

    def branches(self, F, x, x_hat):
        return self.body(x), (self.downsample(x) if self.downsample else x), None

    def hybrid_forward(self, F, x):
        return F.Activation(self.chained(F, x)[0], act_type='relu')


class ResNetV1Block(_V1, BasicBlockV1):
    """GluonCV's ``BasicBlockV1`` with an attention layer (ResNet-18/34 v1)."""

    def __init__(self, *args, **kwargs):
        super(ResNetV1Block, self).__init__(*args, width=lambda c: c, **kwargs)


class ResNetV1Bottleneck(_V1, BottleneckV1):
    """GluonCV's ``BottleneckV1`` with an attention layer; ε from the bottleneck width C/4."""

    def __init__(self, *args, **kwargs):
        super(ResNetV1Bottleneck, self).__init__(*args, width=lambda c: c // 4, **kwargs)


class ResNetV2Block(AttentionResidual, BasicBlockV2):
    """GluonCV's pre-activation ``BasicBlockV2`` with an attention layer (ResNet-18/34 v2)."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, norm_layer=BatchNorm,
                 norm_kwargs=None, attn=None, **kwargs):
        super(ResNetV2Block, self).__init__(channels, stride, downsample, in_channels,
                                            norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                                            **kwargs)
        self._init_attention(attn, channels, channels, RESNET_MAP_COLS, norm_layer, norm_kwargs)

    preactivation = True

    def branches(self, F, x, x_hat):
        x, residual = self.preact(F, x)
        x = self.conv2(F.Activation(self.bn2(self.conv1(x)), act_type='relu'))
        return x, residual, None if self.downsample else x_hat


# Nets
class AttnResNetV1(ChainedStages, ResNetV1):
    """GluonCV's ``ResNetV1`` with :class:`~ini_gluon.models.residual.SqueezeChain` stages."""


class AttnResNetV2(ChainedStages, ResNetV2):
    """GluonCV's ``ResNetV2`` with :class:`~ini_gluon.models.residual.SqueezeChain` stages."""


# Specification
BLOCKS = {1: {'basic_block': ResNetV1Block, 'bottle_neck': ResNetV1Bottleneck},
          2: {'basic_block': ResNetV2Block, 'bottle_neck': PreActBottleneck}}
NETS = {1: AttnResNetV1, 2: AttnResNetV2}


def imagenet_spec(depth, version):
    """``(block kind, layers, channels)`` of GluonCV's ResNet-depth."""
    if depth not in resnet_spec:
        raise ValueError('ImageNet ResNet depth must be one of GluonCV\'s %s, not %d'
                         % (sorted(resnet_spec), depth))
    if version not in NETS:
        raise ValueError('ResNet version must be v1 or v2, not v%d' % version)
    return resnet_spec[depth]


def imagenet_blocks(depth, version):
    """The :class:`~ini_gluon.models.residual.BlockShape` of every block of GluonCV's
    ResNet-depth (bottlenecks: ε from the width ``C / 4``)."""
    kind, layers, channels = imagenet_spec(depth, version)
    ratio = 4 if kind == 'bottle_neck' else 1
    return [BlockShape('stage%d.%d' % (i + 1, j), c, c // ratio, RESNET_MAP_COLS)
            for i, (n, c) in enumerate(zip(layers, channels[1:])) for j in range(n)]


# Constructor
@register_backbone('resnet{depth}_v{version}', blocks=imagenet_blocks, family='resnet',
                   listed=['resnet50_v1', 'resnet50_v2', 'resnet101_v1', 'resnet101_v2'],
                   input_shape=(1, 3, 224, 224),
                   every=['resnet%d_v%d' % (d, v) for d in sorted(resnet_spec) for v in (1, 2)],
                   describe="GluonCV's ImageNet ResNet v1 / v2, depth 18, 34, 50, 101 or 152",
                   imagenet_weights='resnet{depth}_v{version}')
def imagenet_resnet(depth, version, attn=None, classes=1000, norm_layer=BatchNorm,
                    norm_kwargs=None, **kwargs):
    r"""ResNet-depth v1/v2 for ImageNet with the attention ``attn`` in every block; without
    attention, or with GluonCV's SE (``AttnSpec('se')``: t = 16, no spatial map), GluonCV's own
    ``resnet<depth>_v<version>`` / ``se_resnet<depth>_v<version>``.

    Parameters
    ----------
    depth : int
        18, 34, 50, 101 or 152.
    version : int
        1 (post-activation) or 2 (pre-activation).
    attn : AttnSpec, str or None
    classes : int, default 1000
    norm_layer, norm_kwargs
        Normalisation layer of the backbone and of the G-filters.
    """
    kind, layers, channels = imagenet_spec(depth, version)
    attn = parse_attn(attn)
    if attn in (None, GLUONCV_SE):
        return gluoncv_model('%sresnet%d_v%d' % ('se_' if attn else '', depth, version),
                             classes=classes, norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                             **kwargs)
    block = partial(BLOCKS[version][kind], attn=attn)
    return NETS[version](block, layers, channels, classes=classes, norm_layer=norm_layer,
                         norm_kwargs=norm_kwargs, **kwargs)
