"""The ablation networks of the SINet paper (Section 4.2, Tables 3 and 4): MobileNet,
MobileNetV2, ResNet-34 and SENet with G groups, with or without the Exchange Shortcut
Connection (eq. 1), with or without the Attention based Hierarchical Joint Decision (eq. 2-4).

Names: ``<net>_g<G>[_ex][_hjd]`` -- ``mobilenet1_0_g2_ex``, ``mobilenetv2_1_0_g1_hjd``,
``resnet34_v1_g2_ex_hjd``, ``se_resnet18_v1_g2_ex``: ``_g1`` is row A of Table 3 (the original
network), ``_g2`` row B, ``_g2_ex`` row C; ``_hjd`` is Table 4's "Attention = Yes".  The names
are the ImageNet networks (224 x 224, where the paper counts parameters and FLOPs); the
``cifar_`` names are the same networks for the 32 x 32 CIFAR-100 ablations, with the strides
changed so that the last maps are not 1 x 1 (below).

Readings, where the paper does not say:

* **SENet is SE-ResNet-18** (v1): Table 3's 11.79M parameters and 1730M FLOPs are
  SE-ResNet-18's (ResNet-18: 11.69M, 1.8G); SE is this project's (t = 16, after the last
  BatchNorm, as GluonCV's ``se_resnet18_v1``).
* **What G groups.**  The 1x1 convolutions of MobileNet and MobileNetV2 (their depthwise ones
  are grouped already) and both 3x3 convolutions of every ResNet basic block, all in G groups:
  a name whose G does not divide those widths is refused.  Stems, projection shortcuts,
  MobileNetV2's last 1x1 convolution (1280 wide) and the classifiers are not: they are not part
  of the units the exchange connects.
* **Where the exchange goes.**  It replaces every identity shortcut (eq. 1 exchanges the groups
  of the unit's input itself): those of the ResNet blocks that keep their shape and of
  MobileNetV2's stride-1 units of unchanged width.  A down-sampling ResNet block keeps its
  projection shortcut: the projection is an ungrouped 1x1 convolution, so exchanging its output
  would only reorder its weights.  MobileNet has no
  shortcuts: ``_ex`` adds the exchanged shortcut ``y = unit(x) + exchange(x)`` to each of its
  stride-1 units of unchanged width (8 of 13), after the unit's ReLU; no parameters, as Table 3
  (rows B and C have the same counts).  G must divide every width it groups (the name is
  refused otherwise).
* **Which features the joint decision takes**: the output of each resolution -- MobileNet 64,
  128, 256, 512, 1024 channels (at 112^2 .. 7^2), MobileNetV2 16, 24, 32, 96 and its last
  1280-wide map, ResNet the four stages; the classifier takes their weighted concatenation.
* **CIFAR strides** (``cifar_``): MobileNet's stem has stride 1 (last maps 2 x 2); MobileNetV2's
  stem and its first 24-wide unit have stride 1 (last maps 4 x 4); ResNet is GluonCV's
  ``thumbnail`` ResNetV1 (a 3x3 stride-1 stem, no max pooling; last maps 4 x 4).

GluonCV's MobileNet and MobileNetV2 build their layers inline (module-level helpers, no block
argument), so they are written here on GluonCV's own ``_add_conv`` with GluonCV's layer tables:
the ``_g1`` networks have GluonCV's parameters in GluonCV's order (a test loads
``mobilenet1.0``'s and ``mobilenetv2_1.0``'s into them and compares outputs).  The ResNets are
GluonCV's ``ResNetV1`` with the grouped block injected.
"""
from functools import partial

from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm
from gluoncv.model_zoo.mobilenet import _add_conv
from gluoncv.model_zoo.resnet import ResNetV1, resnet_spec

from ..layers.sinet import exchange
from .cifar_resnet import RESNET_MAP_COLS
from .imagenet_resnet import _V1
from .families import register_backbone
from .residual import BlockShape, ChainedStages
from .sinet import JointDecision, width_multiplier

