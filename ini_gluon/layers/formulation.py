"""The arithmetic of the attention, every formulation of it, and the context that chooses one.

A :class:`Formulation` holds the functions the attention layers compute with: the squeeze of U
(InI eq. 2), the rescaling ``s o U`` (eq. 15 / 27), the average of the ε G-filter maps (eq. 7),
the rule that says whether a pre-activation block hands the squeeze of its output on to the next
block of its stage, and the squeeze of the identity X (eq. 17).  Every formulation computes the
same; they differ in the operators, hence in time and memory (docs/benchmarks.md).

Which one a layer computes with is read when it needs it: :class:`ChannelAttention
<ini_gluon.layers.channel_attention.ChannelAttention>` and CBAM when their forward pass is traced
or run, the G-filter bank likewise, a residual stage
(:class:`~ini_gluon.models.residual.SqueezeChain`) when it is built.  Inside :func:`use` it is
the value forced there; elsewhere it follows the device (:func:`in_use`):

* :data:`CPU`, on the CPU: MKL-DNN keeps a convolution's output in a blocked layout that every
  non-MKL-DNN operator reorders again, and MXNet's CPU reductions over H x W (the backward pass of
  any broadcast over them) are slow; :func:`squeeze` and :func:`rescale` reshape U once to plain
  ``(N, C, H*W)`` columns and reduce with matrix products, keeping no broadcast tensor alive;
* :data:`PORTABLE`, on GPUs and in exported graphs (:func:`portable_graph`):
  :func:`portable_squeeze` and :func:`portable_rescale`, GluonCV's own SE formulation, global
  average pooling and ``broadcast_mul``, which keep no broadcast tensor either, and whose
  operators every runtime that reads MXNet's or ONNX's graphs has.

:data:`VERSIONS` are the formulations the code had before, each a value with what it changed and
what was predicted before it was measured; ``benchmarks/throughput.py`` times them and
``tests/test_fast_paths.py`` checks that each computes what the current code computes.  Both
force a version with :func:`use`, which yields a :class:`Reached` record of the calls of each
part: a version whose parts the body never reached would time or test the current code under
another name.
"""
import functools
import threading
from collections import namedtuple
from contextlib import contextmanager

from mxnet import symbol as symbol_api

__all__ = ['Formulation', 'PARTS', 'CPU', 'PORTABLE', 'Version', 'VERSIONS', 'version', 'use',
           'Reached', 'portable_graph', 'forced', 'in_use', 'on_cpu', 'hand_on_rule',
           'squeeze', 'rescale', 'squeeze_identity', 'portable_squeeze', 'portable_rescale',
           'average_filters', 'pooling_squeeze', 'adaptive_squeeze', 'broadcast_mul_rescale',
           'broadcast_like_rescale', 'batch_dot_rescale', 'mean_average_filters',
           'convolution_average_filters', 'no_chaining']


# The current code: the CPU's squeeze and rescaling, the portable ones, the identity squeeze and
# the ε average of both
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


def squeeze_identity(F, x):
    """The squeeze of the identity X (InI eq. 17), on every device :func:`portable_squeeze`
    of X itself: X stays alive for the next block anyway, while the columns of
    :func:`squeeze` would be a copy kept for this squeeze's backward pass alone (with them,
    ``ini_wrn16_8_mix5d`` peaked 0.2 GiB higher at batch 64)."""
    return portable_squeeze(F, x)


def average_filters(F, y, num_filters):
    """The average of the ε G-filter maps, ``(N, ε, n, m) -> (N, 1, n, m)`` (eq. 7).

    The sum of the ε slices by ``add_n``, neither ``mean(axis=1)`` nor a 1x1 convolution with
    the weight ``1/ε``: MXNet's CPU build reduces over a middle axis with a slow generic kernel
    (about 10x slower, forward and backward, on the maps of WRN-16-8), and a convolution keeps
    its input, the BatchNormed maps, alive for its backward pass, where ``split`` and
    ``add_n`` keep nothing (docs/benchmarks.md).
    """
    if num_filters == 1:
        return y
    return F.add_n(*F.split(y, num_outputs=num_filters, axis=1)) * (1.0 / num_filters)


