"""Side-by-side comparison of models: parameters, FLOPs, training and inference throughput, and
(with trained parameters) validation accuracy.

``python -m ini_gluon.compare --models ini_resnet50_v2_mix5d,se_resnet50_v2,resnet50_v2
--input-size 224 --batch-size 8``

Throughputs are measured in one process with the models interleaved and the measurement
repeated (``--repeats``); the table reports medians, so their ratios hold on a noisy machine.
Training: forward + backward + Nesterov SGD update of a hybridized model (static allocation);
inference: forward of a hybridized model.  Writes ``compare.md``, ``compare.json`` and
``compare.png`` (validation error, or parameters, against inference throughput, and the
throughput bars; see :func:`plot`) into ``--out``.
"""
import json
import os
import statistics
import sys
import textwrap
import time

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

from ._argparse import OneLineParser  # noqa: E402
from .models import get_model  # noqa: E402
from .models import default_classes  # noqa: E402
from .summary import count_params  # noqa: E402
from .training.loop import hybridize_for_training  # noqa: E402

__all__ = ['measure', 'compare', 'render', 'main']


def _net(name, classes, ctx):
    net = get_model(name, classes=classes)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return net


def count_flops(name, input_shape, classes):
    """Multiply-adds of one image (``mxop``: convolution, dense and BatchNorm multiplications)."""
    from mxop.gluon import count_ops
    return count_ops(_net(name, classes, mx.cpu()), (1,) + tuple(input_shape))['muls']


class _Bench(object):
    """One model ready to be timed: a training copy and (unless ``infer`` is false) an inference
    copy, hybridized with static allocation unless ``hybrid`` is false."""

    def __init__(self, name, shape, batch, classes, ctx, hybrid=True, infer=True):
        self.name, self.batch = name, batch
        self.data = mx.nd.random.uniform(-1, 1, shape=(batch,) + tuple(shape), ctx=ctx)
        self.label = mx.nd.array([i % classes for i in range(batch)], ctx=ctx)
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
        with autograd.record():
            loss = self.loss(self.train_net(self.data), self.label)
        loss.backward()
        self.trainer.step(self.batch)
        mx.nd.waitall()

    def infer_step(self):
        self.infer_net(self.data).wait_to_read()

    def rate(self, step, iters):
        tic = time.perf_counter()
        for _ in range(iters):
            step()
        return self.batch * iters / (time.perf_counter() - tic)


