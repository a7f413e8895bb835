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

    def maps(self, F, u):
        """ξ, ``(N, τ, H, W)``: per group the sigmoid of the BatchNormed 7x7 convolution of the
        channels' mean and max."""
        # by split and concat, not a reshape to (N, τ, C/τ, H, W): MXNet's ONNX exporter has no
        # conversion of reshape's -4 (split a dimension), and the exported models take any H, W
        stats = F.concat(*[F.concat(F.mean(g, axis=1, keepdims=True),
                                    F.max(g, axis=1, keepdims=True), dim=1)
                           for g in _split(F, u, self._groups)], dim=1)  # (N, 2τ, H, W)
        return F.sigmoid(self.bn(self.conv(stats)))

    def weigh(self, F, u, xi):
        """``U_new``: each group of ``u`` times its map of ``xi``."""
        if self._groups == 1:
            return F.broadcast_mul(u, xi)                                    # eq. 50
        return F.concat(*[F.broadcast_mul(g, m) for g, m in
                          zip(_split(F, u, self._groups), _split(F, xi, self._groups))],
                        dim=1)                                               # eq. 51

    def hybrid_forward(self, F, u):
        return self.weigh(F, u, self.maps(F, u))


def _split(F, x, parts):
    """``x`` cut into ``parts`` consecutive channel groups (a list, also for one part)."""
    if parts == 1:
        return [x]
    return list(F.split(x, num_outputs=parts, axis=1))
