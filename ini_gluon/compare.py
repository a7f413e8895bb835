"""Side-by-side comparison of models: parameters, FLOPs, training and inference throughput, and
(with trained parameters) validation error.

``python -m ini_gluon.compare --models ini_resnet50_v2_mix5d,se_resnet50_v2,resnet50_v2
--input-size 224 --batch-size 8``; ``python -m ini_gluon.compare --run RUN --run RUN2`` compares
the models of two runs, with their validation error (``--run``, or ``--save-dir``, once per
model, in the order of ``--models`` where given; ``--save-dirs A,B`` is the same).

Throughputs are measured in one process with the models interleaved and the measurement
repeated (``--repeats``); the table reports medians, so their ratios hold on a noisy machine.
Training: forward + backward + Nesterov SGD update of a hybridized model (static allocation);
inference: forward of a hybridized model.  Writes ``compare.md``, ``compare.json`` and
``compare.png`` (validation error, or parameters, against inference throughput, and the
throughput bars; see :func:`plot`; ``--format pdf,svg`` and ``--dpi`` for a paper, ``--label
MODEL=NAME`` for the names in its legend) into ``--out``.  Errors are in % in the table and the
picture, fractions in the JSON (as a run's ``metrics.jsonl``).
"""
import json
import os
import sys
import textwrap

import mxnet as mx

from ._argparse import OneLineParser, add_run_option, first_paragraph, run_command
from .analysis.evaluation import evaluate
from .analysis.summary import count_params
from .analysis.throughput import OutOfMemory, count_flops, measure
from .data import load_dataset, normalisation, test_split
from .models import default_classes, get_model
from .run.figures import add_figure_options, display_names, new_figure, save_figure
from .run.files import atomic_write_text, check_output_folder, record_outputs
from .run.settings import LIMITS, Settings
from .run.trained import load_trained, read_settings

__all__ = ['validation_error', 'compare', 'render', 'figure', 'plot', 'outputs', 'main',
           'MAX_REPEATS']

MAX_REPEATS = 1000      # --repeats and --iters: medians settle in a few
PROG = SOFTWARE = 'python -m ini_gluon.compare'


def outputs(formats=('png',)):
    """The files ``compare`` writes into ``--out``: ``compare.<format>`` for each of
    ``formats``."""
    return ('compare.md', 'compare.json') + tuple('compare.%s' % f for f in formats)


