"""Earlier formulations of the attention's arithmetic, and a switch that puts them back.

The layers compute the squeeze, the rescaling and the average over ε with operators chosen for
speed (see :mod:`ini_gluon.layers.channel_attention` and :mod:`ini_gluon.layers.inner_imaging`),
and pre-activation stages hand a block's output squeeze to the next block
(:func:`ini_gluon.models.residual.hands_on_squeeze`, asked by each stage when it is built).
Each :data:`VERSIONS` entry names the functions a version of the code used in place of the
current ones.
``benchmarks/throughput.py`` times every version and ``tests/test_fast_paths.py`` checks that
each computes what the current code computes; both switch versions with :func:`use`.

A switch replaces a function wherever the package holds it (every ``ini_gluon`` module whose
attribute is that function object), counts the calls of each replacement, and raises when a
name matches nothing: a version that switched nothing would time or test the current code under
another name.
"""
import importlib
import sys
from collections import namedtuple
from contextlib import contextmanager

__all__ = ['Version', 'VERSIONS', 'version', 'use', 'Switch', 'pooling_squeeze',
           'adaptive_squeeze', 'broadcast_mul_rescale', 'broadcast_like_rescale',
           'batch_dot_rescale', 'mean_average_filters', 'convolution_average_filters',
           'no_chaining']

SQUEEZE = 'ini_gluon.layers.channel_attention.squeeze'
RESCALE = 'ini_gluon.layers.channel_attention.rescale'
AVERAGE = 'ini_gluon.layers.inner_imaging.average_filters'
CHAIN = 'ini_gluon.models.residual.hands_on_squeeze'
IDENTITY = 'ini_gluon.layers.channel_attention.squeeze_identity'


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


Version = namedtuple('Version', ['name', 'patches', 'change', 'prediction'])
Version.__doc__ = """One formulation of the attention: ``patches`` maps the full name of a
current function (``ini_gluon.layers.channel_attention.squeeze``) to the one the version used."""

# the squeeze, the rescaling and the residual sum that the versions before the current one had
_BEFORE_COLUMNS = {SQUEEZE: adaptive_squeeze, RESCALE: broadcast_like_rescale,
                   AVERAGE: convolution_average_filters}
_BEFORE_CHAINING = dict(_BEFORE_COLUMNS, **{CHAIN: no_chaining})

