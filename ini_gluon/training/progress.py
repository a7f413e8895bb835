"""What a run says while it trains: the log (``train.log`` and stdout), GluonCV's epoch line,
a line every ``--log-interval`` batches, a ``tqdm`` bar on a terminal, and the training curve.

Every line gives errors, in %, as the papers report them and as GluonCV's ImageNet script does
(``err-top1``): the epoch line is GluonCV's CIFAR line, ``[Epoch N] train=... val=... loss=...
time: ...``, with its two accuracies replaced by ``train-err=`` and ``val-err=`` (renamed, so
that a reader of GluonCV's logs finds no accuracy where there is an error); ``metrics.jsonl``
keeps both, as fractions."""
import logging
import sys
import time

import mxnet as mx
import numpy as np
from tqdm import tqdm

from ..run.figures import plot_history
from ..run.settings import AUTO

__all__ = ['LOG', 'epoch_line', 'setup_logging', 'close_logging', 'interval_line',
           'running_metrics', 'top_k_hits', 'log_every', 'EpochMeter', 'Curve']

# GluonCV's CIFAR epoch line, errors in % where it has accuracies
EPOCH_LINE = '[Epoch %d] train-err=%s val-err=%s loss=%f time: %f'
AUTO_INTERVAL = 50      # --log-interval auto: GluonCV's 50 batches, or 4 lines an epoch
LOG = logging.getLogger('ini_gluon.train')


class _Failing(object):
    """A log handler whose failed write (a full disk, a closed pipe) stops the run with one line
    naming where it wrote (:attr:`where`), where logging's own handler would print a traceback
    on stderr for every line and go on."""
    where = None

    def handleError(self, record):
        err = sys.exc_info()[1]
        if isinstance(err, BrokenPipeError):
            raise err
        if isinstance(err, OSError):
            raise OSError(err.errno, err.strerror, self.where) from err
        super(_Failing, self).handleError(record)


class _LogFile(_Failing, logging.FileHandler):
    """``train.log``; a path that is not UTF-8 (a --save-dir of other bytes) is written escaped,
    as stderr writes it."""

    def __init__(self, path):
        super(_LogFile, self).__init__(path, errors='backslashreplace')
        self.where = self.baseFilename


class _Stdout(_Failing, logging.StreamHandler):
    where = '<stdout>'


def setup_logging(path):
    """Log to ``path`` and stdout, each line stamped with the time."""
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    close_logging()
    fmt = logging.Formatter('%(asctime)s %(message)s')
    for handler in (_Stdout(sys.stdout), _LogFile(path)):
        handler.setFormatter(fmt)
        LOG.addHandler(handler)


def close_logging():
    """Detach and close the log's handlers; what a full disk kept from being written is
    dropped (the run that wrote it has said so)."""
    for handler in list(LOG.handlers):
        LOG.removeHandler(handler)
        try:
            handler.close()
        except OSError:
            pass


def percent(error):
    """An error (a fraction) as the lines give it: ``'12.34%'``."""
    return '%.2f%%' % (100 * error)


def epoch_line(row, top5=False):
    """The line of an epoch's metrics ``row``: GluonCV's ``[Epoch N] train=... val=... loss=...
    time: ...`` with the training and validation errors (%) for its accuracies; ``top5``: the
    validation top-5 error after them (``train_imagenet.py``)."""
    line = EPOCH_LINE % (row['epoch'], percent(row['train_error']), percent(row['val_error']),
                         row['loss'], row['time'])
    if top5:
        line = line.replace(' loss=', ' val-top5-err=%s loss=' % percent(row['val_top5_error']),
                            1)
    return line