def measure(names, input_shape, batch, classes=10, repeats=3, iters=3, ctx=None):
    """Median training and inference img/s of each model, interleaved, ``repeats`` times."""
    ctx = ctx or mx.cpu()
    rates = interleaved([(n, _Bench(n, input_shape, batch, classes, ctx)) for n in names],
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


def accuracy(name, params, dataset, data_dir, classes, settings=None):
    """Validation accuracy of ``name`` with ``params`` on a ``train_cifar.py`` data set, by
    ``python -m ini_gluon.evaluate``'s code: normalised with the run's ``settings`` where given,
    else as ``train_cifar.py`` normalises ``dataset``."""
    from .evaluate import evaluate, test_split
    from .runs import open_params
    from .training.data import load_dataset
    from .training.pipeline import normalisation
    data = load_dataset(dataset, data_dir)
    mean, std = ((settings['mean'], settings['std']) if settings else
                 normalisation(dataset, data[0]))
    stream, _ = test_split({'dataset': dataset, 'mean': mean, 'std': std}, 256, data)
    extra = {'drop_rate': settings['drop_rate']} if settings and 'drop_rate' in settings else {}
    trained = open_params(name, params, data[4], dataset, mean, std, **extra)
    return 1 - evaluate(trained, stream)['top1_error']


def compare(names, input_size=32, batch=64, classes=10, repeats=3, iters=3, params=None,
            dataset=None, data_dir=None, settings=None):
    """Rows (dicts) of the comparison, in the order of ``names``."""
    shape = (3, input_size, input_size)
    train, infer = measure(names, shape, batch, classes, repeats, iters)
    rows = []
    for i, name in enumerate(names):
        net = get_model(name, classes=classes)
        row = {'model': name, 'params': count_params(net, input_shape=(1,) + shape),
               'flops': count_flops(name, shape, classes), 'train_img_s': train[name],
               'infer_img_s': infer[name]}
        if params and params[i]:
            row['val_acc'] = accuracy(name, params[i], dataset, data_dir, classes,
                                      settings[i] if settings else None)
        rows.append(row)
    return rows


def render(rows, setup):
    """Markdown table with ratios to the first model."""
    ref = rows[0]
    has_acc = any('val_acc' in r for r in rows)
    head = ['model', 'params', 'FLOPs', 'train img/s', 'x first', 'infer img/s', 'x first']
    head += ['val acc'] if has_acc else []
    out = ['Compared: %s.' % setup, '', '| %s |' % ' | '.join(head),
           '|%s|' % '|'.join(['---'] + ['---:'] * (len(head) - 1))]
    for r in rows:
        cells = ['`%s`' % r['model'], '{:,}'.format(r['params']), '%.3f G' % (r['flops'] / 1e9),
                 '%.1f' % r['train_img_s'], '%.2f' % (r['train_img_s'] / ref['train_img_s']),
                 '%.1f' % r['infer_img_s'], '%.2f' % (r['infer_img_s'] / ref['infer_img_s'])]
        if has_acc:
            cells.append('%.4f' % r['val_acc'] if 'val_acc' in r else '')
        out.append('| %s |' % ' | '.join(cells))
    return '\n'.join(out) + '\n'


def plot(rows, path, setup):
    """``compare.png``: two panels and a caption.

    Left, what a model costs against what it buys: each model is a point at its *inference*
    throughput (img/s of a hybridized forward at the compared batch: the cost of using a
    trained model; the training throughput is in the right panel) and its validation error,
    with its parameter count in the legend.  Where no model has a validation accuracy (no
    ``--params`` or ``--save-dirs``) the panel shows parameters against inference throughput
    instead and says so; models without one when others have one are named in the panel.
    Right: training and inference throughput bars.  The caption is ``setup`` (inputs, batch,
    classes, MXNet and the hardware, repeats).  Returns the (closed) figure.
    """
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(max(11, 4 + 2.2 * len(rows)), 5),
                                   gridspec_kw={'width_ratios': [1, 1]})
    known = [r for r in rows if r.get('val_acc') is not None]
    for i, r in enumerate(rows):
        if known and r not in known:
            continue
        y = 1 - r['val_acc'] if known else r['params'] / 1e6
        ax.plot(r['infer_img_s'], y, 'o', markersize=9, color='C%d' % (i % 10),
                label='%s (%.2f M params)' % (r['model'], r['params'] / 1e6))
    ax.set_xlabel('inference throughput (images / s)')
    if known:
        ax.set_ylabel('validation error')
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title('validation error against inference throughput', fontsize=10)
        missing = [r['model'] for r in rows if r not in known]
        if missing:
            ax.text(0.02, 0.02, 'no validation accuracy: %s' % ', '.join(missing),
                    transform=ax.transAxes, fontsize=8, va='bottom')
    else:
        ax.set_ylabel('parameters (millions)')
        ax.set_title('parameters against inference throughput', fontsize=10)
        ax.text(0.02, 0.02, 'no validation error known: give --params or --save-dirs',
                transform=ax.transAxes, fontsize=8, va='bottom')
    ax.margins(0.25)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc='upper right')

    names = [r['model'] for r in rows]
    xs = range(len(rows))
    bars.bar([x - 0.2 for x in xs], [r['train_img_s'] for r in rows], 0.4, label='training')
    bars.bar([x + 0.2 for x in xs], [r['infer_img_s'] for r in rows], 0.4, label='inference')
    bars.set_xticks(list(xs))
    bars.set_xticklabels(names, rotation=15, fontsize=8)
    bars.set_ylabel('images / s')
    bars.set_title('throughput', fontsize=10)
    bars.legend(fontsize=8)
    fig.text(0.5, 0.01, textwrap.fill(setup, 150), ha='center', va='bottom', fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return fig


def main(argv=None):
    p = OneLineParser(prog='python -m ini_gluon.compare', description=__doc__.splitlines()[0])
    p.add_argument('--models', required=True, help='comma-separated model names')
    p.add_argument('--input-size', type=int, default=32)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--classes', type=int, default=None,
                   help='default: 1000 for 224 inputs, 10 otherwise')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--iters', type=int, default=3, help='steps per timing')
    p.add_argument('--params', type=str, default=None,
                   help='comma-separated parameter files, one per model (empty to skip)')
    p.add_argument('--save-dirs', type=str, default=None,
                   help='comma-separated train_cifar.py --save-dir folders, one per model: '
                        'their best parameters and settings')
    p.add_argument('--dataset', type=str, default=None)
    p.add_argument('--data-dir', type=str, default=None)
    p.add_argument('--out', type=str, default='compare')
    args = p.parse_args(argv)
    for flag, value, least in (('--input-size', args.input_size, 32),
                               ('--batch-size', args.batch_size, 1),
                               ('--repeats', args.repeats, 1), ('--iters', args.iters, 1),
                               ('--classes', args.classes or 2, 2)):
        if value < least:
            p.error('%s must be >= %d, not %d' % (flag, least, value))
    names = [n.strip() for n in args.models.split(',') if n.strip()]
    if not names:
        p.error('--models names no model')
    classes = args.classes or default_classes(args.input_size)
    params, settings = None, None
    try:
        for name in names:
            get_model(name)                                  # check names first
        if args.save_dirs:
            dirs = args.save_dirs.split(',')
            params = [os.path.join(d, '%s-best.params' % n) for d, n in zip(dirs, names)]
            settings = []
            for d in dirs:
                with open(os.path.join(d, 'settings.json')) as f:
                    settings.append(json.load(f))
            args.dataset = args.dataset or settings[0]['dataset']
            args.data_dir = args.data_dir or settings[0]['data_dir']
        elif args.params:
            params = args.params.split(',')
        if params and len(params) != len(names):
            raise ValueError('give one parameter file or save dir per model (%d models, %d '
                             'given)' % (len(names), len(params)))
        if params and not args.dataset:
            raise ValueError('accuracy needs --dataset (cifar10, cifar100, svhn or digits)')
        rows = compare(names, args.input_size, args.batch_size, classes, args.repeats,
                       args.iters, params, args.dataset, args.data_dir, settings)
    except (ValueError, OSError) as err:
        print('python -m ini_gluon.compare: error: %s' % err, file=sys.stderr)
        return 2
    setup = ('%dx%d inputs, batch %d, %d classes, MXNet %s on %s, medians of %d interleaved '
             'repeats of %d steps' % (args.input_size, args.input_size, args.batch_size, classes,
                                      mx.__version__, 'CPU (%d cores)' % os.cpu_count(),
                                      args.repeats, args.iters))
    table = render(rows, setup)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'compare.md'), 'w') as f:
        f.write(table)
    with open(os.path.join(args.out, 'compare.json'), 'w') as f:
        json.dump({'setup': setup, 'rows': rows}, f, indent=1)
    plot(rows, os.path.join(args.out, 'compare.png'), setup)
    sys.stdout.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
