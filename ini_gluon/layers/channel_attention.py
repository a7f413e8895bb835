"""Channel attention for residual blocks: the shared squeeze / encoder pieces, SE, and the
double-FC competitive SE.

Every attention layer here is a :class:`ChannelAttention`: called as ``attn(u, x)`` with the
residual output ``U`` and the identity ``X`` of a block, it returns ``s o U`` (InI paper eq. 15
and eq. 27; CMPE-SE paper eq. 4 and eq. 9).  The block adds the identity itself.  Called as
``attn(u, x, x_hat)`` with the identity already squeezed, it returns ``(s o U, s * u_hat)``
(see :class:`ChannelAttention`).  The squeeze, the identity's squeeze and the rescaling are those
of the formulation in use when the layer is traced or run (:mod:`ini_gluon.layers.formulation`).
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .attn_options import REDUCTION, SPATIAL
from .create_attn import AttnType, register_attention
from .formulation import in_use

__all__ = ['ChannelEncoder', 'ChannelAttention', 'SqueezeExcite', 'DoubleFCSqueezeExcite',
           'reduced']


def reduced(channels, reduction):
    """``C / t``, the width of the encoder's bottleneck (at least one unit)."""
    return max(1, channels // reduction)


class ChannelEncoder(HybridBlock):
    r"""The excitation encoder ``s = sigmoid(w^2 . ReLU(w^1 . v))`` of InI eq. 14 (SE eq. 3).

    ``Flatten -> Dense(C/t, relu) -> Dense(C, sigmoid)``, no biases, as in the original code.

    Parameters
    ----------
    channels : int
        ``C``, the number of attention values produced.
    in_units : int
        Length of the input signal (``C`` for SE, ``C^g`` for InI).
    reduction : int, default 16
        ``t``, the dimensionality-reduction ratio.
    """

    def __init__(self, channels, in_units, reduction=16, **kwargs):
        super(ChannelEncoder, self).__init__(**kwargs)
        with self.name_scope():
            self.fc1 = nn.Dense(reduced(channels, reduction), activation='relu', use_bias=False,
                                in_units=in_units)
            self.fc2 = nn.Dense(channels, activation='sigmoid', use_bias=False,
                                in_units=reduced(channels, reduction))

    def hybrid_forward(self, F, v):
        return self.fc2(self.fc1(v))


class ChannelAttention(HybridBlock):
    """Base of every channel-attention layer: ``attn(u, x) = s o u`` with
    ``s = self.scale(F, u_hat, x_hat)`` of shape ``(N, C)`` computed from the squeezed residual
    ``u_hat`` and, for the competitive modes (``uses_identity``), the squeezed identity ``x_hat``.

    ``attn(u, x, x_hat)`` takes the identity's squeeze from the caller instead of computing it,
    and returns ``(s o u, s * u_hat)``: the squeeze of the block's output ``X + s o U`` is then
    ``x_hat + s * u_hat`` (squeezing is linear and ``s`` is constant over H and W), which a
    pre-activation block hands on to the next so that its identity need not be squeezed again
    (:meth:`ini_gluon.models.residual.AttentionResidual.merge`).

    Subclasses set ``uses_identity`` and implement :meth:`scale` (or :meth:`scale_pieces`,
    which names what it computes on the way) and :meth:`describe`.
    """
    uses_identity = False

    def scale(self, F, u_hat, x_hat):
        raise NotImplementedError

    def scale_pieces(self, F, u_hat, x_hat):
        """``{'attention': s}`` and whatever else :meth:`scale` computes on the way, by name
        (:func:`ini_gluon.inspect.inspect` shows them)."""
        return {'attention': self.scale(F, u_hat, x_hat)}

    def describe(self):
        """A dict for the model summary (``kind`` at least)."""
        raise NotImplementedError

    spatial = None

    def add_spatial(self, spatial):
        """Apply ``spatial`` (a :class:`~ini_gluon.layers.spatial.SpatialAttention`) to U first
        (InI eq. 50: ``s o F_spa(U)``)."""
        with self.name_scope():
            self.spatial = spatial

    def attend(self, F, u, x, x_hat=None):
        """The forward pass with its intermediates, by name: ``spatial_maps`` ξ (eq. 50-51, with
        a spatial map), ``squeezed`` û (eq. 2, of U after the spatial map),
        ``identity_squeezed`` x̂ (eq. 17, where the layer uses it), those of
        :meth:`scale_pieces`, ``attention`` s ``(N, C)`` and ``output`` s o U (eq. 15 / 27).
        :meth:`hybrid_forward` is this pass; :mod:`ini_gluon.inspect` reads its pieces."""
        pieces = {}
        if self.spatial is not None:
            pieces['spatial_maps'] = xi = self.spatial.maps(F, u)
            u = self.spatial.weigh(F, u, xi)
        f = in_use(F, self, u)                                   # forced, else by device
        pieces['squeezed'] = u_hat = f.squeeze(F, u)             # eq. 2
        if x_hat is None and self.uses_identity:
            x_hat = f.squeeze_identity(F, x)                     # eq. 17
        if self.uses_identity:
            pieces['identity_squeezed'] = x_hat
        pieces.update(self.scale_pieces(F, u_hat, x_hat))
        pieces['output'] = f.rescale(F, u, pieces['attention'])  # eq. 15 / eq. 27
        return pieces

    def hybrid_forward(self, F, u, x, x_hat=None):
        pieces = self.attend(F, u, x, x_hat)
        if x_hat is None:
            return pieces['output']
        return pieces['output'], F.elemwise_mul(F.reshape(pieces['attention'],
                                                          shape=(0, 0, 1, 1)),
                                                pieces['squeezed'])


class SqueezeExcite(ChannelAttention):
    """Squeeze-and-Excitation on the residual signal alone (the SE baseline; CMPE-SE eq. 2-5).

    Parameters
    ----------
    channels : int
        ``C``, width of the residual output.
    reduction : int, default 16
    """

    def __init__(self, channels, reduction=16, **kwargs):
        super(SqueezeExcite, self).__init__(**kwargs)
        self._channels = channels
        with self.name_scope():
            self.encoder = ChannelEncoder(channels, channels, reduction)

    def scale(self, F, u_hat, x_hat):
        return self.encoder(u_hat)

    def describe(self):
        return {'kind': 'se', 'group_signals': self._channels}


class DoubleFCSqueezeExcite(ChannelAttention):
    """Competitive SE, double-FC mode (CMPE-SE paper eq. 7-9, Fig. 2b).

    ``s = sigmoid(w2 . [ReLU(w1_r . u_hat), ReLU(w1_id . x_hat)])``: one first-layer encoder for
    the squeezed residual signal, one for the identity, a joint excitation over both.

    Parameters
    ----------
    channels : int
    reduction : int, default 16
    """
    uses_identity = True

    def __init__(self, channels, reduction=16, **kwargs):
        super(DoubleFCSqueezeExcite, self).__init__(**kwargs)
        self._channels = channels
        hidden = reduced(channels, reduction)
        with self.name_scope():
            self.fc_residual = nn.Dense(hidden, activation='relu', use_bias=False,
                                        in_units=channels)
            self.fc_identity = nn.Dense(hidden, activation='relu', use_bias=False,
                                        in_units=channels)
            self.fc_excite = nn.Dense(channels, activation='sigmoid', use_bias=False,
                                      in_units=2 * hidden)

    def scale(self, F, u_hat, x_hat):
        joint = F.concat(self.fc_residual(u_hat), self.fc_identity(x_hat), dim=1)
        return self.fc_excite(joint)

    def describe(self):
        return {'kind': 'cmpe_se_doublefc', 'group_signals': 2 * self._channels}


# Registration
def _build_se(spec, block, norm_layer, norm_kwargs):
    return SqueezeExcite(block.channels, spec.reduction)


def _build_double_fc(spec, block, norm_layer, norm_kwargs):
    return DoubleFCSqueezeExcite(block.channels, spec.reduction)


def _plan_double_fc(spec, block):
    if not block.identity:
        raise ValueError('cmpe_se_doublefc encodes the identity with the residual, and this '
                         'block has no identity flow')
    return None


register_attention(AttnType('se', _build_se, options=(REDUCTION, SPATIAL)))
register_attention(AttnType('cmpe_se_doublefc', _build_double_fc, _plan_double_fc,
                            options=(REDUCTION, SPATIAL), paper='cmpe-se'))