__all__ = ['SeparableUnit', 'InvertedResidualUnit', 'GroupedBasicBlockV1', 'AblationMobileNet',
           'AblationMobileNetV2', 'AblationResNetV1']


def check_interaction(groups, exchange_flag, widths=()):
    """Raise ``ValueError`` for a G below 1, an exchange without groups, or a G that does not
    divide every width a network groups (``widths``)."""
    if groups < 1:
        raise ValueError('G must be at least 1, not %d' % groups)
    if exchange_flag and groups == 1:
        raise ValueError('the exchange shortcut needs G >= 2 groups (_g2_ex); _g1 has one group')
    odd = sorted({w for w in widths if w % groups})
    if odd:
        raise ValueError('G = %d does not divide the widths %s of the convolutions it groups'
                         % (groups, ', '.join(map(str, odd))))


# Blocks
class _Unit(HybridBlock):
    """What the ablation units share: ``y = H(x) + shortcut``, the shortcut exchanged (eq. 1)
    where ``exchange``."""

    def _init_unit(self, in_channels, channels, stride, groups, exchange_flag, shortcut):
        self.in_channels, self.out_channels, self.stride = in_channels, channels, stride
        self.groups, self.shortcut = groups, shortcut
        self.exchange = bool(exchange_flag and shortcut and groups > 1)

    _body = 'body'

    def hybrid_forward(self, F, x):
        y = getattr(self, self._body)(x)
        if not self.shortcut:
            return y
        return y + (exchange(F, x, self.groups) if self.exchange else x)    # eq. 1


class SeparableUnit(_Unit):
    """MobileNet's depthwise separable convolution (GluonCV's ``_add_conv_dw``: 3x3 depthwise,
    1x1 of G groups, each with BN and ReLU); with ``exchange`` and an unchanged shape,
    ``unit(x) + exchange(x)`` (MobileNet has no shortcut otherwise)."""

    def __init__(self, in_channels, channels, stride, groups=1, exchange_flag=False,
                 norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(SeparableUnit, self).__init__(**kwargs)
        shape_kept = stride == 1 and in_channels == channels
        self._init_unit(in_channels, channels, stride, groups, exchange_flag,
                        shortcut=bool(exchange_flag and groups > 1 and shape_kept))
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix='')
            _add_conv(self.body, channels=in_channels, kernel=3, stride=stride, pad=1,
                      num_group=in_channels, **norm)
            _add_conv(self.body, channels=channels, num_group=groups, **norm)


