"""Wide Residual Networks for CIFAR with channel attention (SE, CMPE-SE, Inner-Imaging).

Backbone: GluonCV's ``CIFARWideResNet`` and its pre-activation basic block, into which the
attention block is injected.  Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016;
attention per Hu et al., "Inner-Imaging Networks" (Section V-B: one InI module after the last
convolution of every block, inner-imaged map of ``n = 20`` rows and ``m = C / 10`` columns).
"""
from functools import partial

from mxnet.gluon.nn import BatchNorm
from gluoncv.model_zoo.cifarwideresnet import CIFARBasicBlockV2, CIFARWideResNet

from ..layers.create_attn import parse_attn
from .families import register_backbone
from .residual import AttentionResidual, BlockShape, ChainedStages

__all__ = ['CIFARWideBlock', 'WideResNet', 'cifar_wrn']


def wrn_map_cols(channels):
    """Columns of the inner-imaged map for WRN: ``C / 10`` (``20`` rows for the alt layout)."""
    return channels / 10.


# Blocks
class CIFARWideBlock(AttentionResidual, CIFARBasicBlockV2):
    r"""GluonCV's pre-activation WRN block with an attention layer after ``conv2``.

    Parameters
    ----------
    channels, stride, downsample, drop_rate, in_channels, norm_layer, norm_kwargs
        As :class:`gluoncv.model_zoo.cifarwideresnet.CIFARBasicBlockV2`.
    attn : AttnSpec or None
        The attention (see :func:`ini_gluon.layers.create_attn`); ``None`` for the plain block.
    """

    def __init__(self, channels, stride, downsample=False, drop_rate=0.0, in_channels=0,
                 norm_layer=BatchNorm, norm_kwargs=None, attn=None, **kwargs):
        super(CIFARWideBlock, self).__init__(channels, stride, downsample, drop_rate, in_channels,
                                             norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                                             **kwargs)
        self._init_attention(attn, channels, channels, wrn_map_cols(channels), norm_layer,
                             norm_kwargs)

    preactivation = True

    def branches(self, F, x, x_hat):
        x, residual = self.preact(F, x)
        x = self.conv1(x)
        x = F.Activation(self.bn2(x), act_type='relu')
        if self.droprate > 0:
            x = F.Dropout(x, self.droprate)
        x = self.conv2(x)
        return x, residual, None if self.downsample else x_hat


# Nets
class WideResNet(ChainedStages, CIFARWideResNet):
    """GluonCV's ``CIFARWideResNet`` whose stages hand the identity squeeze on
    (:class:`~ini_gluon.models.residual.SqueezeChain`)."""


# Specification
def wrn_spec(depth, width):
    """``(layers, channels)`` of WRN-depth-width: ``n = (depth - 4) / 6`` blocks per stage."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError('WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 40, ...), not %d'
                         % depth)
    if width < 1:
        raise ValueError('WRN widening factor must be >= 1, not %d' % width)
    n = (depth - 4) // 6
    return [n] * 3, [16, 16 * width, 32 * width, 64 * width]


def wrn_blocks(depth, width):
    """The :class:`~ini_gluon.models.residual.BlockShape` of every block of WRN-depth-width."""
    layers, channels = wrn_spec(depth, width)
    return [BlockShape('stage%d.%d' % (i + 1, j), c, c, wrn_map_cols(c))
            for i, (n, c) in enumerate(zip(layers, channels[1:])) for j in range(n)]


# Constructor
@register_backbone('wrn{depth}_{width}', blocks=wrn_blocks, family='wrn',
                   listed=['wrn16_4', 'wrn16_8', 'wrn22_10', 'wrn28_10', 'wrn40_4'],
                   aliases=['cifar_wideresnet{depth}_{width}'],
                   describe='Wide ResNet WRN-depth-k for CIFAR, depth 6n+4 (n >= 1), any '
                            'widening factor k >= 1: wrn16_8, wrn28_10, wrn40_4')
def cifar_wrn(depth, width, attn=None, classes=10, drop_rate=0.0, norm_layer=BatchNorm,
              norm_kwargs=None, **kwargs):
    r"""WRN-depth-width for CIFAR with the attention ``attn`` in every block.

    Parameters
    ----------
    depth : int
        ``6n + 4``.
    width : int
        Widening factor ``k``.
    attn : AttnSpec, str or None
        Attention of every block (see :func:`ini_gluon.layers.create_attn`).
    classes : int, default 10
    drop_rate : float, default 0
        Dropout between the two convolutions of a block.
    norm_layer, norm_kwargs
        Normalisation layer of the backbone and of the G-filters.
    """
    layers, channels = wrn_spec(depth, width)
    block = partial(CIFARWideBlock, attn=parse_attn(attn))
    return WideResNet(block, layers, channels, drop_rate, classes=classes, norm_layer=norm_layer,
                      norm_kwargs=norm_kwargs, **kwargs)
