"""The optimizer of a run: ``--optimizer nag`` (the papers' SGD with Nesterov momentum), ``sgd``
(heavy-ball momentum), both MXNet's own, or ``adamw``; ``--no-wd-bn-bias`` as GluonCV's
``--no-wd``.

MXNet 1.9.1 has AdamW's update kernel (``mx.nd.contrib.adamw_update``, weight decay decoupled
from the gradient, Loshchilov and Hutter 2019) but registers no optimizer that calls it (its
``adam`` adds the weight decay to the gradient: L2 regularisation, not AdamW), and GluonCV 0.10.5
has none: :class:`AdamW` is the optimizer around MXNet's kernel, registered with MXNet under the
name ``adamw``.  Its state is Adam's, ``(mean, variance)`` per parameter, which the checkpoints'
state format (:mod:`ini_gluon.run.optimizer_state`) holds as it holds any tuple of arrays.
"""
import math

import mxnet as mx

__all__ = ['AdamW', 'optimizer_params', 'no_weight_decay_on_bn_and_bias']


@mx.optimizer.register
class AdamW(mx.optimizer.Optimizer):
    """Adam with decoupled weight decay, PyTorch's ``AdamW`` update through MXNet's kernel: at
    update ``t`` with learning rate ``lr``, ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2)
    g^2``, ``w -= lr (sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps) + wd w)`` -- the bias
    correction folded into the step as MXNet's ``adam`` folds it (so ``eps`` is not scaled by
    it).  The learning rate (and its schedule) multiplies the weight decay too, as in PyTorch
    and timm.

    Parameters
    ----------
    beta1, beta2, epsilon : float
        Adam's (default 0.9, 0.999, 1e-8).
    **kwargs
        MXNet's optimizer options: ``learning_rate``, ``wd``, ``lr_scheduler``,
        ``rescale_grad``, ``clip_gradient``, ``multi_precision``.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super(AdamW, self).__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self._rescales = {}

    def create_state(self, index, weight):
        zeros = lambda: mx.nd.zeros(weight.shape, weight.context,  # noqa: E731
                                    dtype=weight.dtype, stype=weight.stype)
        return (zeros(), zeros())

    def _rescale(self, context):
        """``rescale_grad`` as the kernel takes it, an array on the weight's device."""
        key = (context, self.rescale_grad)
        if key not in self._rescales:
            self._rescales[key] = mx.nd.full((1,), self.rescale_grad, ctx=context)
        return self._rescales[key]

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        correction = math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        options = {'beta1': self.beta1, 'beta2': self.beta2, 'epsilon': self.epsilon}
        if self.clip_gradient is not None:
            options['clip_gradient'] = self.clip_gradient
        mean, var = state
        mx.nd.contrib.adamw_update(weight, grad, mean, var, self._rescale(weight.context),
                                   lr=correction, eta=lr, wd=wd, out=weight, **options)


def optimizer_params(s):
    """MXNet's options of the run's optimizer (the schedule apart): the learning rate, the
    weight decay, the momentum of ``nag`` and ``sgd``."""
    params = {'learning_rate': s.lr, 'wd': s.wd, 'multi_precision': s.dtype == 'float16'}
    if s.optimizer in ('nag', 'sgd'):
        params['momentum'] = s.momentum
    return params


def no_weight_decay_on_bn_and_bias(net):
    """No weight decay on the BatchNorm scales and shifts and on the biases: GluonCV's
    ``--no-wd`` (``scripts/classification/imagenet/train_imagenet.py``), the same pattern."""
    for param in net.collect_params('.*beta|.*gamma|.*bias').values():
        param.wd_mult = 0.0
