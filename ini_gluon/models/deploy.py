"""``net.export`` of every network :func:`~ini_gluon.models.get_model` builds: the portable
graph, whatever the device the network lives on.

Gluon's ``HybridBlock.export`` writes the graph the last call traced: on the CPU, the CPU
formulation of the attention's arithmetic (``batch_dot`` of reshaped columns,
:mod:`ini_gluon.layers.formulation`), which MXNet's ONNX exporter cannot convert and GPUs do not
run fast.  The ``export`` a built network carries traces the graph again under
:func:`~ini_gluon.layers.portable_graph` (pooling and ``broadcast_mul``: the same outputs) and
writes that; the network's next call traces its own device's formulation again.
"""
import types

import mxnet as mx
from mxnet.gluon.block import HybridBlock

from ..layers.formulation import portable_graph

__all__ = ['portable_export', 'attach_export', 'check_initialised']


def check_initialised(net, what='exported'):
    """A one-line ``ValueError`` where a parameter of ``net`` is not initialised (its shapes may
    still be deferred: the first input infers them)."""
    for param in net.collect_params().values():
        if param._data is None and not param._deferred_init:
            raise ValueError('%s cannot be %s: it is not initialised (net.initialize(), or load '
                             'its weights, first; parameter %s)'
                             % (getattr(net, 'model_name', net.name), what, param.name))


def portable_export(net, path, epoch=0, remove_amp_cast=True):
    """Write ``path-symbol.json`` and ``path-%04d.params`` (``epoch``) of the portable graph of
    ``net`` (``HybridBlock.export``'s files and arguments), hybridized or not.

    The network must be initialised (``ValueError`` otherwise; its shapes may still be
    deferred: they are inferred from an input of ``net.input_shape``).  Its cached graph is
    dropped: the next call traces the formulation of its device again.
    """
    check_initialised(net)
    # an input of net.input_shape on the parameters' device: its shape finishes a deferred
    # initialisation, nothing is computed
    ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    data = mx.nd.zeros(net.input_shape, ctx=ctx)
    net._clear_cached_op()
    try:
        with portable_graph():
            net._build_cache(data)
        HybridBlock.export(net, path, epoch, remove_amp_cast=remove_amp_cast)
    finally:
        net._clear_cached_op()


def attach_export(net):
    """Give ``net`` the ``export`` of :func:`portable_export` (its docstring included)."""
    net.export = types.MethodType(portable_export, net)
    return net
