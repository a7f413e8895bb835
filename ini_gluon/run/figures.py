"""The pictures of the project's outputs: a figure on its own canvas (:func:`new_figure`),
written atomically (:func:`save_png`); and the training curve of a run,
``<save-dir>/<model>_history.png``.

GluonCV's ``TrainingHistory.plot``, which its ``train_cifar10.py`` draws, is not enough here: it
has no title (which model, which data set), a linear error axis (the last epochs, where runs
differ by a fraction of a percent, are a flat line at the bottom), and neither the loss nor
the learning rate (where a schedule decays and whether the loss diverges).  This figure: the
model and data set as its title; training, validation (and validation top-5) error on a log
axis above; the loss and, on a twin log axis, the learning rate below; epochs as integers.
"""
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .files import atomic_write

__all__ = ['new_figure', 'save_png', 'history_figure', 'plot_history']

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


def save_png(fig, path, metadata=None):
    """``fig`` as a PNG at ``path`` (100 dpi), written atomically; ``metadata``: PNG text."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=100, metadata=metadata))


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