# Oldest first; each with what it changed and what was predicted before it was measured.
VERSIONS = [
    Version('reference', dict(_BEFORE_CHAINING, **{
        SQUEEZE: pooling_squeeze, IDENTITY: pooling_squeeze, RESCALE: broadcast_mul_rescale,
        AVERAGE: mean_average_filters}),
        'squeeze by global `Pooling`, rescale by `broadcast_mul`, average the ε G-filter maps '
        'by `mean(axis=1)`, every block squeezes its identity', '-'),
    Version('fast squeeze + rescale', dict(_BEFORE_CHAINING, **{AVERAGE: mean_average_filters}),
            'squeeze by `AdaptiveAvgPooling2D`, rescale by `broadcast_like` + `elemwise_mul`',
            'micro-benchmarks, forward + backward on (64, 16, 32, 32): global `Pooling` 59 ms '
            'against 5.6 ms for a mean, `broadcast_mul` 19 ms against 7.7 ms for an '
            'elementwise product; predicted: most of SE\'s training overhead gone'),
    Version('ε average by convolution', dict(_BEFORE_CHAINING),
            'average the ε G-filter maps by a 1x1 convolution with the constant weight 1/ε',
            'profile of the previous version (`ini_wrn16_8_mix5d`, batch 64): `mean` and its '
            'backward took 257 ms of a 3.43 s training step and 217 ms of a 1.18 s inference '
            'step, against about 5 ms for the convolution in a micro-benchmark; predicted: InI '
            '1.08x faster in training and 1.2x in inference on WRN-16-8, little change on '
            'ResNet-56 (ε <= 4)'),
    Version('squeeze hand-on', dict(_BEFORE_COLUMNS),
            'a pre-activation block hands the squeeze of its output, `x_hat + s * u_hat`, to the '
            'next block of its stage, which no longer squeezes its identity',
            'profile of the previous version: the identity squeeze is most of what InI adds to '
            'SE in inference (`_contrib_AdaptiveAvgPooling2D` +64 ms of +113 ms on `resnet164`) '
            'and a third in training with its backward and `add_n`; predicted: InI over SE up by '
            'about 0.1 in inference on ResNet-164 and ResNet-56, less on WRN-16-8 (half its '
            'blocks follow a projection, which must still squeeze)'),
    Version('batch_dot rescale (not adopted)', dict(_BEFORE_COLUMNS,
                                                    **{RESCALE: batch_dot_rescale}),
            'squeeze hand-on, with the rescaling as a `batch_dot` of (H*W, 1) columns by the '
            'attention values',
            'its backward is a batched matrix product rather than `broadcast_like`\'s slow '
            'reduction; predicted: faster training where `_broadcast_backward` dominates the '
            'profile'),
    Version('current', {},
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


class Switch(object):
    """What :func:`use` replaced: ``places`` per function name (``module.attribute`` strings)
    and ``calls`` of each replacement since the switch."""

    def __init__(self):
        self.places, self.calls, self._undo = {}, {}, []

    def replace(self, target, replacement):
        module_name, attr = target.rsplit('.', 1)
        # the module itself, from its import path: a package attribute of the same name may be
        # something else that the package re-exports
        try:
            home = importlib.import_module(module_name)
        except ImportError:
            raise LookupError('formulation switch %r matches nothing: no module %s'
                              % (target, module_name))
        current = getattr(home, attr, None)
        if not callable(current):
            raise LookupError('formulation switch %r matches nothing: %s has no function %r'
                              % (target, module_name, attr))
        counted = self._counting(target, replacement)
        places = []
        for name, module in sorted(sys.modules.items()):
            if (name == 'ini_gluon' or name.startswith('ini_gluon.')) and module is not None:
                for key, value in list(vars(module).items()):
                    if value is current:
                        self._undo.append((module, key, value))
                        setattr(module, key, counted)
                        places.append('%s.%s' % (name, key))
        self.places[target] = places

    def _counting(self, target, replacement):
        self.calls[target] = 0

        def counted(*args, **kwargs):
            self.calls[target] += 1
            return replacement(*args, **kwargs)
        counted.__name__ = replacement.__name__
        counted.__doc__ = replacement.__doc__
        return counted

    def unused(self):
        """The targets whose replacement was never called: what the body ran did not reach
        them (a model built or traced outside the body, or one that has no such part)."""
        return sorted(target for target, n in self.calls.items() if n == 0)

    def undo(self):
        for module, key, value in reversed(self._undo):
            setattr(module, key, value)
        self._undo = []


@contextmanager
def use(name_or_version):
    """Run the body with the functions of a version (a name of :data:`VERSIONS` or a
    :class:`Version`); yields the :class:`Switch`.

    A replacement acts on what runs inside the body: build the model there (the squeeze hand-on
    is set at construction) and run it there (a hybridized model keeps the graph of its first
    call, traced with the functions of that moment; an imperative one calls the functions at
    every step).  :meth:`Switch.unused` names the replacements the body never reached: check it
    before trusting a comparison.

    Raises
    ------
    LookupError
        When a function the version replaces does not exist where it says.
    """
    v = name_or_version if isinstance(name_or_version, Version) else version(name_or_version)
    import ini_gluon  # noqa: F401  (load every module a switch may have to reach)
    switch = Switch()
    try:
        for target, replacement in v.patches.items():
            switch.replace(target, replacement)
        yield switch
    finally:
        switch.undo()
