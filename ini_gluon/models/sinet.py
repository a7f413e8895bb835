"""SINet for ImageNet (Yao et al., "Super Interaction Neural Networks", Section 3.4, Table 1).

SINet(w) is a stem convolution of 21 filters, five SI Blocks and the Attention based
Hierarchical Joint Decision on the outputs of all five, then a 1280-wide fully connected layer
and the classifier.  An SI Block is a stack of SI Units (Fig. 2, 5): a grouped inverted residual
(MobileNetV2's, Sandler et al. 2018, Section 3.4 of the paper), whose shortcut is the Exchange
Shortcut Connection (eq. 1), followed by the Dense Funnel Layer (Fig. 3).

Reading of Table 1
------------------
The text of Table 1 is partly lost.  What is legible is kept as it is: the widths
``24w`` (inferred, below), ``40w``, ``80w``, ``96w``, ``192w``; kernels 5, 5, 3, 5 of Blocks 2-5;
stride 2 in the first unit of every block (Section 3.4: "the first convolution operation of
each SI Block is always applied with stride = 2"); expansion t = 4 in Blocks 2-5; two groups;
the 21-filter stem; the 7x7 average pool to ``1 x 1 x 432w``; the 1280-wide decision layer; the
classifier.  Inferred, each from the rest of the paper:

* **Block 1: 24w channels, 3x3, t = 1, n = 1.**  The pooled vector of the joint decision is
  ``432w`` wide and Blocks 2-5 give ``(40 + 80 + 96 + 192)w = 408w``, so Block 1 gives ``24w``;
  its output is ``112^2`` (Block 2's is ``56^2`` after a stride of 2).  Kernel, t and n are
  MobileNetV2's first bottleneck (3x3, t = 1, one unit).
* **Stem stride 1.**  Every SI Block halves the resolution and Block 5 ends at ``7^2``, so the
  stem keeps ``224^2``.  Its 21 filters do not split into two groups: Block 1's first unit
  projects 21 -> 24w with an ungrouped 1x1 convolution (a convolution is grouped where both its
  widths divide by g; the summary shows each).
* **Units per block n = 1, 1, 2, 4, 5: fitted, not read.**  The legible numbers after the
  stride read as ``t = 4, n = 3`` (Block 2) and ``t = 4, n = 6`` (Blocks 3-5), but with them
  SINet(1.0) would have 3.5M parameters and 447M multiply-adds against Table 2's 3.0M and 208M
  (and ``n = 4, t = 3 / 6``, the other order, 3.4M and 433M; ``docs/fidelity.md`` computes
  both).
  Of the unit counts that keep everything above, n = (1, 2, 4, 5) for Blocks 2-5 brings all
  four widths within 5 % of Table 2's parameters and multiply-adds (``docs/fidelity.md``).
* **The funnel is grouped too** (g = 2, over the group-by-group concatenation), as every
  convolution of SINet; the first unit of a block, whose input has another width and
  resolution, has neither exchanged shortcut nor funnel (as MobileNetV2's first unit of a
  sequence has no shortcut): 5 of the 13 units, all of Blocks 1 and 2.
* **Composite function H:** Conv -> ReLU6 -> BN for the expansion and the depthwise
  convolution (Section 3.4's order), Conv -> BN for the projection (the linear bottleneck of
  MobileNetV2, which H is "based on").  The decision layer is Dense(1280) -> ReLU6.
* **Widths** ``c * w`` rounded to a multiple of 8 (MobileNetV2's rule, which keeps them even for
  the two groups); the decision layer is 1280 wide up to w = 1 and ``1280w`` above, as
  MobileNetV2's last layer.

Names: ``sinet_<whole>_<tenths>`` for w = whole.tenths (``sinet_1_0``, ``sinet_1_8``).
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm
from gluoncv.nn import ReLU6

from ..layers.sinet import DenseFunnel, ExchangeShortcut, HierarchicalJointDecision
from .families import register_backbone

__all__ = ['SIUnit', 'SIBlock', 'JointDecision', 'SINet', 'SINET_BLOCKS', 'sinet', 'divisible']

STEM_FILTERS = 21
# (channels before w, kernel, expansion t, units n) of Blocks 1-5 (Table 1; see the reading)
SINET_BLOCKS = [(24, 3, 1, 1), (40, 5, 4, 1), (80, 5, 4, 2), (96, 3, 4, 4), (192, 5, 4, 5)]
DECISION_WIDTH = 1280


def divisible(value, divisor=8):
    """``value`` rounded to a multiple of ``divisor``, never below 90 % of it (MobileNetV2's
    ``_make_divisible``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# Blocks
def composite(out, channels, in_channels, kernel=1, stride=1, groups=1, active=True,
              norm_layer=BatchNorm, norm_kwargs=None):
    """Add the composite function H's convolution to ``out``: Conv -> ReLU6 -> BN (Section 3.4),
    or Conv -> BN where not ``active``.  GluonCV's ``_add_conv`` puts BN before the activation,
    so this is written here."""
    out.add(nn.Conv2D(channels, kernel, stride, kernel // 2, groups=groups, use_bias=False,
                      in_channels=in_channels))
    if active:
        out.add(ReLU6())
    out.add(norm_layer(in_channels=channels, **(norm_kwargs or {})))


def _groups(groups, *widths):
    """``groups`` where every width divides by it, else 1 (an ungrouped convolution)."""
    return groups if all(w % groups == 0 for w in widths) else 1


class SIUnit(HybridBlock):
    """SI Unit (Fig. 2): ``y = H(x)``, exchanged (eq. 1) and funnelled (Fig. 3):
    ``DF([x, H(x) + exchange(x)])`` where the unit keeps the width and the resolution.

    Parameters
    ----------
    in_channels, channels : int
    kernel : int
        The depthwise kernel.
    stride : int
    expansion : int
        t, the inverted residual's expansion (t = 1: no expansion convolution).
    groups : int
        g of the 1x1 convolutions and of the exchange.
    exchange : bool, default True
        The exchanged shortcut (``False``: the plain shortcut ``H(x) + x``).
    funnel : bool, default True
        The dense funnel after the shortcut.
    norm_layer, norm_kwargs

    Raises
    ------
    ValueError
        For an exchanging unit whose widths ``groups`` does not divide (its H would not keep
        the groups apart, which eq. 1 needs).
    """

    def __init__(self, in_channels, channels, kernel, stride, expansion, groups, exchange=True,
                 funnel=True, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(SIUnit, self).__init__(**kwargs)
        hidden = in_channels * expansion
        self.in_channels, self.out_channels, self.stride = in_channels, channels, stride
        self.kernel, self.expansion = kernel, expansion
        self.shortcut = stride == 1 and in_channels == channels
        # the unit's 1x1 convolutions (and its funnel) in g groups, or ungrouped where a width
        # does not divide (Block 1's 21-channel input); the exchange needs them grouped
        self.groups = _groups(groups, in_channels, hidden, channels)
        if self.shortcut and exchange and self.groups != groups:
            raise ValueError('an SI unit that exchanges %d groups needs widths that %d divides, '
                             'not %d -> %d -> %d' % (groups, groups, in_channels, hidden,
                                                     channels))
        self.exchange = exchange and self.shortcut and self.groups > 1
        self.funnel = funnel and self.shortcut
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix='')
            if expansion != 1:
                composite(self.body, hidden, in_channels, groups=self.groups, **norm)
            composite(self.body, hidden, hidden, kernel, stride, groups=hidden, **norm)
            composite(self.body, channels, hidden, groups=self.groups, active=False, **norm)
            if self.shortcut:
                self.merge = ExchangeShortcut(self.groups if self.exchange else 1)
            if self.funnel:
                self.dense_funnel = DenseFunnel(channels, groups=self.groups, **norm)

    def hybrid_forward(self, F, x):
        y = self.body(x)
        if self.shortcut:
            y = self.merge(y, x)                                            # eq. 1
        if self.funnel:
            y = self.dense_funnel(x, y)                                     # Fig. 3
        return y


class SIBlock(nn.HybridSequential):
    """SI Block (Fig. 5): ``units`` SI Units, the first with stride 2 (Section 3.4)."""

    def __init__(self, in_channels, channels, kernel, expansion, units, groups=2, stride=2,
                 exchange=True, funnel=True, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(SIBlock, self).__init__(**kwargs)
        self.out_channels = channels
        with self.name_scope():
            for i in range(units):
                self.add(SIUnit(in_channels if i == 0 else channels, channels, kernel,
                                stride if i == 0 else 1, expansion, groups, exchange=exchange,
                                funnel=funnel, norm_layer=norm_layer, norm_kwargs=norm_kwargs))


class JointDecision(object):
    """Mixin of a network whose head is the hierarchical joint decision (eq. 2-4) over the
    outputs of ``self.features``' children at ``decision_points``: ``hybrid_forward`` runs the
    features up to the last of them, and ``self.output`` classifies the weighted concatenation.
    Without decision points the network is ``output(features(x))``."""
    decision_points = ()

    def _init_decision(self, points, channels):
        self.decision_points = tuple(points)
        with self.name_scope():
            self.decision = HierarchicalJointDecision(channels, prefix='decision_')

    def block_outputs(self, x):
        """The outputs of the decision points' children, in order."""
        outputs = []
        for i, child in enumerate(self.features._children.values()):
            if i > self.decision_points[-1]:
                break
            x = child(x)
            if i in self.decision_points:
                outputs.append(x)
        return outputs

    def hybrid_forward(self, F, x):
        if not self.decision_points:
            return self.output(self.features(x))
        return self.output(self.decision(*self.block_outputs(x)))


# Nets
class SINet(JointDecision, HybridBlock):
    """SINet (Table 1): stem, SI Blocks, joint decision, 1280-wide layer, classifier.

    Parameters
    ----------
    blocks : list of (channels, kernel, expansion, units)
        The SI Blocks, widths already multiplied.
    stem : int
        Filters of the stem convolution (3x3, stride 1).
    decision_width : int
    classes : int, default 1000
    groups : int, default 2
    norm_layer, norm_kwargs
    """

    def __init__(self, blocks, stem=STEM_FILTERS, decision_width=DECISION_WIDTH, classes=1000,
                 groups=2, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(SINet, self).__init__(**kwargs)
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            with self.features.name_scope():
                composite(self.features, stem, 3, kernel=3, **norm)
                in_channels = stem
                for channels, kernel, expansion, units in blocks:
                    self.features.add(SIBlock(in_channels, channels, kernel, expansion, units,
                                              groups, **norm))
                    in_channels = channels
            self.output = nn.HybridSequential(prefix='output_')
            with self.output.name_scope():
                self.output.add(nn.Dense(decision_width, in_units=sum(b[0] for b in blocks)),
                                ReLU6(), nn.Dense(classes, in_units=decision_width))
        first = len(self.features) - len(blocks)
        self._init_decision(range(first, len(self.features)), [b[0] for b in blocks])


# Constructor
def width_multiplier(whole, tenths, name='sinet_<whole>_<tenths>'):
    """``whole.tenths``; ``name`` (the family's template) for the errors."""
    if tenths > 9:
        raise ValueError('%s: tenths is one digit, 0 to 9, not %d' % (name, tenths))
    if whole == 0 and tenths == 0:
        raise ValueError('%s: the width multiplier must be above 0 (1_0: w = 1.0)' % name)
    return whole + tenths / 10.0


def sinet_widths(w):
    """``[(channels, kernel, t, n)]`` of the five SI Blocks and the decision width at ``w``."""
    blocks = [(divisible(c * w), k, t, n) for c, k, t, n in SINET_BLOCKS]
    return blocks, divisible(DECISION_WIDTH * w) if w > 1 else DECISION_WIDTH


def sinet_blocks(whole, tenths):
    """No attention blocks (SINet's interaction is its own); checks the width."""
    width_multiplier(whole, tenths)
    return []


@register_backbone('sinet_{whole}_{tenths}', blocks=sinet_blocks, family='sinet',
                   listed=['sinet_1_0', 'sinet_1_2', 'sinet_1_6', 'sinet_1_8'],
                   input_shape=(1, 3, 224, 224), paper='sinet', attentions=(),
                   describe='SINet(w) for ImageNet (SINet paper, Table 1), w = <whole>.<tenths>')
def sinet(whole, tenths, attn=None, classes=1000, norm_layer=BatchNorm, norm_kwargs=None):
    """SINet(w), w = ``whole + tenths / 10`` (``sinet_1_0`` .. ``sinet_1_8`` of Table 2), with
    the paper's two groups (other g: :class:`SINet` itself, whose name is then not a registered
    one).

    Parameters
    ----------
    whole, tenths : int
    attn : None
        SINet takes no channel attention.
    classes : int, default 1000
    norm_layer, norm_kwargs
    """
    blocks, decision_width = sinet_widths(width_multiplier(whole, tenths))
    return SINet(blocks, decision_width=decision_width, classes=classes, norm_layer=norm_layer,
                 norm_kwargs=norm_kwargs)