def validation_error(name, params, dataset, data_dir, settings=None):
    """Validation error (top-1, a fraction) of ``name`` with ``params`` on a ``train_cifar.py``
    data set, by
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
    return evaluate(load_trained(s, source), stream)['top1_error']


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
            row['val_error'] = validation_error(name, params[i], dataset, data_dir,
                                                settings[i] if settings else None)
        rows.append(row)
    return rows


def render(rows, setup):
    """Markdown table with ratios to the first model (the validation error in %)."""
    ref = rows[0]
    has_error = any('val_error' in r for r in rows)
    head = ['model', 'params', 'FLOPs', 'train img/s', 'x first', 'infer img/s', 'x first']
    head += ['val error (%)'] if has_error else []
    out = ['Compared: %s.' % setup, '', '| %s |' % ' | '.join(head),
           '|%s|' % '|'.join(['---'] + ['---:'] * (len(head) - 1))]
    for r in rows:
        cells = ['`%s`' % r['model'], '{:,}'.format(r['params']), '%.3f G' % (r['flops'] / 1e9),
                 '%.1f' % r['train_img_s'], '%.2f' % (r['train_img_s'] / ref['train_img_s']),
                 '%.1f' % r['infer_img_s'], '%.2f' % (r['infer_img_s'] / ref['infer_img_s'])]
        if has_error:
            cells.append('%.2f' % (100 * r['val_error']) if 'val_error' in r else '')
        out.append('| %s |' % ' | '.join(cells))
    return '\n'.join(out) + '\n'


def figure(rows, setup, names=None):
    """The picture of ``compare``: two panels and a caption.

    Left, what a model costs against what it buys: each model is a point at its *inference*
    throughput (img/s of a hybridized forward at the compared batch: the cost of using a
    trained model; the training throughput is in the right panel) and its validation error
    (%), with its parameter count in the legend.  Where no model has a validation error (no
    ``--params`` or ``--run``) the panel shows parameters against inference throughput instead
    and says so; models without one when others have one are named in the panel.  Right:
    training and inference throughput bars.  The caption is ``setup`` (inputs, batch, classes,
    MXNet and the hardware, repeats).  ``names``: each model's display name (``None``: its
    model name).
    """
    names = [n or r['model'] for r, n in zip(rows, names or [None] * len(rows))]
    fig = new_figure(max(11, 4 + 2.2 * len(rows)), 5)
    ax, bars = fig.subplots(1, 2, gridspec_kw={'width_ratios': [1, 1]})
    known = [r for r in rows if r.get('val_error') is not None]
    for i, (r, name) in enumerate(zip(rows, names)):
        if known and r not in known:
            continue
        y = 100 * r['val_error'] if known else r['params'] / 1e6
        ax.plot(r['infer_img_s'], y, 'o', markersize=9, color='C%d' % (i % 10),
                label='%s (%.2f M params)' % (name, r['params'] / 1e6))
    ax.set_xlabel('inference throughput (images / s)')
    if known:
        ax.set_ylabel('validation error (%)')
        ax.set_title('validation error against inference throughput', fontsize=10)
        missing = [n for r, n in zip(rows, names) if r not in known]
        if missing:
            ax.text(0.02, 0.02, 'no validation error: %s' % ', '.join(missing),
                    transform=ax.transAxes, fontsize=8, va='bottom')
    else:
        ax.set_ylabel('parameters (millions)')
        ax.set_title('parameters against inference throughput', fontsize=10)
        ax.text(0.02, 0.02, 'no validation error known: give --params or --run',
                transform=ax.transAxes, fontsize=8, va='bottom')
    ax.margins(0.25)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc='upper right')
    _bars(bars, rows, names)
    fig.text(0.5, 0.01, textwrap.fill(setup, 150), ha='center', va='bottom', fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def _bars(ax, rows, names):
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r['train_img_s'] for r in rows], 0.4, label='training')
    ax.bar([x + 0.2 for x in xs], [r['infer_img_s'] for r in rows], 0.4, label='inference')
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=15, fontsize=8)
    ax.set_ylabel('images / s')
    ax.set_title('throughput', fontsize=10)
    ax.legend(fontsize=8)


def plot(rows, path, setup, names=None, fmt='png', dpi=100):
    """:func:`figure` written to ``path`` as ``fmt`` at ``dpi``, atomically; returns the
    figure."""
    fig = figure(rows, setup, names)
    save_figure(fig, path, fmt, dpi, SOFTWARE)
    return fig


def build_parser():
    p = OneLineParser(prog=PROG, description=first_paragraph(__doc__))
    p.add_argument('--models', help='comma-separated model names (default: the models of the '
                   '--run folders)')
    p.add_argument('--input-size', type=int, default=32)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--classes', type=int, default=None,
                   help='default: 1000 for 224 inputs, 10 otherwise')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--iters', type=int, default=3, help='steps per timing')
    p.add_argument('--params', type=str, default=None,
                   help='comma-separated parameter files, one per model (empty to skip)')
    add_run_option(p, several=True, help='a train_cifar.py run, one per model (in the order of '
                   '--models): its best parameters and settings')
    p.add_argument('--save-dirs', type=str, default=None, metavar='RUN,RUN',
                   help='comma-separated runs, as --run given for each')
    p.add_argument('--dataset', type=str, default=None)
    p.add_argument('--data-dir', type=str, default=None)
    p.add_argument('--out', type=str, default='compare')
    add_figure_options(p, 'the formats of the picture, compare.<format>')
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
    args.run += [d for d in (args.save_dirs or '').split(',') if d]
    if args.models is None and not args.run:
        p.error('give the models: --models A,B, or their runs, --run RUN for each')
    names = [n.strip() for n in (args.models or '').split(',') if n.strip()]
    if args.models is not None and not names:
        p.error('--models names no model')
    return args, names


def _trained(args, names):
    """``(model names, parameter files, run settings)``, the last two ``None`` where not
    given: from ``--run`` (each run's best parameters and its settings, its model where
    ``--models`` is not given; the data set is the first run's unless given) or ``--params``."""
    params, settings = None, None
    if args.run:
        settings = [read_settings(d) for d in args.run]
        params = [os.path.join(d, '%s-best.params' % s.model_name)
                  for d, s in zip(args.run, settings)]
        names = names or [s.model_name for s in settings]
        args.dataset = args.dataset or settings[0].dataset
        args.data_dir = args.data_dir or settings[0].data_dir
    elif args.params:
        params = args.params.split(',')
    if params and len(params) != len(names):
        raise ValueError('give one parameter file or run per model (%d models, %d given)'
                         % (len(names), len(params)))
    if params and not args.dataset:
        raise ValueError('the validation error needs --dataset (cifar10, cifar100, svhn or '
                         'digits)')
    return names, params, settings


def main(argv=None):
    args, names = _parse(argv)
    return run_command(PROG, False, lambda: _compare_and_write(args, names),
                       failures=(OutOfMemory,))


def _compare_and_write(args, names):
    """Measure ``names`` as ``args`` say and write the outputs; the errors are
    :func:`~ini_gluon._argparse.run_command`'s: bad input exit 2, the machine's limits (out of
    memory, a full disk) exit 1."""
    classes = args.classes or default_classes(args.input_size)
    check_output_folder(args.out, outputs(args.format))   # before the measurements
    for name in names:
        get_model(name)                                  # check names first
    names, params, settings = _trained(args, names)
    shown = display_names(args.label, [(n,) + ((args.run[i],) if args.run else ()) +
                                       ((params[i],) if params else ())
                                       for i, n in enumerate(names)])
    rows = compare(names, args.input_size, args.batch_size, classes, args.repeats,
                   args.iters, params, args.dataset, args.data_dir, settings)
    setup = ('%dx%d inputs, batch %d, %d classes, MXNet %s on %s, medians of %d interleaved '
             'repeats of %d steps' % (args.input_size, args.input_size, args.batch_size, classes,
                                      mx.__version__, 'CPU (%d cores)' % os.cpu_count(),
                                      args.repeats, args.iters))
    _write(args, rows, setup, shown)
    return 0


def _write(args, rows, setup, names):
    """``compare.md`` (also on stdout), ``compare.json`` and ``compare.<format>`` in
    ``--out``."""
    out, written = args.out, outputs(args.format)
    table = render(rows, setup)
    os.makedirs(out, exist_ok=True)
    atomic_write_text(os.path.join(out, 'compare.md'), table)
    atomic_write_text(os.path.join(out, 'compare.json'),
                      json.dumps({'setup': setup, 'rows': rows}, indent=1))
    fig = figure(rows, setup, names)
    for fmt in args.format:
        save_figure(fig, os.path.join(out, 'compare.%s' % fmt), fmt, args.dpi, SOFTWARE)
    record_outputs(out, written)
    sys.stdout.write(table)


if __name__ == '__main__':
    sys.exit(main())
