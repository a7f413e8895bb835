"""Pre-activation ResNets for CIFAR with channel attention (SE, CMPE-SE, Inner-Imaging).

Backbone: GluonCV's ``CIFARResNetV2`` with its pre-activation basic block (depth ``6n + 2``)
or GluonCV's pre-activation bottleneck ``BottleneckV2`` (depth ``9n + 2``, ResNet-164), into
which the attention block is injected.  He et al., "Identity Mappings in Deep Residual
Networks", ECCV 2016; attention per Hu et al., "Inner-Imaging Networks" (Section V-B:
inner-imaged map of ``m = 16`` columns, ``n = 2C / 16`` rows).

The first bottleneck block of every stage gets a projection shortcut, because its input width
(16, 64, 128) differs from its output width (64, 128, 256); the original CMPE-SE code omitted
it on the first stage and crashed.
"""
from functools import partial

from mxnet.gluon.nn import BatchNorm
from gluoncv.model_zoo.cifarresnet import CIFARBasicBlockV2, CIFARResNetV2
from gluoncv.model_zoo.resnet import BottleneckV2

from ..layers.create_attn import parse_attn
from .families import register_backbone
from .residual import AttentionResidual, BlockShape, ChainedStages

__all__ = ['CIFARPreActBlock', 'PreActBottleneck', 'PreActResNet', 'cifar_preact_resnet']

RESNET_MAP_COLS = 16


# Blocks
class CIFARPreActBlock(AttentionResidual, CIFARBasicBlockV2):
    r"""GluonCV's pre-activation basic block with an attention layer after ``conv2``.

    Parameters
    ----------
    channels, stride, downsample, in_channels, norm_layer, norm_kwargs
        As :class:`gluoncv.model_zoo.cifarresnet.CIFARBasicBlockV2`.
    attn : AttnSpec or None
        The attention (see :func:`ini_gluon.layers.create_attn`); ``None`` for the plain block.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0, norm_layer=BatchNorm,
                 norm_kwargs=None, attn=None, **kwargs):
        super(CIFARPreActBlock, self).__init__(channels, stride, downsample, in_channels,
                                               norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                                               **kwargs)
        self._init_attention(attn, channels, channels, RESNET_MAP_COLS, norm_layer, norm_kwargs)

    preactivation = True

    def branches(self, F, x, x_hat):
        residual = x
        x = F.Activation(self.bn1(x), act_type='relu')
        x = self.conv1(x)
        x = F.Activation(self.bn2(x), act_type='relu')
        x = self.conv2(x)
        if self.downsample:
            return x, self.downsample(residual), None
        return x, residual, x_hat


class PreActBottleneck(AttentionResidual, BottleneckV2):
    r"""GluonCV's pre-activation bottleneck with an attention layer after ``conv3``.

    ``channels`` is the output width ``C``; the bottleneck width is ``C / 4`` and sets the number
    of G-filters ε = (C / 4) / t, as in the original code.

    Parameters
    ----------
    channels, stride, downsample, in_channels, norm_layer, norm_kwargs
        As :class:`gluoncv.model_zoo.resnet.BottleneckV2`.
    attn : AttnSpec or None
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0, norm_layer=BatchNorm,
                 norm_kwargs=None, attn=None, **kwargs):
        super(PreActBottleneck, self).__init__(channels, stride, downsample, in_channels,
                                                    norm_layer=norm_layer,
                                                    norm_kwargs=norm_kwargs, **kwargs)
        self._init_attention(attn, channels, channels // 4, RESNET_MAP_COLS, norm_layer,
                             norm_kwargs)

    preactivation = True

    def branches(self, F, x, x_hat):
        x, residual = self.preact(F, x)
        x = self.conv1(x)
        x = F.Activation(self.bn2(x), act_type='relu')
        x = self.conv2(x)
        x = F.Activation(self.bn3(x), act_type='relu')
        x = self.conv3(x)
        return x, residual, None if self.downsample else x_hat


# Nets
class PreActResNet(ChainedStages, CIFARResNetV2):
    """GluonCV's ``CIFARResNetV2`` whose stages hand the identity squeeze on
    (:class:`~ini_gluon.models.residual.SqueezeChain`)."""


# Specification
def resnet_spec(depth):
    """``(block, layers, channels)`` of pre-act ResNet-depth.

    Basic blocks for ``6n + 2`` below 164 (20, 56, 110); bottlenecks for ``9n + 2`` from 164 up
    (164, 1001) or where ``6n + 2`` does not fit (29, 47).
    """
    basic = depth >= 8 and (depth - 2) % 6 == 0 and depth < 164
    bottleneck = depth >= 11 and (depth - 2) % 9 == 0 and not basic
    if basic:
        return CIFARPreActBlock, [(depth - 2) // 6] * 3, [16, 16, 32, 64]
    if bottleneck:
        return PreActBottleneck, [(depth - 2) // 9] * 3, [16, 64, 128, 256]
    raise ValueError('pre-act ResNet depth must be 6n+2 below 164 (basic blocks: 20, 56, 110) '
                     'or 9n+2 (bottlenecks: 164, 1001), not %d' % depth)


def resnet_blocks(depth):
    """The :class:`~ini_gluon.models.residual.BlockShape` of every block of pre-act
    ResNet-depth: ``C`` per stage, ε from the bottleneck width ``C / 4``, 16 map columns."""
    block, layers, channels = resnet_spec(depth)
    ratio = 4 if block is PreActBottleneck else 1
    return [BlockShape('stage%d.%d' % (i + 1, j), c, c // ratio, RESNET_MAP_COLS)
            for i, (n, c) in enumerate(zip(layers, channels[1:])) for j in range(n)]


# Constructor
@register_backbone('resnet{depth}', blocks=resnet_blocks, family='resnet',
                   listed=['resnet20', 'resnet56', 'resnet110', 'resnet164'],
                   aliases=['cifar_resnet{depth}_v2'],
                   describe='pre-act CIFAR ResNet, depth 6n+2 below 164 (basic blocks: resnet8, '
                            'resnet20, resnet110) or 9n+2 (bottlenecks: resnet164, resnet1001)')
def cifar_preact_resnet(depth, attn=None, classes=10, norm_layer=BatchNorm, norm_kwargs=None,
                        **kwargs):
    r"""Pre-activation ResNet-depth for CIFAR with the attention ``attn`` in every block.

    Parameters
    ----------
    depth : int
        ``6n + 2`` (basic blocks) or ``9n + 2`` (bottlenecks), see :func:`resnet_spec`.
    attn : AttnSpec, str or None
        Attention of every block (see :func:`ini_gluon.layers.create_attn`).
    classes : int, default 10
    norm_layer, norm_kwargs
        Normalisation layer of the backbone and of the G-filters.
    """
    block, layers, channels = resnet_spec(depth)
    return PreActResNet(partial(block, attn=parse_attn(attn)), layers, channels, classes=classes,
                        norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
