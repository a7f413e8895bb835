"""Channel attention for residual blocks: the shared squeeze / encoder pieces, SE, and the
double-FC competitive SE.

Every attention layer here is a :class:`ChannelAttention`: called as ``attn(u, x)`` with the
residual output ``U`` and the identity ``X`` of a block, it returns ``s o U`` (InI paper eq. 15
and eq. 27; CMPE-SE paper eq. 4 and eq. 9).  The block adds the identity itself.  Called as
``attn(u, x, x_hat)`` with the identity already squeezed, it returns ``(s o U, s * u_hat)``
(see :class:`ChannelAttention`).
"""
from contextlib import contextmanager

from mxnet import symbol as symbol_api
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .attn_options import REDUCTION, SPATIAL
from .create_attn import AttnType, register_attention

__all__ = ['squeeze', 'rescale', 'squeeze_identity', 'portable_squeeze', 'portable_rescale',
           'portable_graph', 'formulation', 'ChannelEncoder', 'ChannelAttention', 'SqueezeExcite',
           'DoubleFCSqueezeExcite', 'reduced']


# The squeeze and the rescaling, two ways.  Both compute InI eq. 2 / 17 and eq. 15 / 27; which
# runs is chosen per device where a graph is traced (:func:`formulation`, docs/benchmarks.md):
#
# * on the CPU, ``squeeze`` and ``rescale``: MKL-DNN keeps a convolution's output in a blocked
#   layout that every non-MKL-DNN operator reorders again, and MXNet's CPU reductions over H x W
#   (the backward pass of any broadcast over them) are slow; these reshape U once to plain
#   ``(N, C, H*W)`` columns and reduce with matrix products, keeping no broadcast tensor alive;
# * on GPUs and in exported graphs, ``portable_squeeze`` and ``portable_rescale``: GluonCV's own
#   SE formulation, global average pooling and ``broadcast_mul``, which keep no broadcast tensor
#   either, and whose operators every runtime that reads MXNet's or ONNX's graphs has.
def squeeze(F, x):
    """``F_sq``: global average pooling of each channel, ``(N, C, H, W) -> (N, C, 1, 1)``
    (InI eq. 2), as the matrix-vector product of the ``(N, C, H*W)`` columns and a column of
    ``1 / (H W)`` (the CPU formulation).  Of U: the columns are the rescaling's too (MXNet's
    common-subexpression elimination makes them one tensor)."""
    columns = _columns(F, x)
    ones = _spatial_ones(F, columns)
    return F.reshape(F.dot(columns, F.broadcast_div(ones, F.sum(ones))), shape=(0, 0, 1, 1))


def rescale(F, u, s):
    """``s o U`` with ``s`` of shape ``(N, C)``: the attention values broadcast over H and W
    (InI eq. 15 / 27), as ``N*C`` products of a ``1 x 1`` matrix and a ``1 x H*W`` row (the CPU
    formulation): the backward pass is two batched matrix products, and nothing of the size of
    U but U's columns is kept for it."""
    columns = _columns(F, u)
    rows = F.reshape(columns, shape=(-3, 1, -1))                       # (N*C, 1, H*W)
    scaled = F.batch_dot(F.reshape(s, shape=(-3, 1, 1)), rows)
    # reshape_like ignores its second input's values (no reorder of U for its shape)
    return F.reshape_like(scaled, u)


def squeeze_identity(F, x):
    """The squeeze of the identity X (InI eq. 17), on every device :func:`portable_squeeze`
    of X itself: X stays alive for the next block anyway, while the columns of
    :func:`squeeze` would be a copy kept for this squeeze's backward pass alone (with them,
    ``ini_wrn16_8_mix5d`` peaked 0.2 GiB higher at batch 64)."""
    return portable_squeeze(F, x)


def _columns(F, x):
    """``(N, C, H*W)``: one reorder out of MKL-DNN's layout for all that reads it."""
    return F.reshape(x, shape=(0, 0, -1))


def _spatial_ones(F, columns):
    """A ``(H*W, 1)`` column of ones, shaped after ``columns`` without a pass over them."""
    corner = F.slice(columns, begin=(0, 0, None), end=(1, 1, None))   # (1, 1, H*W)
    return F.reshape(F.ones_like(corner), shape=(-1, 1))


def portable_squeeze(F, x):
    """InI eq. 2 / 17 by ``AdaptiveAvgPooling2D`` (GluonCV's SE; GPUs and exports)."""
    return F.contrib.AdaptiveAvgPooling2D(x, output_size=1)


def portable_rescale(F, u, s):
    """InI eq. 15 / 27 by ``broadcast_mul`` (GluonCV's SE; GPUs and exports)."""
    return F.broadcast_mul(u, F.reshape(s, shape=(0, 0, 1, 1)))


_TRACING_PORTABLE = []


@contextmanager
def portable_graph():
    """Build every graph traced in the body with the portable formulation, whatever the device
    (the exports: :mod:`ini_gluon.export`)."""
    _TRACING_PORTABLE.append(True)
    try:
        yield
    finally:
        _TRACING_PORTABLE.pop()


def formulation(F, block, x):
    """``(squeeze, rescale)`` for ``block`` applied to ``x``: the CPU formulation where ``x``
    (an NDArray) or, while a graph is traced, every parameter of ``block`` is on the CPU; the
    portable one on GPUs, inside :func:`portable_graph`, and for a block without parameters.
    Looked up when called, so that :func:`ini_gluon.formulations.use` reaches them."""
    if not _TRACING_PORTABLE and on_cpu(F, block, x):
        return squeeze, rescale
    return portable_squeeze, portable_rescale


def on_cpu(F, block, x):
    """Whether ``x`` (an NDArray) is on the CPU, or, for a traced ``x``, all of ``block``'s
    parameters are (a graph is traced once, for every device its parameters live on)."""
    if F is not symbol_api:
        return x.context.device_type != 'gpu'
    try:
        devices = {c.device_type for p in block.collect_params().values()
                   for c in p.list_ctx()}
    except RuntimeError:              # not initialised: traced for its shapes only
        devices = {'cpu'}
    return bool(devices) and 'gpu' not in devices


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
        squeeze_, rescale_ = formulation(F, self, u)
        pieces['squeezed'] = u_hat = squeeze_(F, u)               # eq. 2
        if x_hat is None and self.uses_identity:
            x_hat = squeeze_identity(F, x)                        # eq. 17
        if self.uses_identity:
            pieces['identity_squeezed'] = x_hat
        pieces.update(self.scale_pieces(F, u_hat, x_hat))
        pieces['output'] = rescale_(F, u, pieces['attention'])   # eq. 15 / eq. 27
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
