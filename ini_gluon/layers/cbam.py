"""CBAM, the Convolutional Block Attention Module (Woo et al., ECCV 2018; the InI paper's ref.
[28] and its Table V baseline): channel attention from the average- and the max-pooled signals
through one shared MLP, then a spatial map over the rescaled output.

``M_c(U) = sigmoid(MLP(AvgPool(U)) + MLP(MaxPool(U)))``, ``U' = M_c(U) o U`` (CBAM eq. 2, 1);
``M_s(U') = sigmoid(BN(conv7x7([mean_c(U'); max_c(U')])))``, ``U'' = M_s(U') o U'`` (eq. 3).
The MLP has biases, as CBAM's own code; the spatial map is the one the InI models' ``_spa``
option uses (:class:`~ini_gluon.layers.spatial.SpatialAttention`, one map).
"""
from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm

from .attn_options import REDUCTION
from .channel_attention import ChannelAttention, reduced
from .create_attn import AttnType, register_attention
from .formulation import in_use
from .spatial import SpatialAttention

__all__ = ['CBAM']


class CBAM(ChannelAttention):
    """CBAM on the residual output of a block: ``attn(u, x) = M_s(U') o U'`` with
    ``U' = M_c(U) o U``.

    Parameters
    ----------
    channels : int
        ``C``.
    reduction : int, default 16
        ``r``, the MLP's reduction ratio.
    norm_layer, norm_kwargs
        Normalisation of the spatial map.
    """

    def __init__(self, channels, reduction=16, norm_layer=BatchNorm, norm_kwargs=None,
                 **kwargs):
        super(CBAM, self).__init__(**kwargs)
        self._channels = channels
        hidden = reduced(channels, reduction)
        with self.name_scope():
            self.mlp = nn.HybridSequential(prefix='mlp_')
            with self.mlp.name_scope():
                self.mlp.add(nn.Dense(hidden, activation='relu', in_units=channels),
                             nn.Dense(channels, in_units=hidden))
            self.spatial_map = SpatialAttention(channels, 1, norm_layer=norm_layer,
                                                norm_kwargs=norm_kwargs)

    def attend(self, F, u, x, x_hat=None):
        """The forward pass with its pieces: ``squeezed`` (AvgPool), ``max_pooled``,
        ``attention`` M_c ``(N, C)``, ``spatial_maps`` M_s and ``output``."""
        f = in_use(F, self, u)
        avg = f.squeeze(F, u)                                                  # AvgPool
        top = F.Pooling(u, kernel=(1, 1), global_pool=True, pool_type='max')   # MaxPool
        s = F.sigmoid(self.mlp(avg) + self.mlp(top))                           # eq. 2
        scaled = f.rescale(F, u, s)                                            # eq. 1
        xi = self.spatial_map.maps(F, scaled)
        return {'squeezed': avg, 'max_pooled': top, 'attention': s, 'spatial_maps': xi,
                'output': self.spatial_map.weigh(F, scaled, xi)}               # eq. 3

    def hybrid_forward(self, F, u, x, x_hat=None):
        return self.attend(F, u, x)['output']

    def describe(self):
        return {'kind': 'cbam', 'group_signals': self._channels}


def _build(spec, block, norm_layer, norm_kwargs):
    return CBAM(block.channels, spec.reduction, norm_layer=norm_layer, norm_kwargs=norm_kwargs)


register_attention(AttnType('cbam', _build, options=(REDUCTION,)))
