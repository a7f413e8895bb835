"""A run's epochs as tables and as TensorBoard's event files, beside ``metrics.jsonl``.

* ``summary.csv``, always: one row per epoch -- epoch, lr, training loss and error, validation
  loss and error (top-1; top-5 too), images per second, and with ``--ema`` the moving average's
  validation loss and error;
* ``tensorboard/events.out.tfevents.ini-gluon`` with ``--tensorboard``: the same numbers as
  scalars (``loss/train``, ``error/val``, ``lr``, ``speed/img_per_s``, ...) at the epoch as
  step, for ``tensorboard --logdir <save-dir>/tensorboard``.

Both are written whole from the metrics rows after every epoch, atomically (a temporary renamed
into place), so a killed run leaves the last complete one and a resumed run's files hold its
epochs only (what the run wrote after the epoch it continues from is gone from them too).  The
events are written by tensorboardX, a maintained writer of TensorBoard's format without
TensorFlow (mxboard, MXNet's, has had no release since 2018).
"""
import csv
import io
import os
import shutil
import tempfile

from ..run.files import atomic_write_text, tmp_prefix
from ..run.folder import EVENTS, EVENTS_FILE, SUMMARY

__all__ = ['SUMMARY', 'EVENTS', 'EVENTS_FILE', 'summary_columns', 'summary_text',
           'write_summary', 'write_events', 'scalars']

# (column of summary.csv, key of a metrics row, TensorBoard tag)
_COLUMNS = (('epoch', 'epoch', None), ('lr', 'lr', 'lr'), ('train_loss', 'loss', 'loss/train'),
            ('train_error', 'train_error', 'error/train'),
            ('val_loss', 'val_loss', 'loss/val'), ('val_error', 'val_error', 'error/val'),
            ('val_top5_error', 'val_top5_error', 'error/val_top5'),
            ('img_per_s', 'speed', 'speed/img_per_s'),
            ('ema_val_loss', 'ema_val_loss', 'loss/val_ema'),
            ('ema_val_error', 'ema_val_error', 'error/val_ema'))


def summary_columns(rows):
    """The columns of ``summary.csv`` for metrics ``rows``: those the rows hold (the moving
    average's where there is one)."""
    return [(column, key, tag) for column, key, tag in _COLUMNS
            if column == 'epoch' or any(key in row for row in rows)]


def summary_text(rows):
    """``summary.csv`` of metrics ``rows``: a header, then one line per epoch (a value a row
    lacks is empty)."""
    out = io.StringIO()
    columns = summary_columns(rows)
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow([column for column, _, _ in columns])
    for row in rows:
        writer.writerow(['' if row.get(key) is None else row[key] for _, key, _ in columns])
    return out.getvalue()


def write_summary(save_dir, rows):
    """Write ``<save_dir>/summary.csv`` of ``rows`` atomically."""
    atomic_write_text(os.path.join(save_dir, SUMMARY), summary_text(rows))


def scalars(rows):
    """``[(tag, epoch, value)]``: what the event file holds for ``rows``."""
    return [(tag, row['epoch'], float(row[key])) for row in rows
            for _, key, tag in summary_columns(rows) if tag and row.get(key) is not None]


def write_events(save_dir, rows):
    """Write ``<save_dir>/tensorboard/events.out.tfevents.ini-gluon`` of ``rows``: written whole
    by tensorboardX in a temporary folder, then renamed into place."""
    # imported here: tensorboardX (and the protobuf it loads) only for runs that ask for it
    from tensorboardX import SummaryWriter
    folder = os.path.join(save_dir, EVENTS)
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=tmp_prefix('events-'), dir=save_dir)   # the run cleans it
    try:
        writer = SummaryWriter(logdir=tmp, flush_secs=3600)
        for tag, epoch, value in scalars(rows):
            writer.add_scalar(tag, value, global_step=epoch)
        writer.close()
        written, = os.listdir(tmp)
        os.replace(os.path.join(tmp, written), os.path.join(folder, EVENTS_FILE))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
