"""What the attention of a network computes, block by block, as NumPy arrays.

``inspect(net, batch)`` runs a batch through a network -- trained or fresh from
:func:`ini_gluon.get_model`, hybridized or not -- and returns, for every attention layer, what
the layer computed on the way (InI paper Section III; CMPE-SE paper Section 3):

- ``squeezed`` û ``(N, C)``, the global average of each channel of ``U`` (eq. 2), and
  ``identity_squeezed`` x̂ of the identity (eq. 17) where the layer uses it;
- ``inner_imaged_map`` ``(N, rows, cols)``: the signals in the layer's layout (``fold`` eq. 4,
  ``stack`` eq. 19, ``alt`` eq. 24: residual rows first).  Layers without a map (SE, the
  double-FC CMPE-SE, CBAM) get the fold of û over the columns an InI layer of the block would
  use (the divisor of C nearest the backbone's column count; 16 in GluonCV's own SE
  networks), so that they can be shown beside one;
- ``grouping_maps``: per kept G-filter shape, its grouping map v'_j ``(N, n, m)`` (eq. 5-7),
  and ``group_signals``, their aggregate (eq. 10-12);
- ``attention`` s ``(N, C)`` in (0, 1) (eq. 13-14);
- ``rescaled_map``: the same layout of the signals after the rescaling, ``s * û`` in place of
  û (the identity rows unchanged): the squeeze of ``s o U`` (the CMPE-SE paper's "simulated
  inner-imaged maps after been re-weighted", its Figs. 5-9);
- ``spatial_maps`` ξ ``(N, τ, H, W)`` of the ``_spa`` models (eq. 50-51) and CBAM.

The values are the layer's own forward pass (:meth:`ChannelAttention.attend
<ini_gluon.layers.channel_attention.ChannelAttention.attend>`), run on the inputs the layer saw
in the network's forward pass; each is checked against the output the network computed.  A
hybridized network runs imperatively for the inspection and is hybridized as before afterwards
(its graph is built again on its next call).  GluonCV's own SE networks (``se_resnet50_v2``)
are inspected too: their SE block's input and output are û and s.
"""
import contextlib
from collections import namedtuple

import mxnet as mx
import numpy as np
from gluoncv.model_zoo.resnet import BasicBlockV1, BasicBlockV2, BottleneckV1, BottleneckV2

from ..layers.channel_attention import ChannelAttention
from ..layers.g_filters import closest_divisor
from ..layers.inner_imaging import inner_imaged_map
from ..models.residual import AttentionBlock
from .summary import residual_blocks

__all__ = ['AttentionRecord', 'Inspection', 'attention_layers', 'inspect', 'imperative',
           'MAP_COLS']

MAP_COLS = 16     # the map columns of the InI layers (the divisor of C nearest it)

AttentionRecord = namedtuple('AttentionRecord', [
    'label', 'stage', 'name', 'kind', 'channels', 'layout', 'map_shape', 'squeezed',
    'identity_squeezed', 'inner_imaged_map', 'grouping_maps', 'group_signals', 'attention',
    'rescaled_map', 'spatial_maps'])
AttentionRecord.__doc__ = """One attention layer's values for a batch (NumPy arrays; see the
module's docstring): ``label`` ``stage<i>.<j>`` (the model summary's), ``stage``, ``name`` (the
attention layer's parameter prefix), ``kind`` ('ini', 'se', 'cmpe_se_3x3', ...), ``channels`` C,
``layout`` and ``map_shape`` ``(rows, cols)`` of ``inner_imaged_map`` and ``rescaled_map``;
``grouping_maps`` a tuple of ``(G-filter, array)``, empty without G-filters; ``None`` where a
layer has no such value."""

Inspection = namedtuple('Inspection', ['logits', 'blocks'])
Inspection.__doc__ = """``logits`` ``(N, classes)`` of the network's forward pass, ``blocks``
the :class:`AttentionRecord` of each inspected layer in the order of the forward pass."""


def attention_layers(net):
    """``[(label, block, layer)]``: every attention layer of ``net`` in order, with its residual
    block and the block's label ``stage<i>.<j>`` (numbered as in :func:`ini_gluon.summary`,
    plain blocks included)."""
    found = []
    # the project's blocks and GluonCV's own (the SE ImageNet ResNets)
    for label, block in residual_blocks(net, (AttentionBlock, BasicBlockV1, BasicBlockV2,
                                              BottleneckV1, BottleneckV2)):
        layer = getattr(block, 'attn', None) if isinstance(block, AttentionBlock) else \
            getattr(block, 'se', None)
        if layer is not None:
            found.append((label, block, layer))
    return found


@contextlib.contextmanager
def imperative(net):
    """Run ``net`` imperatively inside the ``with`` (so that every layer's forward hooks see
    NDArrays); afterwards each block is hybridized as it was, with its flags, and builds its
    graph again on its next call."""
    blocks = []
    net.apply(lambda b: blocks.append(b) if isinstance(b, mx.gluon.HybridBlock) else None)
    keys = ('_active', '_flags', '_backend', '_backend_opts')
    states = [(b, [(k, getattr(b, k)) for k in keys if hasattr(b, k)]) for b in blocks]
    net.hybridize(False)
    try:
        yield net
    finally:
        for block, state in states:
            for key, value in state:
                setattr(block, key, value)
            block._clear_cached_op()