# The earlier versions' parts
def pooling_squeeze(F, x):
    """InI eq. 2 / eq. 17 by global average ``Pooling``."""
    return F.Pooling(x, kernel=(1, 1), global_pool=True, pool_type='avg')


def adaptive_squeeze(F, x):
    """InI eq. 2 / eq. 17 by ``AdaptiveAvgPooling2D`` on U as it is."""
    return F.contrib.AdaptiveAvgPooling2D(x, output_size=1)


def broadcast_like_rescale(F, u, s):
    """InI eq. 15 / eq. 27 by ``broadcast_like`` + ``elemwise_mul``."""
    return F.elemwise_mul(u, F.broadcast_like(F.reshape(s, shape=(0, 0, 1, 1)), u))


def broadcast_mul_rescale(F, u, s):
    """InI eq. 15 / eq. 27 by ``broadcast_mul``."""
    return F.broadcast_mul(u, F.reshape(s, shape=(0, 0, 1, 1)))


def batch_dot_rescale(F, u, s):
    """``s o U`` as N*C products of an (H*W, 1) column by a 1x1 matrix."""
    columns = F.reshape(u, shape=(-3, -3, 1))
    return F.reshape_like(F.batch_dot(columns, F.reshape(s, shape=(-3, 1, 1))), u)


def convolution_average_filters(F, y, num_filters):
    """InI eq. 7 by a 1x1 convolution with the constant weight ``1/ε``."""
    corner = F.slice(y, begin=(0, None, 0, 0), end=(1, None, 1, 1))
    return F.Convolution(y, F.ones_like(corner) / num_filters, kernel=(1, 1), num_filter=1,
                         no_bias=True)


def mean_average_filters(F, y, num_filters):
    """InI eq. 7 by ``mean`` over the filter axis."""
    return F.mean(y, axis=1, keepdims=True)


def no_chaining(block, successor):
    """Every block squeezes its own identity: no squeeze is handed on."""
    return False


PARTS = ('squeeze', 'rescale', 'average_filters', 'hands_on_squeeze', 'squeeze_identity')


class Formulation(namedtuple('Formulation', ('name',) + PARTS)):
    """One formulation of the attention's arithmetic: a ``name`` and a function per part.

    Parameters
    ----------
    name : str
    squeeze : callable
        ``squeeze(F, u) -> (N, C, 1, 1)``, InI eq. 2.
    rescale : callable
        ``rescale(F, u, s) -> s o U`` with ``s`` of shape ``(N, C)``, eq. 15 / 27.
    average_filters : callable
        ``average_filters(F, y, ε) -> (N, 1, n, m)``, the average of the ε G-filter maps
        (eq. 7).
    hands_on_squeeze : callable or None
        ``hands_on_squeeze(block, successor) -> bool``, whether a block of a residual stage hands
        the squeeze of its output on to the next; ``None``: the stage's own rule
        (:func:`ini_gluon.models.residual.hands_on_squeeze`).
    squeeze_identity : callable
        ``squeeze_identity(F, x) -> (N, C, 1, 1)``, the squeeze of the identity X, eq. 17.
    """
    __slots__ = ()

    def replaced(self, base):
        """The parts whose function is not ``base``'s, in :data:`PARTS` order."""
        return tuple(p for p in PARTS if getattr(self, p) is not getattr(base, p))


CPU = Formulation('cpu', squeeze, rescale, average_filters, None, squeeze_identity)
PORTABLE = Formulation('portable', portable_squeeze, portable_rescale, average_filters, None,
                       squeeze_identity)


class Version(namedtuple('Version', ['formulation', 'change', 'prediction'])):
    """A formulation the code had: ``change``, what it changed, and ``prediction``, what was
    predicted before it was measured; ``name`` is its formulation's."""
    __slots__ = ()

    @property
    def name(self):
        return self.formulation.name


