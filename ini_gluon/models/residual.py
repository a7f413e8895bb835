"""What every residual block of the project shares: an attention layer after its last
convolution, applied before the identity is added (InI eq. 27: ``y = X + s o U``)."""
from mxnet.gluon import nn

from ..layers import channel_attention
from ..layers.create_attn import create_attn, plan_attn

__all__ = ['AttentionResidual', 'check_attention', 'chain_identity_squeezes']


class AttentionResidual(object):
    """Mixin for GluonCV residual blocks: ``self.attn`` and the merge ``X + attn(U, X)``.

    A block's input is a tensor, or ``(tensor, its squeeze)`` when the block before it hands its
    output's squeeze on (:func:`chain_identity_squeezes`).
    """
    hands_on_squeeze = False

    def _init_attention(self, attn, channels, width, map_cols, norm_layer, norm_kwargs):
        self.out_channels = channels
        with self.name_scope():
            self.attn = create_attn(attn, channels, width=width, map_cols=map_cols,
                                    norm_layer=norm_layer, norm_kwargs=norm_kwargs)

    @staticmethod
    def split_input(x):
        """``(x, x_hat)``: the block's input and its squeeze, ``None`` if not handed on."""
        return tuple(x) if isinstance(x, (list, tuple)) else (x, None)

    def preact(self, F, x):
        """The BN-ReLU that the residual branch and the projection shortcut share (pre-act
        blocks, He et al. 2016): ``(activated x, identity)``."""
        act = F.Activation(self.bn1(x), act_type='relu')
        return act, (self.downsample(act) if self.downsample else x)

    def merge(self, F, u, identity, identity_hat=None):
        """``y = X + s o U`` (eq. 27), or ``X + U`` without attention (eq. 25).

        ``identity_hat`` is the squeeze of ``identity`` when the block before handed it on.  A
        block that ``hands_on_squeeze`` returns ``(y, y_hat)`` with
        ``y_hat = x_hat + s * u_hat``, the squeeze of ``y`` without a pass over ``y``.
        """
        if self.attn is None:
            return u + identity
        if not self.attn.uses_identity:
            return self.attn(u, identity) + identity
        if identity_hat is None:
            identity_hat = channel_attention.squeeze(F, identity)      # eq. 17
        out, scaled_u_hat = self.attn(u, identity, identity_hat)
        y = out + identity
        if self.hands_on_squeeze:
            return y, identity_hat + scaled_u_hat
        return y


def chain_identity_squeezes(net):
    """Let each pre-activation block whose successor in a stage keeps the identity (no
    projection) hand its output's squeeze on, so that the successor's competitive attention
    does not squeeze its identity again: ``squeeze(X + s o U) = x_hat + s * u_hat``.

    Only for blocks whose output is ``X + s o U`` itself (pre-activation); the successor must
    add its input unchanged.  Returns ``net``.
    """
    for stage in (b for b in _blocks(net) if isinstance(b, nn.HybridSequential)):
        blocks = list(stage._children.values())
        for block, successor in zip(blocks, blocks[1:]):
            if (isinstance(block, AttentionResidual) and isinstance(successor, AttentionResidual)
                    and getattr(block, 'preactivation', False)
                    and block.attn is not None and block.attn.uses_identity
                    and not successor.downsample):
                block.hands_on_squeeze = True
    return net


def _blocks(block):
    yield block
    for child in block._children.values():
        for b in _blocks(child):
            yield b


def check_attention(attn, stages):
    """Check that every stage can take ``attn`` before a network is built.

    Parameters
    ----------
    attn : str, AttnSpec or None
    stages : list of (label, channels, map_cols)

    Raises
    ------
    ValueError
        Naming the stage, its width and the shapes involved.
    """
    for label, channels, map_cols in stages:
        try:
            plan_attn(attn, channels, map_cols)
        except ValueError as err:
            raise ValueError('%s (C=%d): %s' % (label, channels, err))