def as_batch(net, batch, ctx=None):
    """``batch`` (NDArray or numpy, ``(N, 3, H, W)``) as an NDArray of the parameters' dtype on
    ``ctx`` (default: the parameters' context); a ``ValueError`` for another shape."""
    first = list(net.collect_params().values())[0]
    ctx = ctx or first.list_ctx()[0]
    if len(batch.shape) != 4 or batch.shape[1] != 3:
        raise ValueError('expected a batch of images (N, 3, H, W), not an array of shape %s'
                         % (tuple(batch.shape),))
    if isinstance(batch, mx.nd.NDArray):
        return batch.as_in_context(ctx).astype(first.dtype, copy=False)
    return mx.nd.array(batch, ctx=ctx, dtype=first.dtype)


def inspect(net, batch, blocks=None, ctx=None):
    """Run ``batch`` through ``net`` and return what each attention layer computed.

    Parameters
    ----------
    net : HybridBlock
        Initialised (a model from :func:`ini_gluon.get_model` after ``initialize()``, or a
        trained one's ``net``).
    batch : NDArray or numpy array, ``(N, 3, H, W)``
        Normalised as the network's input.
    blocks : sequence of str, optional
        Labels (``stage2.0``) of the blocks to keep; default every attention block.
    ctx : Context, optional
        Where ``batch`` goes (default: the context of the network's parameters).

    Returns
    -------
    Inspection
    """
    layers = attention_layers(net)
    if blocks is not None:
        layers = _select(layers, [blocks] if isinstance(blocks, str) else list(blocks))
    data = as_batch(net, batch, ctx)
    seen = {}
    handles = [layer.register_forward_hook(_capture(seen, label)) for label, _, layer in layers]
    with imperative(net), mx.autograd.predict_mode():
        try:
            logits = net(data)
        finally:
            for handle in handles:
                handle.detach()
        records = [_record(label, block, layer, *seen[label]) for label, block, layer in layers]
    return Inspection(logits.asnumpy(), records)


def _select(layers, labels):
    known = dict((label, (label, block, layer)) for label, block, layer in layers)
    missing = [label for label in labels if label not in known]
    if missing:
        raise ValueError('no attention block %s in this model: it has %s'
                         % (', '.join(missing), ', '.join(known) or 'none'))
    return [known[label] for label in labels]


def _capture(seen, label):
    def hook(layer, args, output):
        seen[label] = (args, output)
    return hook


def _record(label, block, layer, args, output):
    if isinstance(layer, ChannelAttention):
        pieces = layer.attend(mx.nd, *args)
        out = output[0] if isinstance(output, (tuple, list)) else output
        _check_same(label, pieces['output'], out)
        kind = layer.describe()['kind']
    else:       # GluonCV's SE block: AdaptiveAvgPooling2D -> Dense, ReLU, Dense, sigmoid
        pieces = {'squeezed': args[0], 'attention': output}
        kind = 'se'
    return _arrays(label, block, layer, kind, pieces)


def _check_same(label, recomputed, computed):
    a, b = recomputed.asnumpy(), computed.asnumpy()
    if not np.allclose(a, b, rtol=1e-5, atol=1e-6):
        raise RuntimeError('the attention of %s computed %g away from its output in the '
                           'forward pass' % (label, float(np.abs(a - b).max())))


def _arrays(label, block, layer, kind, pieces):
    u_hat = pieces['squeezed'].reshape((0, -1))
    s = pieces['attention'].reshape((0, -1))
    x_hat = pieces.get('identity_squeezed')
    plan = getattr(layer, 'plan', None)
    channels = u_hat.shape[1]
    if plan is not None:
        layout, shape = plan.layout, plan.map_shape
        maps = tuple((str(g), m.asnumpy()[:, 0]) for (g, _), m in
                     zip(plan.kept, pieces['grouping_maps']))
        grouped = pieces['group_signals'].asnumpy()[:, 0]
    else:       # the columns the block's InI layer would have (the backbone's rule)
        cols = closest_divisor(channels, getattr(block, 'map_cols', MAP_COLS))
        layout, shape, maps, grouped = 'fold', (channels // cols, cols), (), None
    rescaled = u_hat * s
    as_map = _layout(layout, shape)
    spatial = pieces.get('spatial_maps')
    return AttentionRecord(
        label=label, stage=label.split('.')[0], name=layer.prefix.rstrip('_'), kind=kind,
        channels=channels, layout=layout, map_shape=tuple(shape),
        squeezed=u_hat.asnumpy(),
        identity_squeezed=None if x_hat is None else x_hat.reshape((0, -1)).asnumpy(),
        inner_imaged_map=(pieces['inner_imaged_map'].asnumpy()[:, 0]
                          if 'inner_imaged_map' in pieces else as_map(u_hat, x_hat)),
        grouping_maps=maps, group_signals=grouped,
        attention=s.asnumpy(), rescaled_map=as_map(rescaled, x_hat),
        spatial_maps=None if spatial is None else spatial.asnumpy())


def _layout(layout, shape):
    """``(N, C)`` signals to ``(N, rows, cols)`` by the layers' own :func:`inner_imaged_map`."""
    def as_map(u_hat, x_hat):
        u4 = u_hat.reshape((0, 0, 1, 1))
        x4 = None if x_hat is None else x_hat.reshape((0, -1, 1, 1))
        return inner_imaged_map(mx.nd, u4, x4, layout, shape).asnumpy()[:, 0]
    return as_map
