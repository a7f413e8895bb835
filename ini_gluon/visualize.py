"""``python -m ini_gluon.visualize maps|depth|gradcam``: pictures of what the attention does.

maps     for chosen blocks and several images, the inner-imaged map before and after the
         rescaling and the attention values (the CMPE-SE paper's Fig. 5 and Figs. 6-14): one
         column per model and block, three rows per image;
depth    the attention values block by block over the test split (or --num-images): their
         mean, a line per model, and their variance, a bar per model (CMPE-SE Figs. 15-16);
         --per-class adds the mean per class; the numbers go to a JSON file beside the
         picture;
gradcam  Grad-CAM heat maps over the images at a chosen layer, the models side by side (InI
         Fig. 9);
curve    the training curve of one run from its metrics.jsonl (the picture its training
         script draws, <model>_history.png), for a paper: PDF, SVG, --dpi, --label.

A model is a run (``--run RUN``, its ``--which`` weights) or weights from anywhere
(``--model NAME --params FILE`` with ``--dataset``); give several, in any mix, to set them side
by side.  The images are files or folders given after the options (``maps``, ``gradcam``), or
else the first ``--num-images`` of the data set's test split; each model gets them with its own
preprocessing.  Everything runs on the CPU.  The values are those of ini_gluon.inspect.inspect
and ini_gluon.gradcam.grad_cam.  ``--out`` names the picture's file, a .png, .pdf or .svg
(``--format png,pdf`` writes each format beside it, with its extension; ``--dpi`` the PNG's
resolution); ``--label MODEL=NAME`` names a model in titles and legends.  Each file a picture
writes is new or one a picture wrote before (anything else is refused, untouched).
"""
import argparse
import json
import math
import os
import sys

import mxnet as mx
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from ._argparse import (OneLineParser, add_run_option, add_trained_options, command,
                        command_parser, positive_int)
from .analysis.evaluation import DATASETS, image_files, open_model
from .analysis.gradcam import grad_cam
from .analysis.inspect import attention_layers, inspect
from .run.figures import (FORMATS, add_figure_options, display_names, figure_format,
                          history_figure, new_figure, save_figure, written_by)
from .run.files import atomic_write_text, read_json, read_json_lines
from .run.trained import (WHICH_HELP, RunError, check_finite_output, describe_source,
                          metrics_rows, read_image, read_settings)

__all__ = ['Model', 'open_models', 'test_images', 'maps_figure', 'depth_statistics',
           'depth_figure', 'per_class_figure', 'gradcam_figure', 'history_rows', 'main']


class Model(object):
    """A model to picture: ``trained`` (:class:`~ini_gluon.run.trained.Trained`), its settings
    ``s``, its test split ``stream`` and a ``label`` for legends and titles."""

    def __init__(self, trained, s, stream, label):
        self.trained, self.s, self.stream, self.label = trained, s, stream, label

    def normalised(self, raw):
        return self.trained.preprocessing.normalise(raw)


def open_models(save_dirs=(), models=(), params=(), dataset=None, data_dir=None, which='best',
                batch=256, names=()):
    """The :class:`Model` of each run and of each ``(model, params)`` pair, on the CPU;
    ``names``: ``(key, display name)`` pairs (``--label``)."""
    if len(models) != len(params):
        raise RunError('give one --params for each --model (%d --model, %d --params)'
                       % (len(models), len(params)))
    if not (save_dirs or models):
        raise RunError('give a model: --run RUN, or --model NAME --params FILE '
                       '--dataset D')
    opened = [open_model(save_dir=d, data_dir=data_dir, which=which, batch=batch)
              for d in save_dirs]
    opened += [open_model(model=m, params=p, dataset=dataset, data_dir=data_dir, batch=batch)
               for m, p in zip(models, params)]
    places = list(save_dirs) + list(params)
    given = [None] * len(save_dirs) + list(models)
    shown = display_names(names, [(t.model, g, p) for (t, _, _, _), g, p in
                                  zip(opened, given, places)])
    labels = _labels([n or t.model for (t, _, _, _), n in zip(opened, shown)], places)
    return [Model(trained, s, stream, label)
            for (trained, s, stream, _), label in zip(opened, labels)]


