"""Grad-CAM heat maps (Selvaraju et al., ICCV 2017; the InI paper's ref. [75] and its Fig. 9).

For a class ``c`` and the activations ``A`` ``(K, h, w)`` of a chosen layer, the weight of each
channel is the average gradient of the class score over the map,
``α_k = mean_ij ∂y^c / ∂A^k_ij`` (Grad-CAM eq. 1), and the heat map is
``ReLU(Σ_k α_k A^k)`` (eq. 2), resized bilinearly to the input and divided by its maximum.

Written here since neither GluonCV nor MXNet has one.  The layers are the children of the
network's ``features`` (GluonCV's layout: ``net(x) = net.output(net.features(x))``, which every
model of the project and GluonCV's ResNets follow), named by their parameter prefix
(``stage3``, ``relu0``); the default is the last of them whose output is still a map.
"""
from collections import namedtuple

import mxnet as mx
import numpy as np

from .inspect import as_batch, imperative

__all__ = ['GradCAM', 'feature_layers', 'grad_cam']

GradCAM = namedtuple('GradCAM', ['heatmaps', 'classes', 'probabilities', 'layer'])
GradCAM.__doc__ = """``heatmaps`` ``(N, H, W)`` in [0, 1] over the input, ``classes`` ``(N,)``
the class each explains, ``probabilities`` ``(N, classes)`` of the network, ``layer`` the
name of the layer used."""


def feature_layers(net):
    """``[(name, block)]``: the children of ``net.features`` in order, named by their parameter
    prefix without the network's (``stage3``, ``relu0``; the index where a prefix is empty)."""
    if not (hasattr(net, 'features') and hasattr(net, 'output')):
        raise ValueError('Grad-CAM needs a network made of features and output (as GluonCV '
                         'builds them); %s is not' % type(net).__name__)
    layers = []
    for index, child in enumerate(net.features._children.values()):
        name = child.prefix[len(net.prefix):] if child.prefix.startswith(net.prefix) else \
            child.prefix
        layers.append((name.rstrip('_') or str(index), child))
    return layers


def _is_map(out):
    return out.ndim == 4 and out.shape[2] * out.shape[3] > 1


def _run_to(layers, data, layer):
    """``(index of the layer, its output)``: ``layer`` by name, or the last map."""
    names = [name for name, _ in layers]
    if layer is not None and layer not in names:
        raise ValueError('no layer %r in the features of this model: it has %s'
                         % (layer, ', '.join(names)))
    outputs, x = [], data
    for name, child in layers:
        x = child(x)
        outputs.append(x)
        if name == layer:
            if not _is_map(x):
                raise ValueError('layer %r gives %s, not a map of more than one position: '
                                 'Grad-CAM needs one (the maps: %s)' % (
                                     layer, 'x'.join(map(str, x.shape)), ', '.join(
                                         n for n, out in zip(names, outputs) if _is_map(out))))
            return len(outputs) - 1, x
    maps = [i for i, out in enumerate(outputs) if _is_map(out)]
    if not maps:
        raise ValueError('the features of this model have no layer with a spatial map')
    return maps[-1], outputs[maps[-1]]


def grad_cam(net, batch, layer=None, classes=None, ctx=None):
    """Grad-CAM heat maps of ``batch`` for ``classes`` at ``layer``.

    Parameters
    ----------
    net : HybridBlock
        An initialised network with ``features`` and ``output`` (hybridized or not).
    batch : NDArray or numpy array, ``(N, 3, H, W)``
        Normalised as the network's input.
    layer : str, optional
        A name of :func:`feature_layers`; default the last one whose output is a map.
    classes : int or sequence of int, optional
        The class to explain, for all images or per image; default each image's most
        probable class.
    ctx : Context, optional

    Returns
    -------
    GradCAM
    """
    if getattr(net, 'decision_points', ()):
        raise ValueError('%s classifies the pooled outputs of several blocks (the SINet joint '
                         'decision, eq. 2-4), not its last feature map: Grad-CAM does not apply'
                         % getattr(net, 'model_name', net.name))
    layers = feature_layers(net)
    data = as_batch(net, batch, ctx)
    with imperative(net), mx.autograd.predict_mode():
        index, acts = _run_to(layers, data, layer)
        acts = acts.detach()
        acts.attach_grad()
        with mx.autograd.record(train_mode=False):
            x = acts
            for _, child in layers[index + 1:]:
                x = child(x)
            logits = net.output(x)
            chosen = _classes(logits, classes)
            score = mx.nd.pick(logits, mx.nd.array(chosen, ctx=data.context), axis=1).sum()
        # the gradient of the activations alone: the parameters' .grad stay as they were; the
        # images are independent, so each gets its own
        grad = mx.autograd.grad(score, [acts], train_mode=False)[0]
        _check_forward(net, data, logits)
        alpha = mx.nd.mean(grad, axis=(2, 3), keepdims=True)                 # eq. 1
        cam = mx.nd.relu(mx.nd.sum(alpha * acts, axis=1, keepdims=True))     # eq. 2
        cam = mx.nd.contrib.BilinearResize2D(cam, height=data.shape[2], width=data.shape[3])
    cam = cam.asnumpy()[:, 0]
    top = cam.reshape(len(cam), -1).max(axis=1)
    heat = cam / np.where(top > 0, top, 1)[:, None, None]
    return GradCAM(np.clip(heat, 0, 1), chosen, mx.nd.softmax(logits).asnumpy(),
                   layers[index][0])


def _check_forward(net, data, logits):
    expected = net(data).asnumpy()
    if not np.allclose(logits.asnumpy(), expected, rtol=1e-4, atol=1e-5):
        raise ValueError('%s does not compute output(features(x)), the layout Grad-CAM reads'
                         % type(net).__name__)


def _classes(logits, classes):
    n, count = logits.shape
    if classes is None:
        return np.argmax(logits.asnumpy(), axis=1)
    given = np.asarray(classes.asnumpy() if isinstance(classes, mx.nd.NDArray) else classes)
    if given.ndim > 1 or given.size not in (1, n) or given.dtype.kind not in 'iuf' or \
            (given != np.round(given)).any():
        raise ValueError('classes: expected one class number or one per image (%d), not %r'
                         % (n, classes))
    chosen = np.broadcast_to(given.astype(np.int64).reshape(-1), (n,)).copy()
    if chosen.min() < 0 or chosen.max() >= count:
        raise ValueError('class %d is not one of the model\'s %d classes'
                         % (chosen[(chosen < 0) | (chosen >= count)][0], count))
    return chosen
