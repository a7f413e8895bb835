"""``--ema DECAY``: an exponential moving average of a network's weights, evaluated and exported
beside the trained weights.

Written here because neither MXNet 1.9.1 nor GluonCV 0.10.5 (its MXNet half) keeps one.  The
average is TensorFlow's ``tf.train.ExponentialMovingAverage`` with ``num_updates``: after the
optimizer's update ``n`` (counted from 0), ``average = d * average + (1 - d) * weight`` with
``d = min(DECAY, (1 + n) / (10 + n))``, so that a short run's average is not held near the
initial weights; it starts from the weights before the first update.  Every parameter is
averaged, the BatchNorm running statistics too (as timm's ``ModelEmaV2`` averages the buffers),
in float32 on the first device.
"""
from contextlib import contextmanager

import mxnet as mx

__all__ = ['WeightAverage']

AGGREGATE = 60          # arrays per call of MXNet's multi-tensor kernel (its maximum)


class WeightAverage(object):
    """The moving average of ``net``'s parameters with ``decay`` (see the module's description).

    ``updates``: how many updates it has averaged; :meth:`save` / :meth:`load` write and read
    it as a parameter file of ``net`` (the format of ``save_parameters``, which
    ``load_parameters`` and the exports read) and a JSON record.
    """

    def __init__(self, net, decay):
        self.net, self.decay = net, decay
        self.params = net._collect_params_with_prefix()     # the names save_parameters writes
        self.arrays, self.updates = None, 0

    @property
    def started(self):
        return self.arrays is not None

    def start(self):
        """Begin from the network's weights as they are (before the first update)."""
        self.arrays = {name: self._weight(p).astype('float32', copy=True)
                       for name, p in self.params.items()}

    @staticmethod
    def _weight(param):
        return param.data(param.list_ctx()[0])

    def factor(self, n=None):
        """The decay of update ``n`` (default: the next): ``min(DECAY, (1 + n) / (10 + n))``."""
        n = self.updates if n is None else n
        return min(self.decay, (1.0 + n) / (10.0 + n))

    def update(self):
        """Average in the network's weights after an update.  MXNet's fused SGD kernel does it,
        60 arrays a call (``multi_sgd_update``, the most MXNet aggregates, as its
        ``MXNET_OPTIMIZER_AGGREGATION_SIZE`` says): ``average - lr (rescale * weight + wd *
        average)`` with ``lr = 1 - d``, ``wd = 1``, ``rescale = -1`` is ``d * average + (1 - d) *
        weight``, one call instead of three operations an array (a step of ResNet-8 took 25 ms
        longer so)."""
        d = self.factor()
        averages = [self.arrays[name] for name in self.params]
        weights = [self._weight(p).astype('float32', copy=False) for p in self.params.values()]
        for i in range(0, len(averages), AGGREGATE):
            part = averages[i:i + AGGREGATE]
            pairs = [a for pair in zip(part, weights[i:i + AGGREGATE]) for a in pair]
            mx.nd.multi_sgd_update(*pairs, lrs=[1.0 - d] * len(part), wds=[1.0] * len(part),
                                   rescale_grad=-1.0, num_weights=len(part), out=part)
        self.updates += 1

    @contextmanager
    def applied(self):
        """The network holds the averaged weights within the body, its own after it."""
        own = {name: self._weight(p).copy() for name, p in self.params.items()}
        try:
            for name, p in self.params.items():
                p.set_data(self.arrays[name].astype(p.dtype, copy=False))
            yield self.net
        finally:
            for name, p in self.params.items():
                p.set_data(own[name])

    def save(self, path):
        """Write the average to ``path`` as the network's parameter file; returns its record
        (for a checkpoint's ``meta.json``)."""
        mx.nd.save(path, {name: self.arrays[name].astype(p.dtype, copy=False)
                          for name, p in self.params.items()})
        return {'decay': self.decay, 'updates': self.updates}

    def load(self, path, record):
        """Read the average :meth:`save` wrote (``ValueError`` where it does not fit)."""
        try:
            arrays = mx.nd.load(path)
            updates = int(record['updates'])
        except (mx.base.MXNetError, KeyError, TypeError, ValueError) as err:
            raise ValueError('%s: not an average of the weights this run wrote (%s)'
                             % (path, str(err).splitlines()[0] if str(err) else 'unreadable'))
        if not isinstance(arrays, dict) or set(arrays) != set(self.params):
            raise ValueError('%s: its arrays are not the parameters of the network' % path)
        for name, p in self.params.items():
            if tuple(arrays[name].shape) != tuple(p.shape):
                raise ValueError('%s: %s has shape %s, the parameter %s'
                                 % (path, name, arrays[name].shape, p.shape))
        context = self.params[next(iter(self.params))].list_ctx()[0]
        self.arrays = {name: a.as_in_context(context).astype('float32') for name, a in
                       arrays.items()}
        self.updates = updates
