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
import sys
import textwrap

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
import mxnet as mx  # noqa: E402

from ._argparse import OneLineParser  # noqa: E402
from .analysis.evaluation import evaluate  # noqa: E402
from .analysis.summary import count_params  # noqa: E402
from .analysis.throughput import OutOfMemory, count_flops, measure  # noqa: E402
from .data import load_dataset, normalisation, test_split  # noqa: E402
from .models import default_classes, get_model  # noqa: E402
from .run.files import (atomic_write, atomic_write_text, check_output_folder,  # noqa: E402
                        record_outputs)
from .run.settings import LIMITS, Settings  # noqa: E402
from .run.trained import load_trained, read_settings  # noqa: E402

__all__ = ['accuracy', 'compare', 'render', 'plot', 'main', 'MAX_REPEATS']

MAX_REPEATS = 1000      # --repeats and --iters: medians settle in a few

OUTPUTS = ('compare.md', 'compare.json', 'compare.png')


def accuracy(name, params, dataset, data_dir, settings=None):
    """Validation accuracy of ``name`` with ``params`` on a ``train_cifar.py`` data set, by
    ``python -m ini_gluon.evaluate``'s code: normalised with the run's
    :class:`~ini_gluon.run.settings.Settings` where given, else as ``train_cifar.py`` normalises
    ``dataset``."""
    data = load_dataset(dataset, data_dir)
    if settings is None:
        mean, std = normalisation(dataset, data[0])
        settings = Settings(model=name, dataset=dataset, data_dir=data_dir, mean=mean, std=std)
    s = settings.replace(model=name, dataset=dataset, num_classes=data[4])
    stream, _ = test_split(s, 256, data)
    source = {'run': None, 'which': None, 'epoch': None, 'params': os.path.abspath(params)}
    return 1 - evaluate(load_trained(s, source), stream)['top1_error']


def compare(names, input_size=32, batch=64, classes=10, repeats=3, iters=3, params=None,
            dataset=None, data_dir=None, settings=None):
    """Rows (dicts) of the comparison, in the order of ``names``; ``settings``: each model's
    run :class:`~ini_gluon.run.settings.Settings` (its normalisation and dropout), or ``None``.
    """
    shape = (3, input_size, input_size)
    train, infer = measure(names, shape, batch, classes, repeats, iters)
    rows = []
    for i, name in enumerate(names):
        net = get_model(name, classes=classes)
        row = {'model': name, 'params': count_params(net, input_shape=(1,) + shape),
               'flops': count_flops(name, shape, classes), 'train_img_s': train[name],
               'infer_img_s': infer[name]}
        if params and params[i]:
            row['val_acc'] = accuracy(name, params[i], dataset, data_dir,
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
    fig.savefig(path, format='png')     # the path may have no extension (a temporary)
    plt.close(fig)
    return fig


def build_parser():
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
    return p


def _parse(argv):
    """The parsed command line and its model names; a bad number is one line (exit 2)."""
    p = build_parser()
    args = p.parse_args(argv)
    for flag, value, least, most in (
            ('--input-size', args.input_size, 32, LIMITS['input_size']),
            ('--batch-size', args.batch_size, 1, LIMITS['batch_size']),
            ('--repeats', args.repeats, 1, MAX_REPEATS), ('--iters', args.iters, 1, MAX_REPEATS),
            ('--classes', args.classes or 2, 2, LIMITS['classes'])):
        if value < least:
            p.error('%s must be >= %d, not %d' % (flag, least, value))
        if value > most:
            p.error('%s must be at most %d, not %d' % (flag, most, value))
    names = [n.strip() for n in args.models.split(',') if n.strip()]
    if not names:
        p.error('--models names no model')
    return args, names


def _trained(args, names):
    """``(parameter files, run settings)`` of the models, either ``None``: from ``--save-dirs``
    (each run's best parameters and its settings; the data set is the first run's unless
    given) or ``--params``."""
    params, settings = None, None
    if args.save_dirs:
        settings = [read_settings(d) for d in args.save_dirs.split(',')]
        params = [os.path.join(d, '%s-best.params' % s.model_name)
                  for d, s in zip(args.save_dirs.split(','), settings)]
        args.dataset = args.dataset or settings[0].dataset
        args.data_dir = args.data_dir or settings[0].data_dir
    elif args.params:
        params = args.params.split(',')
    if params and len(params) != len(names):
        raise ValueError('give one parameter file or save dir per model (%d models, %d '
                         'given)' % (len(names), len(params)))
    if params and not args.dataset:
        raise ValueError('accuracy needs --dataset (cifar10, cifar100, svhn or digits)')
    return params, settings


def main(argv=None):
    args, names = _parse(argv)
    classes = args.classes or default_classes(args.input_size)
    try:
        check_output_folder(args.out, OUTPUTS)              # before the measurements
        for name in names:
            get_model(name)                                  # check names first
        params, settings = _trained(args, names)
        rows = compare(names, args.input_size, args.batch_size, classes, args.repeats,
                       args.iters, params, args.dataset, args.data_dir, settings)
    except (ValueError, OSError) as err:
        print('python -m ini_gluon.compare: error: %s' % err, file=sys.stderr)
        return 2
    except OutOfMemory as err:      # the machine's limit, not the input's: exit 1
        print('python -m ini_gluon.compare: %s' % err, file=sys.stderr)
        return 1
    setup = ('%dx%d inputs, batch %d, %d classes, MXNet %s on %s, medians of %d interleaved '
             'repeats of %d steps' % (args.input_size, args.input_size, args.batch_size, classes,
                                      mx.__version__, 'CPU (%d cores)' % os.cpu_count(),
                                      args.repeats, args.iters))
    _write(args.out, rows, setup)
    return 0


def _write(out, rows, setup):
    """``compare.md`` (also on stdout), ``compare.json`` and ``compare.png`` in ``out``."""
    table = render(rows, setup)
    os.makedirs(out, exist_ok=True)
    atomic_write_text(os.path.join(out, 'compare.md'), table)
    atomic_write_text(os.path.join(out, 'compare.json'),
                      json.dumps({'setup': setup, 'rows': rows}, indent=1))
    atomic_write(os.path.join(out, 'compare.png'), lambda tmp: plot(rows, tmp, setup))
    record_outputs(out, OUTPUTS)
    sys.stdout.write(table)


if __name__ == '__main__':
    sys.exit(main())
