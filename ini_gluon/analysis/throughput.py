"""What a model costs: training and inference throughput, measured with the models
interleaved in one process (``python -m ini_gluon.compare``, ``benchmarks/throughput.py``);
multiply-adds (``mxop``); and the peak memory of training a model, in a fresh process of its
own (``python -m ini_gluon.memory``).
"""
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import mxnet as mx
from mxnet import autograd, gluon
from mxnet.base import MXNetError
from mxnet.gluon import nn

from ..models import get_model, network_or_name
from .._argparse import allocation_failure
from .summary import named_shapes
from ..training.loop import hybridize_for_training

__all__ = ['Bench', 'OutOfMemory', 'measure', 'interleaved', 'count_flops', 'trace_counts',
           'own_peak_mib', 'format_mib', 'read_mib', 'peak_training_memory']


def _net(name, classes, ctx):
    net = get_model(name, classes=classes)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return net


def count_flops(net, input_size=None, classes=None):
    """Multiply-adds of one image: those of every ``Conv2D``, ``Dense`` and ``BatchNorm`` layer,
    as ``mxop`` counts them (``mxop.gluon.count_ops(...)['muls']``).

    Parameters
    ----------
    net : HybridBlock or str
        A network, as it is (initialised or not, hybridized or not: it is traced symbolically,
        its state untouched), or a model name (built with ``classes``, default 1000 for an
        ImageNet network, else 10).
    input_size : tuple, optional
        ``(3, H, W)`` of one image (timm's ``input_size``); by default the network's
        (``net.input_shape``).
    """
    net = network_or_name(net, classes, input_size[-1] if input_size is not None else None,
                          gluon.HybridBlock)
    shape = (1,) + tuple(input_size) if input_size is not None else \
        tuple(getattr(net, 'input_shape', (1, 3, 32, 32)))
    if len(shape) != 4:
        raise ValueError('input_size must be (3, H, W), not %s' % (tuple(input_size),))
    return trace_counts(net, shape)[0]


def trace_counts(net, shape):
    """``(multiply-adds, {parameter name: shape})`` of ``net`` (a network) from one symbolic
    pass on a batch of ``shape`` ``(N, 3, H, W)``: :func:`count_flops`'s count and
    :func:`~ini_gluon.analysis.summary.param_shapes`'s shapes (auxiliary states included)."""
    calls = {}
    handles = []

    def record(block, inputs, output):
        calls[block] = (inputs[0], output)        # the last call of a block, as mxop's hooks
    net.apply(lambda b: handles.append(b.register_forward_hook(record))
              if type(b) in _COUNTED else None)
    try:
        out = net(mx.sym.var('data'))
    finally:
        for handle in handles:
            handle.detach()
    symbols = [s for pair in calls.values() for s in pair]
    outputs = list(out) if isinstance(out, (list, tuple)) else [out]    # a feature network's
    group = mx.sym.Group([s[0] if len(s.list_outputs()) > 1 else s for s in symbols] + outputs)
    params, shapes = named_shapes(group, shape)
    flops = int(sum(_COUNTED[type(block)](block, shapes[2 * i], shapes[2 * i + 1])
                    for i, block in enumerate(calls)))
    return flops, params