def _labels(names, places):
    """A label per model that tells it apart: its name, with its folder or file where names
    repeat (the base name, else the path), numbered where even that repeats."""
    labels = list(names)
    for shorten in (lambda p: os.path.basename(os.path.normpath(p)), os.path.normpath):
        labels = [n if names.count(n) == 1 else '%s (%s)' % (n, shorten(p))
                  for n, p in zip(names, places)]
        if len(set(labels)) == len(labels):
            return labels
    return ['%s #%d' % (label, labels[:i].count(label) + 1) if labels.count(label) > 1
            else label for i, label in enumerate(labels)]


def _shared(models, what):
    values = set(str(what(m)) for m in models)
    return len(values) == 1


def test_images(models, files=(), count=4):
    """``(raw images (N, 3, H, W) in [0, 255], labels or None)``: the image ``files`` (files or
    folders), or the first ``count`` images of the first model's test split."""
    if not _shared(models, lambda m: m.trained.preprocessing[:2]):
        raise RunError('the models take inputs of different sizes: picture them apart')
    first = models[0]
    if files:
        paths = image_files(files)
        return mx.nd.stack(*[first.trained.preprocessing.raw(read_image(p)) for p in paths]), \
            None
    if not _shared(models, lambda m: m.s.dataset):
        raise RunError('the models were trained on different data sets (%s): give image files'
                       % ', '.join(sorted(set(m.s.dataset for m in models))))
    stream = first.stream
    if hasattr(stream, 'images'):                 # CIFAR, SVHN, digits: uint8 NHWC
        raw = stream.images[:count].transpose(0, 3, 1, 2).astype(np.float32)
        return mx.nd.array(raw), stream.labels[:count].astype(np.int64)
    if hasattr(stream, 'dataset'):                # an ImageNet folder
        items = stream.dataset.items[:count]
        raw = [first.trained.preprocessing.raw(read_image(path)) for path, _ in items]
        return mx.nd.stack(*raw), np.array([label for _, label in items], np.int64)
    raise RunError('the test split of %s is a RecordIO file: give image files'
                   % first.s.dataset)


SOFTWARE = 'python -m ini_gluon.visualize'


def _ours(path):
    """Whether the file at ``path`` is one a picture wrote (its picture's record or its JSON
    says so)."""
    if not path.endswith('.json'):
        return written_by(path) == SOFTWARE
    try:
        return read_json(path, 'statistics').get('written_by') == SOFTWARE
    except Exception:        # unreadable, not JSON: not ours
        return False


def check_outputs(paths):
    """Refuse (one line) before anything is computed an output that is a folder, or a file
    that no picture wrote: a user's file is never replaced."""
    for path in paths:
        if os.path.isdir(path):
            raise RunError('--out %s is a folder: give a file (.png, .pdf or .svg)' % path)
        if os.path.exists(path) and not _ours(path):
            raise RunError('%s exists and was not written by %s: give another --out, or '
                           'remove it' % (path, SOFTWARE))


def _pictures(args, suffix=''):
    """The files of one picture: ``--out`` (with ``suffix`` before its extension) in each
    format of ``--format``, else in its extension's."""
    stem, extension = os.path.splitext(args.out)
    if args.format is None:
        return [stem + suffix + extension]
    return ['%s%s.%s' % (stem, suffix, fmt) for fmt in args.format]


def _save(fig, paths, dpi):
    """The figure in each of ``paths`` (its extension its format), at ``dpi``, atomically."""
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            os.makedirs(folder)
        save_figure(fig, path, figure_format(path), dpi, SOFTWARE)
    return list(paths)


def _spread(labels, count):
    """Up to ``count`` of ``labels``, evenly spread over depth (first and last included)."""
    if len(labels) <= count:
        return list(labels)
    return [labels[int(round(i))] for i in np.linspace(0, len(labels) - 1, count)]