class InvertedResidualUnit(_Unit):
    """MobileNetV2's linear bottleneck (GluonCV's ``LinearBottleneck``: 1x1 expansion, 3x3
    depthwise, 1x1 projection, BN and ReLU6 but after the projection) with its 1x1 convolutions
    in G groups, and its shortcut exchanged where ``exchange``."""
    _body = 'out'                     # GluonCV's name, so that its parameters' names fit

    def __init__(self, in_channels, channels, t, stride, groups=1, exchange_flag=False,
                 norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(InvertedResidualUnit, self).__init__(**kwargs)
        self._init_unit(in_channels, channels, stride, groups, exchange_flag,
                        shortcut=stride == 1 and in_channels == channels)
        hidden = in_channels * t
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.out = nn.HybridSequential()
            if t != 1:
                _add_conv(self.out, hidden, num_group=groups, relu6=True, **norm)
            _add_conv(self.out, hidden, kernel=3, stride=stride, pad=1, num_group=hidden,
                      relu6=True, **norm)
            _add_conv(self.out, channels, num_group=groups, active=False, relu6=True, **norm)


class GroupedBasicBlockV1(_V1, HybridBlock):
    """GluonCV's ``BasicBlockV1`` (3x3 - BN - ReLU - 3x3 - BN, projection shortcut where the
    shape changes) with both 3x3 convolutions in G groups, the shortcut exchanged where
    ``exchange`` (eq. 1), and the project's attention layer after the last BatchNorm (SENet).
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0, groups=1,
                 exchange_flag=False, last_gamma=False, use_se=False, norm_layer=BatchNorm,
                 norm_kwargs=None, attn=None, **kwargs):
        norm = norm_kwargs or {}
        self.in_channels, self.stride = in_channels, stride
        self.groups = groups
        self.shortcut = True
        # an identity shortcut only: a projection's output exchanged is its weights reordered
        self.exchange = bool(exchange_flag and groups > 1 and not downsample)
        HybridBlock.__init__(self, **kwargs)
        self.body = nn.HybridSequential(prefix='')
        self.body.add(nn.Conv2D(channels, 3, stride, 1, groups=groups, use_bias=False,
                                in_channels=in_channels))
        self.body.add(norm_layer(**norm))
        self.body.add(nn.Activation('relu'))
        self.body.add(nn.Conv2D(channels, 3, 1, 1, groups=groups, use_bias=False,
                                in_channels=channels))
        self.body.add(norm_layer(gamma_initializer='zeros', **norm) if last_gamma else
                      norm_layer(**norm))
        if downsample:
            self.downsample = nn.HybridSequential(prefix='')
            self.downsample.add(nn.Conv2D(channels, kernel_size=1, strides=stride,
                                          use_bias=False, in_channels=in_channels))
            self.downsample.add(norm_layer(**norm))
        else:
            self.downsample = None
        self._init_attention(attn, channels, channels, RESNET_MAP_COLS, norm_layer, norm_kwargs)

    def branches(self, F, x, x_hat):
        identity = self.downsample(x) if self.downsample else x
        if self.exchange:
            identity = exchange(F, identity, self.groups)                    # eq. 1
        return self.body(x), identity, None


# Nets
MOBILENET_DW = [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]        # GluonCV's tables
MOBILENET_OUT = [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2
MOBILENET_STRIDES = [1, 2] * 3 + [1] * 5 + [2, 1]
MOBILENETV2_IN = [32, 16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3
MOBILENETV2_OUT = [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]
MOBILENETV2_T = [1] + [6] * 16
MOBILENETV2_STRIDES = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3


def mobilenet_widths(multiplier):
    """``(depthwise widths, output widths)`` of MobileNet's 13 units at ``multiplier``
    (GluonCV's rounding)."""
    return ([int(c * multiplier) for c in MOBILENET_DW],
            [int(c * multiplier) for c in MOBILENET_OUT])


def mobilenetv2_widths(multiplier):
    """``(input widths, output widths, last width)`` of MobileNetV2's 17 units and its last 1x1
    convolution at ``multiplier`` (GluonCV's rounding)."""
    return ([int(c * multiplier) for c in MOBILENETV2_IN],
            [int(c * multiplier) for c in MOBILENETV2_OUT],
            int(1280 * multiplier) if multiplier > 1.0 else 1280)


def _last_of_each_size(strides, offset):
    """The indices (``+ offset``) of the last unit before each stride-2 unit, and of the
    last."""
    return [i + offset for i in range(len(strides)) if i + 1 == len(strides) or
            strides[i + 1] == 2]


class AblationMobileNet(JointDecision, HybridBlock):
    """MobileNet (Howard et al. 2017; GluonCV's layer table) with G groups, exchange and the
    joint decision.

    Parameters
    ----------
    multiplier : float
    classes : int
    groups : int
    exchange_flag, joint_decision : bool
    cifar : bool
        Stride 1 in the stem (32 x 32 inputs).
    norm_layer, norm_kwargs
    """

    def __init__(self, multiplier=1.0, classes=1000, groups=1, exchange_flag=False,
                 joint_decision=False, cifar=False, norm_layer=BatchNorm, norm_kwargs=None,
                 **kwargs):
        super(AblationMobileNet, self).__init__(**kwargs)
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        dws, outs = mobilenet_widths(multiplier)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            with self.features.name_scope():
                _add_conv(self.features, channels=dws[0], kernel=3, pad=1,
                          stride=1 if cifar else 2, **norm)
                stem = len(self.features)
                for dwc, c, s in zip(dws, outs, MOBILENET_STRIDES):
                    self.features.add(SeparableUnit(dwc, c, s, groups, exchange_flag, **norm))
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            points = _last_of_each_size(MOBILENET_STRIDES, stem)
            widths = [outs[p - stem] for p in points]
            self.output = nn.Dense(classes, in_units=sum(widths) if joint_decision else
                                   outs[-1])
        if joint_decision:
            self._init_decision(points, widths)


class AblationMobileNetV2(JointDecision, HybridBlock):
    """MobileNetV2 (Sandler et al. 2018; GluonCV's layer table) with G groups, exchange and the
    joint decision (parameters as :class:`AblationMobileNet`; ``cifar``: stride 1 in the stem and
    in the first 24-wide unit)."""

    def __init__(self, multiplier=1.0, classes=1000, groups=1, exchange_flag=False,
                 joint_decision=False, cifar=False, norm_layer=BatchNorm, norm_kwargs=None,
                 **kwargs):
        super(AblationMobileNetV2, self).__init__(**kwargs)
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        ins, outs, last = mobilenetv2_widths(multiplier)
        strides = list(MOBILENETV2_STRIDES)
        if cifar:
            strides[1] = 1
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            with self.features.name_scope():
                _add_conv(self.features, ins[0], kernel=3, stride=1 if cifar else 2, pad=1,
                          relu6=True, **norm)
                stem = len(self.features)
                for in_c, c, t, s in zip(ins, outs, MOBILENETV2_T, strides):
                    self.features.add(InvertedResidualUnit(in_c, c, t, s, groups, exchange_flag,
                                                           **norm))
                _add_conv(self.features, last, relu6=True, **norm)
                self.features.add(nn.GlobalAvgPool2D())
            # the last unit of each size but the 7^2 one, whose 320 channels the 1280-wide
            # convolution takes on; that one's output (after its ReLU6) is the last point
            points = _last_of_each_size(MOBILENETV2_STRIDES, stem)[:-1] + \
                [len(self.features) - 2]
            widths = [outs[p - stem] for p in points[:-1]] + [last]
            self.output = nn.HybridSequential(prefix='output_')
            with self.output.name_scope():
                if joint_decision:
                    # no bias, as GluonCV's 1x1 classifier convolution
                    self.output.add(nn.Dense(classes, in_units=sum(widths), use_bias=False,
                                             prefix='pred_'))
                else:
                    self.output.add(nn.Conv2D(classes, 1, use_bias=False, prefix='pred_'),
                                    nn.Flatten())
        if joint_decision:
            self._init_decision(points, widths)


class AblationResNetV1(JointDecision, ChainedStages, ResNetV1):
    """GluonCV's ``ResNetV1`` with :class:`GroupedBasicBlockV1` injected and the joint decision
    over its four stages (``thumbnail``: GluonCV's 32 x 32 stem)."""

    def __init__(self, block, layers, channels, classes=1000, joint_decision=False, **kwargs):
        super(AblationResNetV1, self).__init__(block, layers, channels, classes=classes,
                                               **kwargs)
        if joint_decision:
            with self.name_scope():
                self.output = nn.Dense(classes, in_units=sum(channels[1:]), prefix='hjd_dense_')
            first = len(self.features) - 1 - len(layers)
            self._init_decision(range(first, first + len(layers)), channels[1:])


# Constructor
def grouped_widths(net, multiplier):
    """The widths of the convolutions ``net`` groups at ``multiplier`` (G must divide them):
    MobileNet's pointwise inputs and outputs, MobileNetV2's unit inputs, expansions and
    outputs."""
    if net is AblationMobileNet:
        dws, outs = mobilenet_widths(multiplier)
        return dws + outs
    ins, outs, _ = mobilenetv2_widths(multiplier)
    return ins + outs + [c * t for c, t in zip(ins, MOBILENETV2_T)]


def _mobilenet_blocks(net, prefix):
    def blocks(whole, tenths, groups, exchange, hjd):
        multiplier = width_multiplier(whole, tenths, prefix + '<whole>_<tenths>')
        check_interaction(groups, exchange, grouped_widths(net, multiplier))
        return []
    return blocks


def _resnet_blocks(depth, groups, exchange, hjd):
    if depth not in resnet_spec or resnet_spec[depth][0] != 'basic_block':
        raise ValueError('the ablation ResNets are built on basic blocks: depth 18 or 34, not %d'
                         % depth)
    _, layers, channels = resnet_spec[depth]
    check_interaction(groups, exchange, channels)
    return [BlockShape('stage%d.%d' % (i + 1, j), c, c, RESNET_MAP_COLS)
            for i, (n, c) in enumerate(zip(layers, channels[1:])) for j in range(n)]


_FLAGS = '_g{groups}{exchange:_ex}{hjd:_hjd}'
_VARIANTS = ['_g1', '_g2', '_g2_ex', '_g1_hjd', '_g2_hjd', '_g2_ex_hjd']
_DESCRIBE = ('%s for the SINet ablations (Tables 3, 4; %s): G groups, _ex exchanged shortcuts, '
             '_hjd the joint decision')


def _register_mobilenet(prefix, net, cifar, size):
    template = prefix + '{whole}_{tenths}' + _FLAGS
    head = prefix + '1_0'

    def build(whole, tenths, groups, exchange, hjd, attn=None, classes=1000, norm_layer=BatchNorm,
              norm_kwargs=None):
        return net(width_multiplier(whole, tenths), classes=classes, groups=groups,
                   exchange_flag=bool(exchange), joint_decision=bool(hjd), cifar=cifar,
                   norm_layer=norm_layer, norm_kwargs=norm_kwargs)
    build.__name__ = prefix.rstrip('_') + '_ablation'
    build.__doc__ = '%s%s for the SINet ablations (see the module).' % (
        'CIFAR ' if cifar else '', net.__name__[len('Ablation'):])
    return register_backbone(template, blocks=_mobilenet_blocks(net, prefix), family='mobilenet',
                             listed=[head + v for v in _VARIANTS], paper='sinet', attentions=(),
                             input_shape=(1, 3, size, size),
                             describe=_DESCRIBE % (net.__name__[len('Ablation'):],
                                                   '%d x %d' % (size, size)))(build)


def _register_resnet(prefix, thumbnail, size):
    def build(depth, groups, exchange, hjd, attn=None, classes=1000, norm_layer=BatchNorm,
              norm_kwargs=None):
        _, layers, channels = resnet_spec[depth]
        block = partial(GroupedBasicBlockV1, groups=groups, exchange_flag=bool(exchange),
                        attn=attn)
        return AblationResNetV1(block, layers, channels, classes=classes,
                                joint_decision=bool(hjd), thumbnail=thumbnail,
                                norm_layer=norm_layer, norm_kwargs=norm_kwargs)
    build.__name__ = prefix + 'resnet_ablation'
    build.__doc__ = '%sResNet v1 (and SE-ResNet) for the SINet ablations (see the module).' % (
        'CIFAR ' if thumbnail else '')
    return register_backbone(prefix + 'resnet{depth}_v1' + _FLAGS, blocks=_resnet_blocks,
                             family='resnet', paper='sinet', attentions=('se',),
                             listed=[prefix + 'resnet34_v1' + v for v in _VARIANTS] +
                             [prefix + 'resnet18_v1' + v for v in _VARIANTS],
                             input_shape=(1, 3, size, size),
                             describe=_DESCRIBE % ('ResNet v1, depth 18 or 34, also with se_',
                                                   '%d x %d' % (size, size)))(build)


# the build functions are registered by name (the registry's key): one per family and size
mobilenet_ablation = _register_mobilenet('mobilenet', AblationMobileNet, False, 224)
cifar_mobilenet_ablation = _register_mobilenet('cifar_mobilenet', AblationMobileNet, True, 32)
mobilenetv2_ablation = _register_mobilenet('mobilenetv2_', AblationMobileNetV2, False, 224)
cifar_mobilenetv2_ablation = _register_mobilenet('cifar_mobilenetv2_', AblationMobileNetV2, True,
                                                 32)
resnet_ablation = _register_resnet('', False, 224)
cifar_resnet_ablation = _register_resnet('cifar_', True, 32)
