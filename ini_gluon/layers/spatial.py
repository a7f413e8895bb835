"""Spatial attention before the channel attention (InI paper Section V-E, eq. 50-51).

The spatial map is CBAM's (Woo et al., ECCV 2018, the InI paper's ref. [28]): the mean and the
max over the channels, a 7x7 convolution and BatchNorm, a sigmoid.  With ``groups = τ > 1`` the
channels are split into τ consecutive groups, each with its own map (eq. 51).
"""
from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm
from mxnet.gluon.block import HybridBlock

__all__ = ['SpatialAttention']


class SpatialAttention(HybridBlock):
    r"""``U_new = [ξ^1 o u^1, ..., ξ^τ o u^C]`` (eq. 50 for τ = 1, eq. 51 for τ groups).

    Parameters
    ----------
    channels : int
        ``C``; must be divisible by ``groups``.
    groups : int, default 1
        τ, the number of spatial maps.
    kernel : int, default 7
    """

    def __init__(self, channels, groups=1, kernel=7, norm_layer=BatchNorm, norm_kwargs=None,
                 **kwargs):
        super(SpatialAttention, self).__init__(**kwargs)
        if groups < 1 or channels % groups:
            raise ValueError('spatial attention with %d maps needs C divisible by it, C=%d'
                             % (groups, channels))
        self._groups = groups
        with self.name_scope():
            self.conv = nn.Conv2D(groups, kernel, padding=kernel // 2, groups=groups,
                                  use_bias=False, in_channels=2 * groups)
            self.bn = norm_layer(in_channels=groups, **({} if norm_kwargs is None
                                                        else norm_kwargs))

    def hybrid_forward(self, F, u):
        grouped = F.reshape(u, shape=(0, -4, self._groups, -1, -2))        # (N, τ, C/τ, H, W)
        stats = F.stack(F.mean(grouped, axis=2), F.max(grouped, axis=2), axis=2)
        xi = F.sigmoid(self.bn(self.conv(F.reshape(stats, shape=(0, -3, -2)))))  # (N, τ, H, W)
        return F.reshape(F.broadcast_mul(grouped, F.expand_dims(xi, axis=2)), shape=(0, -3, -2))