# maps
def maps_figure(columns, labels, names):
    """The picture of ``maps``: ``columns`` a list of ``(title, AttentionRecord)``; per image
    three rows: the inner-imaged map and the map after the rescaling (one colour scale, its
    colour bar beside them) and the attention values s over the channels."""
    images = len(columns[0][1].attention)
    fig = new_figure(3.6 * len(columns) + 1.0, 1.45 * 3 * images + 1.3)
    outer = fig.add_gridspec(1, len(columns), wspace=0.35, left=0.7 / fig.get_figwidth(),
                             right=1 - 0.45 / fig.get_figwidth(),
                             top=1 - 1.05 / fig.get_figheight(),
                             bottom=0.55 / fig.get_figheight())
    for c, (title, record) in enumerate(columns):
        grid = outer[0, c].subgridspec(3 * images, 2, width_ratios=[1, 0.05], hspace=0.75,
                                       wspace=0.05)
        for i in range(images):
            first = _map_pair(fig, grid, c, i, record)
            if i == 0:
                first.set_title(title, fontsize=10)
            ax = fig.add_subplot(grid[3 * i + 2, 0])
            ax.bar(np.arange(record.channels), record.attention[i], width=1.0, color='C3')
            ax.set_ylim(0, 1)
            ax.set_xlim(-0.5, record.channels - 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.tick_params(labelsize=8)
            if i == images - 1:
                ax.set_xlabel('channel', fontsize=9)
            if c == 0:
                ax.set_ylabel('s', fontsize=9)
                name = '' if labels is None else ', label %s' % names[labels[i]]
                first.set_ylabel('image %d%s\nmap' % (i + 1, name), fontsize=9)
    fig.suptitle('Inner-imaged maps before and after the rescaling, and the attention values',
                 fontsize=12)
    return fig


def _map_pair(fig, grid, c, i, record):
    """Image ``i``'s map before and after the rescaling in the ``grid`` of column ``c``, on one
    colour scale, with its colour bar; returns the first map's axes."""
    before, after = record.inner_imaged_map[i], record.rescaled_map[i]
    low, high = min(before.min(), after.min()), max(before.max(), after.max())
    drawn = []
    for row, (values, what) in enumerate([(before, 'map'), (after, 'rescaled')]):
        ax = fig.add_subplot(grid[3 * i + row, 0])
        image = ax.imshow(values, cmap='viridis', vmin=low, vmax=high, aspect='auto',
                          interpolation='nearest')
        ax.set_xticks([])
        ax.set_yticks([])
        if c == 0:
            ax.set_ylabel(what, fontsize=9)
        drawn.append(ax)
    bar = fig.colorbar(image, cax=fig.add_subplot(grid[3 * i:3 * i + 2, 1]))
    bar.ax.tick_params(labelsize=8)
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    return drawn[0]


def _maps(args, models):
    raw, labels = test_images(models, args.images, args.num_images)
    columns = []
    for m in models:
        layers = [label for label, _, _ in attention_layers(m.trained.net)]
        if not layers:
            raise RunError('%s has no attention block' % m.label)
        chosen = args.blocks or _spread(layers, 3)
        found = inspect(m.trained.net, m.normalised(raw), blocks=chosen)
        for record in found.blocks:
            _check_finite_record(m, record)
            columns.append(('%s\n%s (C=%d, %s %dx%d)' % ((m.label, record.label, record.channels,
                                                          record.layout) + record.map_shape),
                            record))
    fig = maps_figure(columns, labels, models[0].trained.class_names)
    return _save(fig, _pictures(args), args.dpi)


# depth
def depth_statistics(model, limit=None):
    """Per attention block of ``model`` over its test split (the first ``limit`` images): the
    mean of the attention values s (over images and channels), their variance (the same
    values), and the mean per class.  Returns a JSON-ready dict."""
    sums, squares, counts, per_class, seen = None, None, None, {}, 0
    for data, label in model.stream.epoch(0):
        if limit is not None:
            data, label = data[:limit - seen], label[:limit - seen]
        found = inspect(model.trained.net, data).blocks
        if sums is None:
            blocks = [(b.label, b.kind, b.channels) for b in found]
            sums, squares = np.zeros(len(found)), np.zeros(len(found))
            counts = np.zeros(len(found))
        for k, record in enumerate(found):
            _check_finite_record(model, record)
            s = record.attention.astype(np.float64)
            sums[k] += s.sum()
            squares[k] += (s ** 2).sum()
            counts[k] += s.size
            for c, row in zip(_numpy(label).astype(int), s.mean(axis=1)):
                per_class.setdefault(c, np.zeros((len(found), 2)))[k] += (row, 1)
        seen += len(data)
        if limit is not None and seen >= limit:
            break
    if sums is None:
        raise RunError('the test split of %s holds no image' % model.label)
    mean = sums / counts
    names = model.trained.class_names
    return {'model': model.trained.model, 'label': model.label,
            'source': describe_source(model.trained.source),
            'images': seen,
            'blocks': [{'label': label, 'kind': kind, 'channels': channels,
                        'mean': float(mu), 'variance': float(max(sq / n - mu * mu, 0.0))}
                       for (label, kind, channels), mu, sq, n in zip(blocks, mean, squares,
                                                                     counts)],
            'per_class': {names[c]: [float(x) for x in v[:, 0] / v[:, 1]]
                          for c, v in sorted(per_class.items())}}


def _check_finite_record(model, record):
    """A :class:`RunError` where a value an attention block computed (``record``, an
    :class:`~ini_gluon.analysis.inspect.AttentionRecord`) is a NaN or an infinity: a picture
    or a statistic of it would show nothing true."""
    arrays = [(name, getattr(record, name)) for name in record._fields
              if isinstance(getattr(record, name), np.ndarray)]
    arrays += [('grouping map %s' % g, a) for g, a in record.grouping_maps or ()]
    for name, array in arrays:
        check_finite_output(model.trained, array, '%s of %s' % (name.replace('_', ' '),
                                                                record.label))


def _numpy(x):
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else np.asarray(x)


def _block_axis(ax, stats):
    labels = [b['label'] for b in stats[0]['blocks']]
    if all([b['label'] for b in s['blocks']] == labels for s in stats) and len(labels) <= 40:
        ax.set_xticks(np.arange(1, len(labels) + 1))
        ax.set_xticklabels(labels, rotation=0 if len(labels) <= 8 else 90, fontsize=8)
    ax.set_xlabel('attention block (in depth)')


def depth_figure(stats):
    """Left: the mean attention value per block, a ladder per model; right: the variance per
    block, a bar per model (the CMPE-SE paper's Figs. 15-16)."""
    fig = new_figure(12, 4.2)
    mean_ax, var_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    width = 0.8 / len(stats)
    for k, s in enumerate(stats):
        x = np.arange(1, len(s['blocks']) + 1)
        mean_ax.step(x, [b['mean'] for b in s['blocks']], where='mid', marker='.',
                     label='%s (%d images)' % (s['label'], s['images']))
        var_ax.bar(x - 0.4 + width * (k + 0.5), [b['variance'] for b in s['blocks']], width,
                   label=s['label'])
    mean_ax.set_ylabel('mean attention value s')
    mean_ax.set_ylim(0, 1)
    var_ax.set_ylabel('variance of s')
    for ax in (mean_ax, var_ax):
        _block_axis(ax, stats)
        ax.grid(True, axis='y', alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle('Attention values across depth', fontsize=11)
    fig.tight_layout()
    return fig


def per_class_figure(stats):
    """The mean attention value per block and class, one panel per model."""
    fig = new_figure(6 * len(stats), 4.2)
    for k, s in enumerate(stats):
        ax = fig.add_subplot(1, len(stats), k + 1)
        x = np.arange(1, len(s['blocks']) + 1)
        for name, means in s['per_class'].items():
            ax.plot(x, means, marker='.', linewidth=1, label=name)
        ax.set_title(s['label'], fontsize=10)
        ax.set_ylabel('mean attention value s')
        _block_axis(ax, [s])
        if len(s['per_class']) <= 20:
            ax.legend(fontsize=8, ncol=2, title='class', title_fontsize=8)
    fig.suptitle('Attention values across depth, per class', fontsize=11)
    fig.tight_layout()
    return fig


def _depth_outputs(args):
    """The pictures, the per-class pictures (``--per-class``) and the JSON file of ``depth``."""
    return _pictures(args), _pictures(args, '-per-class') if args.per_class else [], \
        '%s.json' % os.path.splitext(args.out)[0]


def _depth(args, models):
    for m in models:
        if not attention_layers(m.trained.net):
            raise RunError('%s has no attention block' % m.label)
    stats = [depth_statistics(m, args.num_images) for m in models]
    pictures, per_class, numbers = _depth_outputs(args)
    written = _save(depth_figure(stats), pictures, args.dpi)
    if per_class:
        written += _save(per_class_figure(stats), per_class, args.dpi)
    atomic_write_text(numbers, json.dumps({'written_by': SOFTWARE, 'models': stats}, indent=1))
    return written + [numbers]


# Grad-CAM
def gradcam_figure(raw, labels, names, results):
    """The images (left) and each model's heat map over them, with the heat maps' colour bar:
    ``results`` a list of ``(model label, class names, GradCAM)``."""
    images = raw.asnumpy().transpose(0, 2, 3, 1) / 255.0
    columns = len(results) + 1
    fig = new_figure(2.7 * columns + 1.1, 2.9 * len(images) + 1.0)
    right = 1 - 1.1 / fig.get_figwidth()
    fig.subplots_adjust(left=0.1 / fig.get_figwidth(), right=right, wspace=0.08,
                        top=1 - 1.0 / fig.get_figheight(), bottom=0.1 / fig.get_figheight(),
                        hspace=0.45)
    for i, image in enumerate(images):
        ax = fig.add_subplot(len(images), columns, i * columns + 1)
        ax.imshow(image)
        ax.set_title('image %d%s' % (i + 1, '' if labels is None else
                                     '\nlabel %s' % names[labels[i]]), fontsize=9)
        ax.axis('off')
        for k, (label, class_names, cam) in enumerate(results):
            ax = fig.add_subplot(len(images), columns, i * columns + k + 2)
            ax.imshow(image.mean(axis=2), cmap='gray')
            ax.imshow(cam.heatmaps[i], cmap='jet', alpha=0.5, vmin=0, vmax=1)
            c = cam.classes[i]
            ax.set_title('%s at %s\nclass %s (p=%.2f)' % (label, cam.layer, class_names[c],
                                                        cam.probabilities[i, c]), fontsize=9)
            ax.axis('off')
    bottom, top = fig.subplotpars.bottom, fig.subplotpars.top
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap='jet'),
                       cax=fig.add_axes([right + 0.25 / fig.get_figwidth(), bottom + 0.1 *
                                         (top - bottom), 0.18 / fig.get_figwidth(),
                                         0.8 * (top - bottom)]))
    bar.set_label('Grad-CAM, divided by its maximum', fontsize=9)
    bar.ax.tick_params(labelsize=8)
    fig.suptitle('Grad-CAM', fontsize=12)
    return fig