def log_every(interval, batches):
    """The batches between two lines in an epoch of ``batches``: ``interval`` as given, or for
    ``'auto'`` :data:`AUTO_INTERVAL` (GluonCV's), and a quarter of an epoch (rounded up) where
    that is less: a short epoch, such as the digits demo's 22 batches, gets lines too."""
    if interval != AUTO:
        return interval
    return max(1, min(AUTO_INTERVAL, -(-batches // 4)))


def interval_line(epoch, batch, batches, speed, metrics, lr, rank=None):
    """The line logged every ``--log-interval`` batches, after GluonCV's ``Epoch[%d] Batch
    [%d]\\tSpeed: %f samples/sec\\t%s=%f``: ``batch`` of ``batches`` done (counted from 1),
    ``speed`` in images / s over the last interval (this worker's), the ``(name, value)`` pairs
    of ``metrics`` (of the epoch so far; an error, ``*-err``, in %), the learning rate;
    ``[rank r] `` first in a distributed run (``rank`` given)."""
    line = 'Epoch[%d] Batch [%d/%d]\tSpeed: %f samples/sec' % (epoch, batch, batches, speed)
    line += ''.join('\t%s=%s' % (name, percent(v) if name.endswith('-err') else '%f' % v)
                    for name, v in metrics) + '\tlr=%g' % lr
    return line if rank is None else '[rank %d] %s' % (rank, line)


def running_metrics(seen, correct, loss_sum, correct5=None):
    """The training metrics of the epoch so far: error (top-1 and top-5 where ``correct5`` is
    counted: ``train_imagenet.py``) and loss."""
    if correct5 is None:
        return [('train-err', 1 - correct / float(seen)), ('loss', loss_sum / seen)]
    return [('top1-err', 1 - correct / float(seen)), ('top5-err', 1 - correct5 / float(seen)),
            ('loss', loss_sum / seen)]


def top_k_hits(outputs, label, k):
    """How many rows of ``outputs`` (score NDArrays, the batch split over devices) have their
    ``label`` among their ``k`` highest scores (on the devices: ``k`` indices a row copied)."""
    best = np.concatenate([mx.nd.topk(o, axis=1, k=k).asnumpy() for o in outputs])
    return int((best == np.asarray(label).reshape(-1, 1)).any(axis=1).sum())


def log_progress(bar, line):
    if bar is None:
        LOG.info('%s', line)
    else:                   # above the terminal's bar, which is drawn again after it
        with bar.external_write_mode(file=sys.stdout):
            LOG.info('%s', line)


class Curve(object):
    """The training curve, redrawn after an epoch unless the drawings so far and this one
    would then take more than 5 % of the run's time (epochs of a few seconds: every few epochs;
    a run of short epochs: at its end), and always after the last epoch.  A drawing is expected
    to take as long as the last one (before the first: :data:`FIRST_DRAWING` seconds)."""

    FIRST_DRAWING = 0.3

    def __init__(self, path, model, dataset):
        self.path, self.model, self.dataset = path, model, dataset
        self.start, self.drawing, self.cost = time.time(), 0.0, self.FIRST_DRAWING

    def draw(self, rows, last):
        """Draw ``rows`` (the metrics so far) if it is time to; returns whether it drew."""
        if not last and self.drawing + self.cost > 0.05 * (time.time() - self.start):
            return False
        tic = time.time()
        plot_history(rows, self.path, self.model, self.dataset)
        self.cost = time.time() - tic
        self.drawing += self.cost
        return True


class EpochMeter(object):
    """The training metrics of one epoch so far (error, top-5 error where ``top5``, loss), its
    line every ``interval`` batches (``'auto'``: :func:`log_every`; the speed over the last
    interval) and, on a terminal (``bar``), its ``tqdm`` bar; ``rank``: shown first in a
    distributed run."""

    def __init__(self, epoch, batches, interval, top5=False, rank=None, bar=False):
        self.epoch, self.batches, self.interval, self.top5, self.rank = \
            epoch, batches, log_every(interval, batches), top5, rank
        self.loss_sum, self.correct, self.correct5, self.seen = 0.0, 0, 0, 0
        self.mark, self.mark_seen = time.time(), 0       # start of the current interval
        self.bar = tqdm(total=batches, desc='epoch %d' % epoch, leave=False) if bar else None

    def add(self, b, outputs, label, loss, lr, classes):
        """Count batch ``b`` (from 0): its ``outputs`` (score NDArrays, one per device) against
        ``label`` (numpy; of a mixed batch, the dominant sample's), its summed ``loss``; ``lr``
        for the interval's line."""
        self.loss_sum += loss
        predicted = np.concatenate([o.argmax(axis=1).asnumpy() for o in outputs])
        self.correct += int((predicted == label).sum())
        if self.top5:
            self.correct5 += top_k_hits(outputs, label, min(5, classes))
        self.seen += len(label)
        if self.interval and (b + 1) % self.interval == 0:
            now = time.time()
            metrics = running_metrics(self.seen, self.correct, self.loss_sum,
                                      self.correct5 if self.top5 else None)
            speed = (self.seen - self.mark_seen) / max(now - self.mark, 1e-9)
            log_progress(self.bar, interval_line(self.epoch, b + 1, self.batches, speed, metrics,
                                                 lr, self.rank))
            self.mark, self.mark_seen = now, self.seen
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    @property
    def accuracy(self):
        return self.correct / float(self.seen)

    @property
    def loss(self):
        return self.loss_sum / self.seen