def _before(name, **parts):
    """A formulation of the versions before the columns one: ``AdaptiveAvgPooling2D``,
    ``broadcast_like``, the ε average by convolution, unless ``parts`` say otherwise."""
    return CPU._replace(name=name, **dict(dict(
        squeeze=adaptive_squeeze, rescale=broadcast_like_rescale,
        average_filters=convolution_average_filters), **parts))


# Oldest first; each with what it changed and what was predicted before it was measured.
VERSIONS = [
    Version(_before('reference', squeeze=pooling_squeeze, rescale=broadcast_mul_rescale,
                    average_filters=mean_average_filters, hands_on_squeeze=no_chaining,
                    squeeze_identity=pooling_squeeze),
            'squeeze by global `Pooling`, rescale by `broadcast_mul`, average the ε G-filter maps '
            'by `mean(axis=1)`, every block squeezes its identity', '-'),
    Version(_before('fast squeeze + rescale', average_filters=mean_average_filters,
                    hands_on_squeeze=no_chaining),
            'squeeze by `AdaptiveAvgPooling2D`, rescale by `broadcast_like` + `elemwise_mul`',
            'micro-benchmarks, forward + backward on (64, 16, 32, 32): global `Pooling` 59 ms '
            'against 5.6 ms for a mean, `broadcast_mul` 19 ms against 7.7 ms for an '
            'elementwise product; predicted: most of SE\'s training overhead gone'),
    Version(_before('ε average by convolution', hands_on_squeeze=no_chaining),
            'average the ε G-filter maps by a 1x1 convolution with the constant weight 1/ε',
            'profile of the previous version (`ini_wrn16_8_mix5d`, batch 64): `mean` and its '
            'backward took 257 ms of a 3.43 s training step and 217 ms of a 1.18 s inference '
            'step, against about 5 ms for the convolution in a micro-benchmark; predicted: InI '
            '1.08x faster in training and 1.2x in inference on WRN-16-8, little change on '
            'ResNet-56 (ε <= 4)'),
    Version(_before('squeeze hand-on'),
            'a pre-activation block hands the squeeze of its output, `x_hat + s * u_hat`, to the '
            'next block of its stage, which no longer squeezes its identity',
            'profile of the previous version: the identity squeeze is most of what InI adds to '
            'SE in inference (`_contrib_AdaptiveAvgPooling2D` +64 ms of +113 ms on `resnet164`) '
            'and a third in training with its backward and `add_n`; predicted: InI over SE up by '
            'about 0.1 in inference on ResNet-164 and ResNet-56, less on WRN-16-8 (half its '
            'blocks follow a projection, which must still squeeze)'),
    Version(_before('batch_dot rescale (not adopted)', rescale=batch_dot_rescale),
            'squeeze hand-on, with the rescaling as a `batch_dot` of (H*W, 1) columns by the '
            'attention values',
            'its backward is a batched matrix product rather than `broadcast_like`\'s slow '
            'reduction; predicted: faster training where `_broadcast_backward` dominates the '
            'profile'),
    Version(CPU._replace(name='current'),
            'squeeze and rescale U reshaped once to plain (N, C, H*W) columns: the squeeze a '
            'matrix-vector product, the rescaling `batch_dot` of 1x1 by 1xH*W rows; the '
            'identity squeezed by pooling; the ε average by `split` + `add_n` (on GPUs and in '
            'exports: pooling and `broadcast_mul`)',
            'micro-benchmarks on (32, 64, 1024) tensors: a sum over H*W 19 ms, the same '
            'reduction as a matrix-vector product 1 ms; one 64-channel block\'s SE 34 ms -> '
            '12 ms in columns; peak memory of `se_resnet164` at batch 32 1829 -> 1501 MiB (no '
            'broadcast tensor kept), of `ini_wrn16_8_mix5d` at batch 64 1841 -> 1542 MiB with '
            'the identity squeezed by pooling and an ε average that keeps nothing; predicted: '
            'SE and InI training about 1.2x faster on ResNet-164, InI / SE unchanged'),
]