def _gradcam(args, models):
    raw, labels = test_images(models, args.images, args.num_images)
    if args.explain == 'true' and labels is None:
        raise RunError('--explain true needs the test split\'s labels: image files have none')
    results = []
    for m in models:
        cam = grad_cam(m.trained.net, m.normalised(raw), layer=args.layer,
                       classes=labels if args.explain == 'true' else None)
        check_finite_output(m.trained, cam.probabilities, 'the class probabilities')
        check_finite_output(m.trained, cam.heatmaps, 'the Grad-CAM heat map')
        results.append((m.label, m.trained.class_names, cam))
    return _save(gradcam_figure(raw, labels, models[0].trained.class_names, results),
                 _pictures(args), args.dpi)


# the training curve
_CURVE_KEYS = ('train_error', 'val_top5_error', 'loss', 'lr')


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def history_rows(run):
    """The rows of ``run``'s ``metrics.jsonl`` for its training curve: ``epoch`` and
    ``val_error`` checked (:func:`~ini_gluon.run.trained.metrics_rows`), with ``train_error``,
    ``val_top5_error``, ``loss`` and ``lr`` where they are finite numbers."""
    checked = metrics_rows(run)
    if not checked:
        raise RunError('%s: no epoch of the run has ended (metrics.jsonl holds no row)' % run)
    lines = read_json_lines(os.path.join(run, 'metrics.jsonl'), 'a metrics row')
    return [dict(row, **{k: raw[k] for k in _CURVE_KEYS if _number(raw.get(k))})
            for row, (_, raw) in zip(checked, lines)]


