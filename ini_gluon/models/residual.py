"""What every residual block of the project shares: an attention layer after its last
convolution, applied before the identity is added (InI eq. 27: ``y = X + s o U``)."""
from ..layers.create_attn import create_attn, plan_attn

__all__ = ['AttentionResidual', 'check_attention']


class AttentionResidual(object):
    """Mixin for GluonCV residual blocks: ``self.attn`` and the merge ``X + attn(U, X)``."""

    def _init_attention(self, attn, channels, width, map_cols, norm_layer, norm_kwargs):
        self.out_channels = channels
        with self.name_scope():
            self.attn = create_attn(attn, channels, width=width, map_cols=map_cols,
                                    norm_layer=norm_layer, norm_kwargs=norm_kwargs)

    def preact(self, F, x):
        """The BN-ReLU that the residual branch and the projection shortcut share (pre-act
        blocks, He et al. 2016): ``(activated x, identity)``."""
        act = F.Activation(self.bn1(x), act_type='relu')
        return act, (self.downsample(act) if self.downsample else x)

    def merge(self, u, identity):
        """``y = X + s o U`` (eq. 27), or ``X + U`` without attention (eq. 25)."""
        if self.attn is not None:
            u = self.attn(u, identity)
        return u + identity


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
