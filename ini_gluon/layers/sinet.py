"""The layers of SINet (Yao et al., "Super Interaction Neural Networks", Section 3): the
Exchange Shortcut Connection (eq. 1, Fig. 2), the Dense Funnel Layer (Fig. 3) and the
Attention based Hierarchical Joint Decision (eq. 2-4, Fig. 4).

They are not channel attentions of a residual block (:mod:`ini_gluon.layers.create_attn`): the
exchange replaces a unit's shortcut, the funnel follows a unit, and the joint decision is a
network's head; :mod:`ini_gluon.models.sinet` and :mod:`ini_gluon.models.sinet_ablation` build
them in.
"""
import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm

__all__ = ['exchange', 'ExchangeShortcut', 'DenseFunnel', 'HierarchicalJointDecision']


def exchange(F, x, groups):
    """The exchanged shortcut of eq. 1: ``x`` split into ``groups`` channel groups, group ``i``
    of the result being group ``(i + 1) mod g`` of ``x``.

    For g = 2 this is eq. 1 itself (``X_l^1 = H(X_{l-1}^1) + X_{l-1}^2`` and the other way
    round); for more groups the paper gives no order: the cyclic shift is the reading chosen
    here, so that every group receives another group's input (a reversal would leave the middle
    group of an odd g with its own).  ``groups == 1`` returns ``x`` (the plain shortcut).
    """
    if groups == 1:
        return x
    parts = F.split(x, num_outputs=groups, axis=1)
    return F.concat(*[parts[(i + 1) % groups] for i in range(groups)], dim=1)


class ExchangeShortcut(nn.HybridBlock):
    """Exchange Shortcut Connection (eq. 1): ``block(h, x) = h + exchange(x)``, where ``h`` is the
    output of a grouped composite function H of ``x`` (its group ``i`` computed from group ``i``
    of ``x`` alone).  No parameters, no multiplications (Section 3.1).

    Parameters
    ----------
    groups : int
        The number of groups g (the paper's SINet: 2).
    """

    def __init__(self, groups=2, **kwargs):
        super(ExchangeShortcut, self).__init__(**kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError('groups must be a positive integer, not %r' % (groups,))
        self.groups = groups

    def hybrid_forward(self, F, h, x):
        return h + exchange(F, x, self.groups)                              # eq. 1


def interleave(F, x, y, groups):
    """``[x^1, y^1, ..., x^g, y^g]``: the concatenation of ``x`` and ``y`` group by group, so that
    a convolution of ``groups`` groups sees group ``i`` of both."""
    if groups == 1:
        return F.concat(x, y, dim=1)
    xs = F.split(x, num_outputs=groups, axis=1)
    ys = F.split(y, num_outputs=groups, axis=1)
    return F.concat(*[t for pair in zip(xs, ys) for t in pair], dim=1)


class DenseFunnel(nn.HybridBlock):
    """Dense Funnel Layer (Section 3.2, Fig. 3): the input I and the output II of a unit
    concatenated, and a 1x1 convolution (then BatchNorm) back to the output width: III.

    ``groups`` > 1 makes the convolution grouped, as every convolution of SINet (Section 3.1:
    "all convolution operations of SINet are divided into multiple groups"); the concatenation
    is then taken group by group (:func:`interleave`), so that group ``i`` of III mixes group
    ``i`` of I and of II.  Across groups, information then flows through the exchanged
    shortcuts only.

    Parameters
    ----------
    channels : int
        The output width (that of I and II).
    groups : int, default 1
    norm_layer, norm_kwargs
        The normalisation after the convolution.
    """

    def __init__(self, channels, groups=1, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(DenseFunnel, self).__init__(**kwargs)
        if channels % groups:
            raise ValueError('a dense funnel of %d groups needs a width that %d divides, not %d'
                             % (groups, groups, channels))
        self.channels, self.groups = channels, groups
        with self.name_scope():
            self.conv = nn.Conv2D(channels, 1, groups=groups, use_bias=False,
                                  in_channels=2 * channels)
            self.bn = norm_layer(in_channels=channels, **(norm_kwargs or {}))

    def hybrid_forward(self, F, x, y):
        return self.bn(self.conv(interleave(F, x, y, self.groups)))


class HierarchicalJointDecision(nn.HybridBlock):
    r"""Attention based Hierarchical Joint Decision (Section 3.3, eq. 2-4) up to the classifier:
    ``[alpha_1 Z_1, ..., alpha_K Z_K]``.

    Each block's output ``X_k`` is pooled over H x W (eq. 2), ``Z_k``; its attention weight is
    ``alpha_k = sigmoid((Z_k W_1) W_2)`` (eq. 3: two fully connected layers, no activation
    between them, a scalar per block and image); the weighted vectors are concatenated, and the
    network's classifier (eq. 4: ``softmax(W_cls [...])``; the softmax is in the loss) follows.

    Parameters
    ----------
    channels : list of int
        ``c_k`` of every block, in order.
    hidden : callable, default ``lambda c: max(1, c // 16)``
        ``d``, the width of the hidden layer of block ``k``'s attention.  The paper does not give
        it; C/16 is the SE reduction this project uses for every other attention.

    ``block(*features)`` takes the K block outputs; :meth:`weights` returns the ``alpha_k``.
    """

    def __init__(self, channels, hidden=None, **kwargs):
        super(HierarchicalJointDecision, self).__init__(**kwargs)
        hidden = hidden or (lambda c: max(1, c // 16))
        self.channels = tuple(int(c) for c in channels)
        self.hidden = tuple(hidden(c) for c in self.channels)
        with self.name_scope():
            self.pool = nn.GlobalAvgPool2D()
            self.attention = nn.HybridSequential(prefix='')
            for k, (c, d) in enumerate(zip(self.channels, self.hidden)):
                fc = nn.HybridSequential(prefix='block%d_' % (k + 1))
                with fc.name_scope():
                    fc.add(nn.Dense(d, use_bias=False, in_units=c),            # W_1
                           nn.Dense(1, use_bias=False, in_units=d))            # W_2
                self.attention.add(fc)

    @property
    def out_channels(self):
        return sum(self.channels)

    def pooled(self, F, features):
        """``[Z_k]``, each ``(N, c_k)`` (eq. 2)."""
        return [F.flatten(self.pool(x)) for x in features]

    def weights_of(self, F, pooled):
        """``[alpha_k]``, each ``(N, 1)`` (eq. 3)."""
        return [F.sigmoid(fc(z)) for fc, z in zip(self.attention, pooled)]

    def weights(self, *features):
        """The attention weights ``alpha_k`` of the block outputs ``features``, NDArrays
        ``(N, 1)``."""
        return self.weights_of(mx.nd, self.pooled(mx.nd, features))

    def hybrid_forward(self, F, *features):
        if len(features) != len(self.channels):
            raise ValueError('the joint decision takes %d block outputs, not %d'
                             % (len(self.channels), len(features)))
        pooled = self.pooled(F, features)
        weighted = [F.broadcast_mul(z, a) for z, a in zip(pooled, self.weights_of(F, pooled))]
        return F.concat(*weighted, dim=1)                                  # eq. 4's [...]