def _curve(args):
    if len(args.run) != 1:
        raise RunError('curve draws one run: give --run RUN once, not %d times' % len(args.run))
    run = args.run[0]
    s = read_settings(run)
    name = display_names(args.label, [(s.model.name, s.model_name, run)])[0]
    fig = history_figure(history_rows(run), name or s.model_name, s.dataset)
    return _save(fig, _pictures(args), args.dpi)


# Command
def _outputs(p):
    """``--out``, ``--format``, ``--dpi``, ``--label`` and ``--debug``."""
    p.add_argument('--out', type=_picture, help='the file to write, .png, .pdf or .svg '
                   '(default: <picture>.png in the first run\'s folder, else in the current '
                   'folder)')
    add_figure_options(p, 'the formats to write, beside --out with their extensions',
                       default_format=None)


def _sources(p):
    a = p.add_argument
    add_run_option(p, several=True)
    a('--model', action='append', default=[], help='with --params: a model name (repeat, '
      'one per --params)')
    a('--params', action='append', default=[], help='with --model: a parameter file')
    a('--dataset', choices=DATASETS, help='the data set of the --model/--params weights (a run '
      'knows its own)')
    a('--data-dir', help='folder of the data set\'s files (default: each run\'s --data-dir)')
    a('--num-images', type=positive_int, default=None,
      help='images of the test split (default: 4 for maps and gradcam, the whole split for '
      'depth)')
    _outputs(p)
    add_trained_options(p, WHICH_HELP)


