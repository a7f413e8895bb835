"""Feature extraction: ``get_model(name, features_only=True, out_indices=...)`` (timm's
``features_only``), a network that returns the feature maps of its backbone's stages.

Every backbone here is a ``features`` sequence (GluonCV's layout) followed by a head. Its
*stages* are read off the sequence at the network's own input size (``net.input_shape``): from
the first child that holds a convolution (not the BatchNorm some put on the raw input), the
last child at each spatial resolution, down to the last that is still a map (not the global
pooling): the stem's output where the stem reduces the resolution, then each stage's output
(after the final BatchNorm and ReLU for the pre-activation networks, whose last stage they
close). ``resnet50_v1``: the stem at 112x112 (stride 2), then its four stages at strides 4, 8,
16 and 32; ``resnet20``: its three stages at strides 1, 2 and 4.
"""
import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

__all__ = ['FeatureNet', 'stages', 'features_net']


def _holds_convolution(block):
    found = []
    block.apply(lambda b: found.append(b) if isinstance(b, nn.Conv2D) else None)
    return bool(found)


def stages(net, input_shape):
    """``[(index, (C, H, W))]``: the index in ``net.features`` of the child that ends each
    stage, and its output shape for an input of ``input_shape`` ``(1, 3, H, W)``."""
    x, outputs = mx.sym.var('data'), []
    children = list(net.features._children.values())
    for child in children:
        x = child(x)
        outputs.append(x)
    shapes = mx.sym.Group(outputs).infer_shape(data=tuple(input_shape))[1]
    found, started = [], False
    for i, (child, shape) in enumerate(zip(children, shapes)):
        started = started or _holds_convolution(child)
        if len(shape) != 4 or shape[2] * shape[3] == 1:
            break
        if not started:
            continue
        if found and found[-1][1][1:] == shape[2:]:
            found.pop()                        # the same resolution: a later child ends it
        found.append((i, tuple(shape[1:])))
    return found


class FeatureNet(HybridBlock):
    """The ``features`` of a network up to its last stage asked for, returning the output of
    each stage of ``out_indices`` (a list of ``(N, C, H, W)`` maps, in the order asked).

    Attributes
    ----------
    feature_info : list of dict
        Per output: ``module`` (its structural name, ``features.<index>``), ``num_chs`` and
        ``reduction`` (the input's side over the map's at the network's input size), ``stage``
        (its index among the network's stages).
    """

    def __init__(self, features, taken, feature_info, **kwargs):
        super(FeatureNet, self).__init__(**kwargs)
        self._taken = tuple(taken)
        self.feature_info = feature_info
        with self.name_scope():
            self.features = features

    def hybrid_forward(self, F, x):
        outputs = {}
        for i, child in enumerate(self.features._children.values()):
            x = child(x)
            if i in self._taken:
                outputs[i] = x
        return [outputs[i] for i in self._taken]


def _checked_indices(out_indices, count, name):
    """The stage indices ``out_indices`` (``None``: all ``count``) as ``[0, count)``; a
    one-line ``ValueError`` for anything else."""
    if out_indices is None:
        return list(range(count))
    given = tuple(out_indices) if isinstance(out_indices, (list, tuple, range)) else None
    if given is None or not all(isinstance(i, int) and not isinstance(i, bool) for i in given):
        raise ValueError('out_indices must be a tuple of stage indices, not %r'
                         % (out_indices,))
    indices = [i % count for i in given if -count <= i < count]
    if len(indices) != len(given) or not indices:
        raise ValueError('out_indices %r: %s has %d stages, indices 0 to %d (or -%d to -1)'
                         % (given, name, count, count - 1, count))
    if len(set(indices)) != len(indices):
        raise ValueError('out_indices %r names a stage twice' % (given,))
    return indices


def features_net(net, out_indices, name):
    """The :class:`FeatureNet` of the network ``net`` (built, by :func:`get_model`, as
    ``name``) for the stages ``out_indices`` (``None``: all); ``net``'s ``features`` are
    moved into it, cut after the last stage asked for."""
    if not isinstance(getattr(net, 'features', None), nn.HybridSequential):
        raise ValueError('%s has no features sequence (GluonCV\'s layout: features, then the '
                         'head) to take the stages of' % name)
    found = stages(net, net.input_shape)
    indices = _checked_indices(out_indices, len(found), name)
    taken = [found[i][0] for i in indices]
    side = net.input_shape[-1]
    info = [{'stage': i, 'module': 'features.%d' % found[i][0], 'num_chs': found[i][1][0],
             'reduction': side // found[i][1][-1]} for i in indices]
    children = net.features._children
    for key in list(children)[max(taken) + 1:]:
        del children[key]
    net.features._clear_cached_op()
    return FeatureNet(net.features, taken, info, prefix=net.prefix)
