"""What every attention block of the project shares: an attention layer after its last
convolution, applied before the identity is added (InI eq. 27: ``y = X + s o U``); the stage
that hands a block's output squeeze on to the next; and the check of an attention against a
backbone's blocks before anything is built."""
from mxnet.gluon import nn

from ..layers.create_attn import BlockShape, create_attn, plan_block
from ..layers.formulation import hand_on_rule, in_use

__all__ = ['AttentionBlock', 'AttentionResidual', 'SqueezeChain', 'ChainedStages',
           'hands_on_squeeze', 'BlockShape', 'check_blocks']


class AttentionBlock(object):
    """Mixin for every block that holds an attention layer (``self.attn``, ``None`` for the
    plain block) applied to its output ``U`` of ``self.out_channels`` channels;
    ``self.block_shape`` is the :class:`BlockShape` the layer is built for (unlabelled: the
    network's order labels its blocks, :func:`ini_gluon.summary.residual_blocks`), which the
    backbone's registered ``blocks`` give before it is built."""

    def _init_attention(self, attn, channels, width, map_cols, norm_layer, norm_kwargs,
                        identity=True):
        self.out_channels = channels
        self.map_cols = map_cols          # the column count its InI map is nearest to
        self.block_shape = BlockShape(None, channels, width, map_cols, identity)
        with self.name_scope():
            self.attn = create_attn(attn, channels, width=width, map_cols=map_cols,
                                    norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                                    identity=identity)


class AttentionResidual(AttentionBlock):
    """Mixin for residual blocks: the merge ``X + attn(U, X)``.

    A block subclass implements :meth:`branches`; ``block(x)`` takes and returns a tensor.  The
    stage (:class:`SqueezeChain`) calls :meth:`chained` instead where a squeeze is handed on.
    """
    preactivation = False        # the output is X + s o U itself (no activation after the sum)

    @property
    def keeps_identity(self):
        """Whether the identity is the block's input itself (no projection, no pooling), so that
        the squeeze of the input is the squeeze of the identity (up to zero channels)."""
        return not self.downsample

    def branches(self, F, x, x_hat):
        """``(U, X, x̂ or None)``: the residual output, the identity and its squeeze when
        ``x_hat``, the squeeze of the input, gives it."""
        raise NotImplementedError

    def preact(self, F, x):
        """The BN-ReLU that the residual branch and the projection shortcut share (GluonCV's
        pre-activation blocks, He et al. 2016): ``(activated x, identity)``."""
        act = F.Activation(self.bn1(x), act_type='relu')
        return act, (self.downsample(act) if self.downsample else x)

    def hybrid_forward(self, F, x):
        return self.chained(F, x)[0]

    def chained(self, F, x, x_hat=None, hand_on=False):
        """``(y, ŷ)``: the block's output and, if ``hand_on``, its squeeze
        ``ŷ = x̂ + s * û`` computed without a pass over ``y`` (squeezing is linear and ``s`` is
        constant over H and W); ``x_hat`` is the squeeze of ``x`` when the block before handed
        it on."""
        u, identity, identity_hat = self.branches(F, x, x_hat)
        return self.merge(F, u, identity, identity_hat, hand_on)

    def merge(self, F, u, identity, identity_hat=None, hand_on=False):
        """``(X + s o U, ŷ or None)`` (eq. 27), or ``X + U`` without attention (eq. 25)."""
        if self.attn is None:
            return u + identity, None
        if not self.attn.uses_identity:
            return self.attn(u, identity) + identity, None
        if identity_hat is None:
            identity_hat = in_use(F, self.attn, identity).squeeze_identity(F, identity)  # eq. 17
        out, scaled_u_hat = self.attn(u, identity, identity_hat)
        return out + identity, (identity_hat + scaled_u_hat if hand_on else None)


def hands_on_squeeze(block, successor):
    """Whether ``block`` hands the squeeze of its output on to ``successor``: where its output
    is ``X + s o U`` itself (pre-activation), its attention squeezes the identity (the
    competitive modes), and ``successor``'s identity is its input.  The stage's own rule: a
    formulation forced when a stage is built may hold another
    (:func:`ini_gluon.layers.formulation.hand_on_rule`)."""
    return (isinstance(block, AttentionResidual) and isinstance(successor, AttentionResidual)
            and block.preactivation and block.attn is not None and block.attn.uses_identity
            and successor.keeps_identity)


class SqueezeChain(nn.HybridSequential):
    """A stage of residual blocks that owns the squeeze hand-on: where
    :func:`hands_on_squeeze` (or the rule of the formulation forced when the stage is built)
    says so, a block gives the next the squeeze of its output, so that the next block's
    competitive attention does not squeeze its identity again:
    ``squeeze(X + s o U) = x̂ + s * û``.  It takes and returns a tensor, as a
    ``HybridSequential`` of the same blocks does, and computes the same.  A block that takes or
    hands on a squeeze is run through :meth:`AttentionResidual.chained` (its layers are
    called as usual), the others through ``block(x)``.

    Parameters
    ----------
    blocks : list of HybridBlock, optional
        The stage's blocks, already built (their parameter names do not change); more can be
        added with :meth:`add`, as to a ``HybridSequential``.
    prefix, params
        As ``HybridSequential``'s.

    Attributes
    ----------
    hand_on : tuple of bool
        Per block, whether it hands its output's squeeze on to the next.
    """

    def __init__(self, blocks=(), prefix=None, params=None):
        super(SqueezeChain, self).__init__(prefix=prefix, params=params)
        self.hand_on = ()
        self.add(*blocks)

    def add(self, *blocks):
        super(SqueezeChain, self).add(*blocks)
        children = list(self._children.values())
        rule = hand_on_rule(hands_on_squeeze)             # decided here, at construction
        self.hand_on = tuple(rule(b, s) for b, s in zip(children, children[1:])) + (False,)

    def hybrid_forward(self, F, x):
        x_hat = None
        for block, hand_on in zip(self._children.values(), self.hand_on):
            if hand_on or x_hat is not None:
                x, x_hat = block.chained(F, x, x_hat, hand_on)
            else:
                x = block(x)
        return x


class ChainedStages(object):
    """Mixin for GluonCV's nets: each stage that the net's own ``_make_layer`` builds becomes a
    :class:`SqueezeChain` of the same blocks, under the same name."""

    def _make_layer(self, *args, **kwargs):
        plain = super(ChainedStages, self)._make_layer(*args, **kwargs)
        # GluonCV builds a stage in the net's name scope: its own part of the prefix is
        # 'stage<i>_', which the chain takes so that every parameter keeps its name
        if not plain.prefix.startswith(self.prefix):
            raise RuntimeError('stage %r is not in the scope of %r' % (plain.prefix,
                                                                       self.prefix))
        return SqueezeChain([plain[i] for i in range(len(plain))],
                            prefix=plain.prefix[len(self.prefix):])


def check_blocks(attn, blocks):
    """Check that every block can take ``attn`` before a network is built.

    Parameters
    ----------
    attn : AttnSpec or None
    blocks : list of BlockShape

    Raises
    ------
    ValueError
        Naming the first block that cannot, its width and the shapes involved.
    """
    seen = set()
    for block in blocks:
        if block[1:] in seen:
            continue
        seen.add(block[1:])
        try:
            plan_block(attn, block)
        except ValueError as err:
            raise ValueError('%s (C=%d): %s' % (block.label, block.channels, err))