def version(name):
    """The :class:`Version` called ``name``."""
    for v in VERSIONS:
        if v.name == name:
            return v
    raise KeyError('no formulation version %r: expected one of %s'
                   % (name, ', '.join(v.name for v in VERSIONS)))


class Reached(object):
    """What the body of :func:`use` reached of the formulation it forced.

    Attributes
    ----------
    formulation : Formulation
        The value forced, as given.
    calls : dict
        Per part that the value holds a function for, the calls of that function so far.
    counting : Formulation
        The value the layers read inside the body: each function counted in ``calls``.
    """

    def __init__(self, formulation):
        self.formulation = formulation
        self.calls = {p: 0 for p in PARTS if getattr(formulation, p) is not None}
        self.counting = formulation._replace(**{p: self._counted(p, getattr(formulation, p))
                                                for p in self.calls})

    def _counted(self, part, fn):
        @functools.wraps(fn)
        def counted(*args, **kwargs):
            self.calls[part] += 1
            return fn(*args, **kwargs)
        return counted

    def unused(self, parts=None):
        """The parts (of ``parts``, default all that the value holds a function for) whose
        function was never called: what the body ran did not reach them (a model built or traced
        outside the body, or one that has no such part)."""
        return sorted(p for p in (self.calls if parts is None else parts) if not self.calls[p])


def _checked(value):
    """The :class:`Formulation` that ``value`` (one, a :class:`Version` or a version's name)
    stands for, each of its parts a function."""
    f = version(value) if isinstance(value, str) else value
    f = f.formulation if isinstance(f, Version) else f
    if not isinstance(f, Formulation):
        raise TypeError('not a formulation: %r' % (value,))
    for part in PARTS:
        fn = getattr(f, part)
        if not (callable(fn) or (fn is None and part == 'hands_on_squeeze')):
            raise TypeError('formulation %r: its %s is %r, not a function'
                            % (f.name, part, fn))
    return f


_FORCED = threading.local()      # per thread: Gluon traces a graph on the calling thread


def _stack():
    if not hasattr(_FORCED, 'stack'):
        _FORCED.stack = []
    return _FORCED.stack


@contextmanager
def use(value):
    """Make a formulation current for what is built, traced or run in the body (on this
    thread); yields its :class:`Reached` record.

    Parameters
    ----------
    value : Formulation, Version or str
        A formulation, a version of :data:`VERSIONS` or its name.

    Build the model in the body (a residual stage reads the squeeze hand-on rule when it is
    built) and trace or run it there (a hybridized model keeps the graph of its first call,
    traced with the formulation of that moment; an imperative one reads it at every step).
    :meth:`Reached.unused` names the parts the body never reached: check it before trusting a
    comparison.  Contexts nest; the innermost applies.

    Raises
    ------
    KeyError
        For a name that is no version.
    TypeError
        For a value that is no formulation, or a part that is not a function.
    """
    reached = Reached(_checked(value))
    stack = _stack()
    stack.append(reached.counting)
    try:
        yield reached
    finally:
        stack.pop()


def portable_graph():
    """Build every graph traced in the body with the portable formulation, whatever the device
    (the exports: :mod:`ini_gluon.export`): ``use(PORTABLE)``."""
    return use(PORTABLE)


def forced():
    """The formulation forced by the innermost :func:`use` of this thread, or ``None``."""
    stack = _stack()
    return stack[-1] if stack else None


def in_use(F, block, x):
    """The :class:`Formulation` for ``block`` applied to ``x``: the one :func:`use` forces;
    else :data:`CPU` where ``x`` (an NDArray) or, while a graph is traced, every parameter of
    ``block`` is on the CPU, and :data:`PORTABLE` on GPUs and for a block without
    parameters."""
    f = forced()
    if f is not None:
        return f
    return CPU if on_cpu(F, block, x) else PORTABLE


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


def hand_on_rule(default):
    """The squeeze hand-on rule a residual stage built now follows: the forced formulation's,
    or ``default`` (the stage's own) where none is forced or it holds none."""
    f = forced()
    return default if f is None or f.hands_on_squeeze is None else f.hands_on_squeeze