def _block_labels(text):
    labels = [b.strip() for b in text.split(',')]
    if not all(labels):
        raise argparse.ArgumentTypeError('expected comma-separated block labels such as '
                                         'stage1.0,stage3.0, not %r' % text)
    return labels


def _picture(text):
    if figure_format(text) is None:
        raise argparse.ArgumentTypeError('expected a file ending in %s, not %r'
                                         % (', '.join('.' + f for f in FORMATS), text))
    return text


def build_parser():
    p = command_parser('python -m ini_gluon.visualize', __doc__)
    sub = p.add_subparsers(dest='picture', metavar='{maps,depth,gradcam,curve}',
                           parser_class=OneLineParser)
    sub.required = True
    q = sub.add_parser('maps', help='inner-imaged maps before and after the rescaling',
                       description='the inner-imaged map before and after the rescaling and '
                       'the attention values of chosen blocks, for several images')
    q.add_argument('images', nargs='*', help='image files or folders (default: the test split)')
    q.add_argument('--blocks', type=_block_labels,
                   help='blocks by label, e.g. stage1.0,stage3.0 (stage<i>.<j>: block j of stage '
                   'i, counted from 0, plain blocks included; default: three spread over depth)')
    _sources(q)
    q = sub.add_parser('depth', help='attention values across depth',
                       description='the mean and the variance of the attention values per '
                       'block over the test split, one line per model')
    q.add_argument('--per-class', action='store_true',
                   help='also the mean per class, in <out>-per-class.png (.pdf, .svg)')
    _sources(q)
    q = sub.add_parser('gradcam', help='Grad-CAM heat maps, models side by side',
                       description='Grad-CAM heat maps of the images at a layer, one column '
                       'per model')
    q.add_argument('images', nargs='*', help='image files or folders (default: the test split)')
    q.add_argument('--layer', help='a child of the model\'s features by name, e.g. stage3 '
                   '(default: the last one whose output is a map)')
    q.add_argument('--explain', choices=('predicted', 'true'), default='predicted',
                   help='the class each heat map explains: the model\'s most probable '
                   '(default) or the test split\'s label')
    _sources(q)
    q = sub.add_parser('curve', help='the training curve of a run',
                       description='the training curve of a run from its metrics.jsonl: '
                       'training and validation error (log scale), loss and learning rate')
    add_run_option(q, several=True)
    _outputs(q)
    q.add_argument('--debug', action='store_true', help='show the traceback of an error')
    return p


def _main(args):
    if args.out is None:
        folder = args.run[0] if args.run else '.'
        args.out = os.path.join(folder, '%s.%s' % (args.picture, (args.format or ['png'])[0]))
    if args.picture == 'depth':
        pictures, per_class, numbers = _depth_outputs(args)
        check_outputs(pictures + per_class + [numbers])
    else:
        check_outputs(_pictures(args))
    if args.picture == 'curve':
        written = _curve(args)
    else:
        if args.num_images is None and args.picture != 'depth':
            args.num_images = 4
        models = open_models(args.run, args.model, args.params, args.dataset, args.data_dir,
                             args.which, batch=64, names=args.label)
        written = {'maps': _maps, 'depth': _depth, 'gradcam': _gradcam}[args.picture](args,
                                                                                       models)
    print('written: %s' % ', '.join(written))
    return 0


main = command(build_parser, _main)

if __name__ == '__main__':
    sys.exit(main())