def _product(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


# mxop's formulas (mxop.gluon.count_hooks): a convolution's kernel over its group's input
# channels for each output value; a dense layer's input size less one for each output value
# (mxop's own count); one multiplication per value for BatchNorm
_COUNTED = {
    nn.Conv2D: lambda b, x, y: _product(y) * _product(b._kwargs['kernel']) * (
        x[1] // b._kwargs['num_group']),
    nn.Dense: lambda b, x, y: _product(y) * (_product(x[1:]) - 1),
    nn.BatchNorm: lambda b, x, y: _product(x),
}


class OutOfMemory(RuntimeError):
    """The machine cannot hold a model at the batch asked for: one line (exit 1)."""


@contextmanager
def _memory(doing, name, batch):
    """An allocation that fails while ``doing`` (``'building'``, ``'training'``) ``name`` at
    ``batch`` as an :class:`OutOfMemory` of one line, not MXNet's C++ stack trace."""
    try:
        yield
    except (MemoryError, MXNetError) as err:
        why = allocation_failure(err)
        if why is None:
            raise
        raise OutOfMemory('out of memory %s %s at batch %d: %s' % (doing, name, batch, why)) \
            from None


class Bench(object):
    """One model ready to be timed: a training copy and (unless ``infer`` is false) an inference
    copy, hybridized with static allocation unless ``hybrid`` is false.  An allocation that
    fails, building it or in a step, is an :class:`OutOfMemory`."""

    def __init__(self, name, shape, batch, classes, ctx, hybrid=True, infer=True):
        with _memory('building', name, batch):
            self._build(name, shape, batch, classes, ctx, hybrid, infer)

    def _build(self, name, shape, batch, classes, ctx, hybrid, infer):
        self.name, self.batch = name, batch
        self.data = mx.nd.random.uniform(-1, 1, shape=(batch,) + tuple(shape), ctx=ctx)
        self.label = mx.nd.arange(batch, ctx=ctx) % classes
        self.train_net = _net(name, classes, ctx)
        self.trainer = gluon.Trainer(self.train_net.collect_params(), 'nag',
                                     {'learning_rate': 0.01, 'momentum': 0.9})
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()
        self.infer_net = _net(name, classes, ctx) if infer else None
        if hybrid:                      # as training and inference do
            hybridize_for_training(self.train_net)
            if self.infer_net is not None:
                self.infer_net.hybridize(static_alloc=True, static_shape=True)
        self.train_step()                           # build the graphs, first allocations
        if infer:
            self.infer_step()

    def train_step(self):
        with _memory('training', self.name, self.batch):
            with autograd.record():
                loss = self.loss(self.train_net(self.data), self.label)
            loss.backward()
            self.trainer.step(self.batch)
            mx.nd.waitall()

    def infer_step(self):
        with _memory('running', self.name, self.batch):
            self.infer_net(self.data).wait_to_read()

    def rate(self, step, iters):
        tic = time.perf_counter()
        for _ in range(iters):
            step()
        return self.batch * iters / (time.perf_counter() - tic)


def measure(names, input_shape, batch, classes=10, repeats=3, iters=3, ctx=None):
    """Median training and inference img/s of each model, interleaved, ``repeats`` times."""
    ctx = ctx or mx.cpu()
    rates = interleaved([(n, Bench(n, input_shape, batch, classes, ctx)) for n in names],
                        repeats, iters)
    return {n: r[0] for n, r in rates.items()}, {n: r[1] for n, r in rates.items()}


def interleaved(benches, repeats=3, iters=3):
    """``{key: [train img/s, infer img/s]}``, medians of ``repeats`` rounds over the
    ``(key, _Bench)`` pairs in turn, so that the machine's drift falls on all alike."""
    train = {key: [] for key, _ in benches}
    infer = {key: [] for key, _ in benches}
    for _ in range(repeats):
        for key, bench in benches:
            train[key].append(bench.rate(bench.train_step, iters))
            infer[key].append(bench.rate(bench.infer_step, iters))
    return {key: [statistics.median(train[key]), statistics.median(infer[key])]
            for key in train}


def own_peak_mib():
    """This process's peak resident memory in MiB: ``VmHWM`` of ``/proc/self/status``.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries ``ru_maxrss`` across ``exec``, so
    a child started by fork (or vfork) + exec reports at least its parent's high-water mark.
    ``VmHWM`` belongs to the address space, which ``exec`` replaces.
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError('/proc/self/status has no VmHWM line: peak memory needs Linux')


def peak_training_memory(name, input_shape, batch, classes=10, steps=2):
    """Peak resident memory (MiB) of a fresh process that builds ``name`` and runs ``steps``
    training steps on a batch of ``batch`` inputs of ``input_shape`` ``(3, H, W)``."""
    _, height, width = input_shape
    if height != width:
        raise ValueError('square inputs only, not %s' % (input_shape,))
    out = subprocess.run([sys.executable, '-m', 'ini_gluon.memory', name, '--size', str(height),
                          '--batch', str(batch), '--classes', str(classes), '--steps',
                          str(steps)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError('measuring the memory of %s failed (exit %d): %s'
                           % (name, out.returncode, out.stderr.strip()[-500:]))
    return read_mib(out.stdout.strip().splitlines()[-1])


def format_mib(mib):
    """A memory figure as ``python -m ini_gluon.memory`` prints it: ``'312.4 MiB'``."""
    return '%.1f MiB' % mib


def read_mib(text):
    """The MiB of a :func:`format_mib` line: ``'312.4 MiB'`` -> 312.4."""
    number, unit = text.split()
    if unit != 'MiB':
        raise ValueError('expected a figure in MiB, not %r' % (text,))
    return float(number)
