"""The pictures of the project's outputs: a figure on its own canvas (:func:`new_figure`),
written atomically as a PNG, a PDF or an SVG (:func:`save_figure`, which records the command
that wrote it, :func:`written_by` reads it back); the display names of models in legends and
titles (:func:`display_names`); and the training curve of a run,
``<save-dir>/<model>_history.png``.

For a paper: a PDF embeds its fonts as TrueType (``pdf.fonttype`` 42; matplotlib's default,
Type 3, is refused by some publishers' checks), an SVG draws its text as paths (it shows the
same on every machine); ``dpi`` sets a PNG's pixels per inch of the figure (and the resolution
of the images a PDF or SVG embeds).

GluonCV's ``TrainingHistory.plot``, which its ``train_cifar10.py`` draws, is not enough here: it
has no title (which model, which data set), a linear error axis (the last epochs, where runs
differ by a fraction of a percent, are a flat line at the bottom), and neither the loss nor
the learning rate (where a schedule decays and whether the loss diverges).  This figure: the
model and data set as its title; training, validation (and validation top-5) error on a log
axis above; the loss and, on a twin log axis, the learning rate below; epochs as integers.
"""
import argparse
import os
import re

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from PIL import Image

from .files import atomic_write

__all__ = ['FORMATS', 'DPI', 'MIN_DPI', 'MAX_DPI', 'new_figure', 'figure_format', 'save_figure',
           'save_png', 'written_by', 'display_names', 'add_figure_options', 'history_figure',
           'plot_history']

FORMATS = ('png', 'pdf', 'svg')
DPI, MIN_DPI, MAX_DPI = 100, 20, 1200       # beyond 1200 dpi a figure is gigapixels
# where each format keeps the name of the command that wrote a picture
_CREATOR_KEY = {'png': 'Software', 'pdf': 'Creator', 'svg': 'Creator'}
_PDF_CREATOR = re.compile(rb'/Creator \(([^)]*)\)')
_SVG_CREATOR = re.compile(r'<dc:creator>\s*<cc:Agent>\s*<dc:title>([^<]*)</dc:title>')
_READ_BACK = 64 * 1024 * 1024                # no picture of the project is larger

# an error of 0 cannot sit on a log axis: it is drawn at 0.01 %, and the legend says so
FLOOR = 1e-4
ERRORS = (('train_error', 'training error', 'C0'), ('val_error', 'validation error', 'C1'),
          ('val_top5_error', 'validation top-5 error', 'C2'))


def _series(rows, key):
    return [(r['epoch'], r[key]) for r in rows if r.get(key) is not None]


def _percent(value, _position):
    return '%g %%' % float('%.3g' % (100 * value))


def new_figure(width, height):
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches on its own Agg canvas (no
    pyplot state: figures of several threads or runs do not meet)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def figure_format(path):
    """The format a picture's file name asks for (its extension, lower case): one of
    :data:`FORMATS`, else ``None``."""
    ext = os.path.splitext(path)[1].lower().lstrip('.')
    return ext if ext in FORMATS else None


def save_figure(fig, path, fmt=None, dpi=DPI, software=None):
    """``fig`` at ``path`` as ``fmt`` (``'png'``, ``'pdf'`` or ``'svg'``; default: the
    extension of ``path``), written atomically, at ``dpi``; ``software``: the command that wrote
    it, recorded in the file (:func:`written_by`)."""
    fmt = fmt or figure_format(path) or 'png'
    metadata = {_CREATOR_KEY[fmt]: software} if software else None
    with matplotlib.rc_context({'pdf.fonttype': 42, 'svg.fonttype': 'path'}):
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata))


def save_png(fig, path, metadata=None, dpi=DPI):
    """``fig`` as a PNG at ``path``, written atomically; ``metadata``: PNG text."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=dpi, metadata=metadata))


def written_by(path):
    """The command recorded in the picture at ``path`` by :func:`save_figure` (a PNG's
    ``Software`` text, a PDF's or an SVG's ``Creator``), else ``None`` (no such record, not a
    picture, unreadable)."""
    try:
        with open(path, 'rb') as f:
            head = f.read(_READ_BACK)
    except OSError:
        return None
    if head.startswith(b'\x89PNG'):
        try:
            with Image.open(path) as image:
                return image.info.get(_CREATOR_KEY['png'])
        except Exception:       # not a PNG Pillow reads: no record
            return None
    if head.startswith(b'%PDF'):
        found = _PDF_CREATOR.findall(head)
        return found[-1].decode('latin-1') if found else None
    found = _SVG_CREATOR.search(head.decode('utf-8', 'replace')) if b'<svg' in head else None
    return found.group(1) if found else None


def display_names(labels, models):
    """The display name of each model: ``labels`` pairs ``(key, name)`` (``--label KEY=NAME``),
    ``models`` for each model the keys it answers to (its model names, its run folder or
    parameter file; a path matches in any spelling of it).  A model no key names gets
    ``None``; a key that names no model is a ``ValueError`` naming the models there are."""
    def spelled(key):
        return {key, os.path.normpath(key), os.path.realpath(key)}
    keys = [set().union(*[spelled(k) for k in ks if k]) for ks in models]
    names = [None] * len(models)
    for key, name in labels:
        hits = [i for i, ks in enumerate(keys) if spelled(key) & ks]
        if not hits:
            raise ValueError('--label %s=%s: %s names no model pictured here (%s)' % (
                key, name, key, ', '.join(sorted(set(k[0] for k in models if k)))))
        for i in hits:
            names[i] = name
    return names


def _formats(text):
    """``--format``: comma-separated formats of :data:`FORMATS`, each once."""
    found = [f.strip().lower().lstrip('.') for f in text.split(',')]
    if not found or any(f not in FORMATS for f in found) or len(set(found)) < len(found):
        raise argparse.ArgumentTypeError('expected comma-separated formats of %s (each once), '
                                         'not %r' % (', '.join(FORMATS), text))
    return found


def _dpi(text):
    """``--dpi``: an integer from :data:`MIN_DPI` to :data:`MAX_DPI`."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not MIN_DPI <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError('expected an integer from %d to %d, not %r'
                                         % (MIN_DPI, MAX_DPI, text))
    return value


