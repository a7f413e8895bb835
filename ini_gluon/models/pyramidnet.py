"""PyramidNet (bottleneck) for CIFAR with channel attention (SE, CMPE-SE, CBAM, Inner-Imaging).

Han, Kim & Kim, "Deep Pyramidal Residual Networks", CVPR 2017: depth ``9n + 2`` with ``n``
bottleneck blocks per stage; the bottleneck width grows by ``α / 3n`` in every block (not per
stage), from 16 to ``16 + α``, rounded as the authors' code rounds its running width; blocks
``BN-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN`` (no ReLU after the addition nor before the
first convolution); the shortcut is the identity, average-pooled 2x2 where the block strides,
and zero-padded with the new channels.  GluonCV has no PyramidNet, so the net is written here.

Attention per Hu et al., "Inner-Imaging Networks" (Section V-B, Table IV): one module after the
last BatchNorm of every block, jointly modelling the identity (eq. 24) with 16 map columns.  The
identity signal of a zero-padded channel is zero.  The map's columns are the divisor of ``C``
closest to 16 (the larger on a tie): widths that 16 does not divide get another column count,
which the model summary shows block by block (``C = 72``: 8 x 18).
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..layers.create_attn import BlockShape, parse_attn
from .families import register_backbone
from .residual import AttentionResidual, SqueezeChain

__all__ = ['PyramidBottleneck', 'PyramidNet', 'pyramidnet', 'pyramid_widths']

MAP_COLS = 16
EXPANSION = 4


def _norm(norm_layer, norm_kwargs, channels):
    return norm_layer(in_channels=channels, **({} if norm_kwargs is None else norm_kwargs))


# Blocks
class PyramidBottleneck(AttentionResidual, HybridBlock):
    r"""PyramidNet's bottleneck with an attention layer after its last BatchNorm:
    ``y = pad(X) + s o U`` (InI eq. 27), ``pad`` adding ``C - C_in`` zero channels.

    Parameters
    ----------
    planes : int
        Bottleneck width; the output has ``4 * planes`` channels and ε = planes // t.
    stride : int
        1, or 2 where the stage starts (the shortcut is then average-pooled).
    in_channels : int
    attn : AttnSpec or None
    norm_layer, norm_kwargs
    """
    preactivation = True

    def __init__(self, planes, stride, in_channels, attn=None, norm_layer=BatchNorm,
                 norm_kwargs=None, **kwargs):
        super(PyramidBottleneck, self).__init__(**kwargs)
        channels = planes * EXPANSION
        self._in_channels = in_channels
        self._padded = channels - in_channels
        with self.name_scope():
            self.body = nn.HybridSequential(prefix='')
            self.body.add(_norm(norm_layer, norm_kwargs, in_channels),
                          nn.Conv2D(planes, 1, use_bias=False, in_channels=in_channels),
                          _norm(norm_layer, norm_kwargs, planes), nn.Activation('relu'),
                          nn.Conv2D(planes, 3, stride, 1, use_bias=False, in_channels=planes),
                          _norm(norm_layer, norm_kwargs, planes), nn.Activation('relu'),
                          nn.Conv2D(channels, 1, use_bias=False, in_channels=planes),
                          _norm(norm_layer, norm_kwargs, channels))
            self.downsample = nn.AvgPool2D(2, 2, ceil_mode=True) if stride != 1 else None
        self._init_attention(attn, channels, planes, MAP_COLS, norm_layer, norm_kwargs)

    def branches(self, F, x, x_hat):
        u = self.body(x)
        identity = self.downsample(x) if self.downsample else x
        x_hat = None if self.downsample else x_hat
        if self._padded > 0:
            # (N, C - C_in, H, W) zeros, and their squeeze from one pixel of them
            zeros = F.zeros_like(F.slice_axis(u, axis=1, begin=self._in_channels, end=None))
            identity = F.concat(identity, zeros, dim=1)
            if x_hat is not None:
                zero_hat = F.slice(zeros, begin=(None, None, 0, 0), end=(None, None, 1, 1))
                x_hat = F.concat(x_hat, zero_hat, dim=1)
        return u, identity, x_hat


# Nets
class PyramidNet(HybridBlock):
    r"""PyramidNet with bottlenecks: ``conv3x3(16)-BN``, three stages of
    :class:`PyramidBottleneck` (each a :class:`~ini_gluon.models.residual.SqueezeChain`),
    ``BN-ReLU``, global average pooling and the classifier.

    Parameters
    ----------
    widths : list of list of int
        Bottleneck width of every block, per stage (:func:`pyramid_widths`).
    attn : AttnSpec, str or None
    classes : int, default 10
    norm_layer, norm_kwargs
    """

    def __init__(self, widths, attn=None, classes=10, norm_layer=BatchNorm, norm_kwargs=None,
                 **kwargs):
        super(PyramidNet, self).__init__(**kwargs)
        attn = parse_attn(attn)
        in_channels = 16
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            self.features.add(nn.Conv2D(in_channels, 3, 1, 1, use_bias=False, in_channels=3),
                              _norm(norm_layer, norm_kwargs, in_channels))
            for i, stage_widths in enumerate(widths):
                stage = SqueezeChain(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    for j, planes in enumerate(stage_widths):
                        stage.add(PyramidBottleneck(planes, 2 if i and not j else 1, in_channels,
                                                    attn, norm_layer, norm_kwargs))
                        in_channels = planes * EXPANSION
                self.features.add(stage)
            self.features.add(_norm(norm_layer, norm_kwargs, in_channels), nn.Activation('relu'),
                              nn.GlobalAvgPool2D(), nn.Flatten())
            self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# Specification
def pyramid_widths(depth, alpha):
    """The bottleneck width of every block, per stage, of PyramidNet-depth with widening
    ``alpha``: the running width starts at 16 and grows by ``alpha / 3n`` per block, each block
    taking it rounded (as the authors' code: the running sum, Python's ``round``)."""
    if depth < 11 or (depth - 2) % 9:
        raise ValueError('PyramidNet depth must be 9n+2 with n >= 1 (bottlenecks: 110, 164, 272, '
                         '...), not %d' % depth)
    if alpha < 1:
        raise ValueError('PyramidNet widening factor alpha must be >= 1, not %d' % alpha)
    n = (depth - 2) // 9
    step, width, widths = alpha / (3.0 * n), 16.0, []
    for _ in range(3):
        stage = []
        for _ in range(n):
            width += step
            stage.append(int(round(width)))
        widths.append(stage)
    return widths


def pyramid_blocks(depth, alpha):
    """The :class:`~ini_gluon.layers.create_attn.BlockShape` of every block."""
    return [BlockShape('stage%d.%d' % (i + 1, j), p * EXPANSION, p, MAP_COLS)
            for i, stage in enumerate(pyramid_widths(depth, alpha)) for j, p in enumerate(stage)]


# Constructor
@register_backbone(('pyramidnet{depth}', 'pyramidnet{depth}_a{alpha}'), blocks=pyramid_blocks,
                   family='pyramidnet', listed=['pyramidnet272'], defaults={'alpha': 200},
                   describe='bottleneck PyramidNet for CIFAR, depth 9n+2 (n >= 1), widening '
                            'alpha = 200 unless _a<alpha> is given: pyramidnet272, '
                            'pyramidnet110_a48')
def pyramidnet(depth, alpha=200, attn=None, classes=10, norm_layer=BatchNorm, norm_kwargs=None,
               **kwargs):
    r"""PyramidNet-depth (bottleneck, widening ``alpha``) with the attention ``attn`` in every
    block; ``pyramidnet272`` is the InI paper's (α = 200, Table IV).

    Parameters
    ----------
    depth : int
        ``9n + 2``.
    alpha : int, default 200
    attn : AttnSpec, str or None
    classes : int, default 10
    norm_layer, norm_kwargs
        Normalisation layer of the backbone and of the G-filters.
    """
    return PyramidNet(pyramid_widths(depth, alpha), attn, classes=classes, norm_layer=norm_layer,
                      norm_kwargs=norm_kwargs, **kwargs)