def _label(text):
    """``--label KEY=NAME``: ``(key, name)``, both not empty."""
    key, _, name = text.partition('=')
    if not key.strip() or not name.strip():
        raise argparse.ArgumentTypeError('expected MODEL=NAME (a model name, a run folder or '
                                         'a parameter file, then its display name), not %r'
                                         % text)
    return key.strip(), name.strip()


def add_figure_options(parser, where, default_format='png'):
    """``--format``, ``--dpi`` and ``--label`` of a command that draws pictures; ``where``:
    what the help says the formats apply to; ``default_format``: ``None`` where a file name's
    extension decides."""
    a = parser.add_argument
    a('--format', type=_formats, default=None if default_format is None else [default_format],
      metavar='png,pdf,svg', help='%s, one file per format given (comma-separated: png, pdf, '
      'svg; default: %s)' % (where, default_format or 'the extension of --out'))
    a('--dpi', type=_dpi, default=DPI, help='pixels per inch of a PNG (and of the images a PDF '
      'or SVG embeds), %d to %d (default: %d)' % (MIN_DPI, MAX_DPI, DPI))
    a('--label', type=_label, action='append', default=[], metavar='MODEL=NAME',
      help='the name a model goes by in legends and titles, e.g. '
      'ini_resnet8_mix5d=InI-ResNet-8 (MODEL: its model name, or its run folder or parameter '
      'file); repeat for several')


def history_figure(rows, model, dataset):
    """The :class:`~matplotlib.figure.Figure` of the metrics ``rows`` (dicts with ``epoch``,
    ``train_error``, ``val_error``, ``val_top5_error``, ``loss``, ``lr``; a missing key is left
    out); its axes are ``fig.axes``: error, loss, learning rate."""
    fig = new_figure(7.5, 7)
    err_ax, loss_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={'height_ratios': [3, 2]})
    lr_ax = loss_ax.twinx()
    fig.suptitle('%s on %s' % (model, dataset), fontweight='bold')
    marker = dict(marker='o', markersize=3) if len(rows) <= 40 else {}

    drawn, floored = [], False
    for key, label, colour in ERRORS:
        points = _series(rows, key)
        if not points or (key == 'val_top5_error' and not any(v > 0 for _, v in points)):
            continue            # top-5 of a 10-class set is soon 0 throughout: left out
        floored = floored or any(v <= 0 for _, v in points)
        values = [max(v, FLOOR) for _, v in points]
        err_ax.plot([e for e, _ in points], values, color=colour, label=label, **marker)
        drawn += values
    err_ax.set_yscale('log')
    if drawn:                   # at least one of the ticks at 1, 2, 5 x 10^k always inside
        err_ax.set_ylim(min(drawn) / 1.6, min(1.0, max(drawn) * 1.6))
    err_ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    err_ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    err_ax.yaxis.set_minor_formatter(NullFormatter())
    err_ax.set_ylabel('error (log scale)')
    err_ax.grid(True, which='both', alpha=0.3)
    best = min(_series(rows, 'val_error'), key=lambda p: p[1], default=None)
    if best is not None:
        err_ax.set_title('best validation error %.2f %% at epoch %d' % (100 * best[1], best[0]),
                         fontsize=9)
    if drawn:
        err_ax.legend(title='0 drawn at %g %%' % (100 * FLOOR) if floored else None,
                      fontsize=8, title_fontsize=8)

    loss = _series(rows, 'loss')
    lines = loss_ax.plot([e for e, _ in loss], [v for _, v in loss], color='C3',
                         label='training loss', **marker)
    loss_ax.set_ylabel('loss')
    loss_ax.grid(True, alpha=0.3)
    lr = [(e, v) for e, v in _series(rows, 'lr') if v > 0]
    lines += lr_ax.plot([e for e, _ in lr], [v for _, v in lr], color='C7', linestyle='--',
                        label='learning rate (end of epoch)', **marker)
    lr_ax.set_yscale('log')
    lr_ax.set_ylabel('learning rate (log scale)')
    loss_ax.legend(lines, [line.get_label() for line in lines], fontsize=8)

    epochs = [r['epoch'] for r in rows]
    if epochs:
        loss_ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    loss_ax.set_xlabel('epoch')
    # fixed margins rather than tight_layout, which measures every tick label and doubled the
    # time of a redraw (the curve is redrawn after every epoch)
    fig.subplots_adjust(left=0.12, right=0.87, top=0.9, bottom=0.08, hspace=0.12)
    return fig


def plot_history(rows, path, model, dataset):
    """Write :func:`history_figure` as a PNG to ``path``, atomically (a temporary file in the
    same folder, renamed): a run killed while it draws leaves the previous curve whole."""
    fig = history_figure(rows, model, dataset)
    save_png(fig, path)
    return fig
