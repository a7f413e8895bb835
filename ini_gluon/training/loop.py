"""The training loop of ``train_cifar.py``: SGD with Nesterov momentum, checkpoints, resume,
best model, metrics, curves, export; on one device, several GPUs, or several machines through
MXNet's parameter-server KVStore."""
import json
from collections import namedtuple
import logging
import math
import os
import sys
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from gluoncv.utils import LRScheduler, LRSequential

from ..models import get_model
from ..models import resolve_model_name
from .checkpoint import (atomic_write, best_epoch, describe_non_finite, latest_checkpoint,
                         load_checkpoint, non_finite_parameters, prune_checkpoints,
                         save_checkpoint)
from .run_folder import check_new_run, check_resume, check_same_run, claim
from .data import class_names, load_dataset
from .pipeline import BatchStream, mixup_lambda, normalisation
from .plots import plot_history
from .settings import SettingsError, describe, takes_drop_rate

Data = namedtuple('Data', ['train', 'test', 'classes', 'input_shape', 'mean', 'std',
                           'description', 'class_names'])
Data.__new__.__defaults__ = (None,)
Data.__doc__ = '''What a run trains on: ``train`` / ``test`` streams (``len()`` batches,
``epoch(e)`` yielding ``(data, label)`` as numpy arrays or NDArrays, ``indices`` of this worker's
training samples), the number of classes, the input shape ``(3, H, W)``, the normalisation,
and the class names in label order (``None``: the labels' numbers).'''

__all__ = ['fit', 'hybridize_for_training', 'cifar_data', 'Data', 'TrainingError', 'EPOCH_LINE',
           'interval_line', 'top_k_hits']

EPOCH_LINE = '[Epoch %d] train=%f val=%f loss=%f time: %f'   # GluonCV's log line
LOG = logging.getLogger('ini_gluon.train')


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss)."""


def _dump_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=1)


def _export_run(s, final_checkpoint):
    """The end-of-run exports, by the code of ``python -m ini_gluon.export``: the final weights
    (the last checkpoint) into ``export-final/``, the best into ``export-best/``; each a
    float32 network taking raw [0, 255] images, with ``classes.txt`` and ``model.json``.
    Returns ``{'final': folder, 'best': folder}``."""
    from ..export import export
    from ..runs import load_trained
    best = os.path.join(s['save_dir'], '%s-best.params' % s['model'])
    sources = {'final': (os.path.join(final_checkpoint, 'model.params'), s['num_epochs'] - 1),
               'best': (best, best_epoch(s.get('metrics') or []))}
    folders = {}
    for which, (params, epoch) in sources.items():
        source = {'run': os.path.abspath(s['save_dir']), 'which': which, 'epoch': epoch,
                  'params': os.path.abspath(params)}
        folders[which] = os.path.join(s['save_dir'], 'export-' + which)
        export(load_trained(s, source), folders[which])
    return folders


def _initial_weights(net, path, devices):
    """``--initial-checkpoint``: weights only (a parameter file, or a checkpoint folder's
    ``model.params``); a file that does not fit the model is one line (exit 2)."""
    from ..runs import load_weights
    if os.path.isdir(path):
        path = os.path.join(path, 'model.params')
    load_weights(net, path, devices)
    LOG.info('initial weights from %s (--initial-checkpoint)', path)


def _check_finite(net, epoch, last_checkpoint):
    """Stop, as for a non-finite loss, where a parameter or a BatchNorm statistic is not a
    number: nothing of this epoch is written (best parameters, checkpoint, export)."""
    bad = non_finite_parameters(net)
    if bad:
        raise TrainingError(
            'non-finite parameters (NaN or infinity in %s) after epoch %d: training stopped, '
            'nothing of this epoch written; the last good checkpoint is %s'
            % (describe_non_finite(bad), epoch,
               last_checkpoint or 'none (no checkpoint was written yet)'))


def contexts(num_gpus):
    """``[mx.cpu()]`` for 0, else the first ``num_gpus`` GPUs; a one-line error where MXNet
    has fewer (the training scripts, evaluate and predict)."""
    if num_gpus < 0:
        raise SettingsError('--num-gpus must be >= 0, not %d' % num_gpus)
    if num_gpus == 0:
        return [mx.cpu()]
    available = mx.context.num_gpus()
    if num_gpus > available:
        raise SettingsError('--num-gpus %d asked for, %d GPU(s) available to MXNet'
                            % (num_gpus, available))
    return [mx.gpu(i) for i in range(num_gpus)]


def _setup_logging(path):
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    for handler in list(LOG.handlers):
        LOG.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter('%(asctime)s %(message)s')
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(path)):
        handler.setFormatter(fmt)
        LOG.addHandler(handler)


class ParameterServer(object):
    """Data parallelism across machines through MXNet's parameter-server KVStore (``dist_*``).

    Worker 0's parameters are pushed to the servers and pulled by every worker before any
    gradient is pushed (Gluon's Trainer initialises the keys lazily inside its first ``step``,
    where a fast worker's first gradient can reach the server before a slow worker pulled the
    initial weights, and is then pulled as its weights).

    ``dist_sync`` / ``dist_device_sync``: the servers sum the gradients of all workers (and of
    all devices of a worker); every worker applies the same update locally, so each holds the
    optimizer state its checkpoints need.  ``dist_async``: the servers hold the optimizer and
    apply each worker's gradients as they come; workers pull the weights.
    """

    def __init__(self, kv, net, optimizer):
        self.kv = kv
        self.params = [p for p in net.collect_params().values() if p.grad_req != 'null']
        self.asynchronous = 'async' in kv.type
        if self.asynchronous:
            kv.set_optimizer(optimizer)
        keys = list(range(len(self.params)))
        # plain-layout copies: MKL-DNN may hold weights in a blocked layout the KVStore rejects
        values = self._plain([p.data(p.list_ctx()[0]) for p in self.params])
        kv.init(keys, values)
        kv.pull(keys, out=values)
        self._assign(values)

    @staticmethod
    def _plain(arrays):
        return [mx.nd.array(a.asnumpy(), dtype=a.dtype) for a in arrays]

    def _assign(self, values):
        mx.nd.waitall()
        for p, v in zip(self.params, values):
            p.set_data(v)

    def step(self, trainer, batch_size):
        """Aggregate this step's gradients over workers and devices, then update."""
        for i, p in enumerate(self.params):
            self.kv.push(i, p.list_grad(), priority=-i)
        if self.asynchronous:        # the servers updated the weights
            weights = [mx.nd.zeros(p.shape, dtype=p.dtype) for p in self.params]
            for i, w in enumerate(weights):
                self.kv.pull(i, w, priority=-i)
            self._assign(weights)
        else:                        # every worker applies the summed gradients
            for i, p in enumerate(self.params):
                self.kv.pull(i, p.list_grad(), priority=-i)
            trainer.update(batch_size)


def _nd(x, dtype='float32'):
    if isinstance(x, mx.nd.NDArray):
        return x.astype(dtype, copy=False)
    return mx.nd.array(x, dtype=dtype)


def _np(x):
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else x


def _evaluate(net, stream, devices, dtype):
    """Top-1 and top-5 accuracy over ``stream``."""
    top1, top5, total = 0, 0, 0
    for data, label in stream.epoch(0):
        parts = gluon.utils.split_and_load(_nd(data, dtype), devices, even_split=False)
        scores = np.concatenate([net(x).asnumpy() for x in parts])
        label = _np(label).astype(np.int64)
        best = np.argsort(-scores, axis=1)[:, :5]
        top1 += int((best[:, 0] == label).sum())
        top5 += int((best == label[:, None]).any(axis=1).sum())
        total += len(label)
    return top1 / float(total), top5 / float(total)


def _write_metrics(path, rows):
    def write(tmp):
        with open(tmp, 'w') as f:
            for row in rows:
                f.write(json.dumps(row) + '\n')
    atomic_write(path, write)


def interval_line(epoch, batch, batches, speed, metrics, lr, rank=None):
    """The line logged every ``--log-interval`` batches, after GluonCV's ``Epoch[%d] Batch
    [%d]\\tSpeed: %f samples/sec\\t%s=%f``: ``batch`` of ``batches`` done (counted from 1),
    ``speed`` in images / s over the last interval (this worker's), the ``(name, value)`` pairs
    of ``metrics`` (of the epoch so far), the learning rate; ``[rank r] `` first in a
    distributed run (``rank`` given)."""
    line = 'Epoch[%d] Batch [%d/%d]\tSpeed: %f samples/sec' % (epoch, batch, batches, speed)
    line += ''.join('\t%s=%f' % pair for pair in metrics) + '\tlr=%g' % lr
    return line if rank is None else '[rank %d] %s' % (rank, line)


def _running_metrics(seen, correct, loss_sum, correct5=None):
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


def _log_progress(bar, line):
    if bar is None:
        LOG.info('%s', line)
    else:                   # above the terminal's bar, which is drawn again after it
        with bar.external_write_mode(file=sys.stdout):
            LOG.info('%s', line)


class _Curve(object):
    """The training curve, redrawn after an epoch unless the drawings so far would then take
    more than 5 % of the run's time (epochs of a few seconds: every few epochs), and always
    after the last epoch."""

    def __init__(self, path, model, dataset):
        self.path, self.model, self.dataset = path, model, dataset
        self.start, self.drawing = time.time(), 0.0

    def draw(self, rows, last):
        if not last and self.drawing > 0.05 * (time.time() - self.start):
            return
        tic = time.time()
        plot_history(rows, self.path, self.model, self.dataset)
        self.drawing += time.time() - tic


# GluonCV's LRScheduler (gluoncv/utils/lr_scheduler.py, 0.10.5) has the modes constant, step,
# linear, poly and cosine only: no per-epoch exponential decay (MobileNet's, the SINet paper's
# 0.98 per epoch), so this one is the project's own.  It subclasses GluonCV's, whose interface
# LRSequential needs (it asserts the class, sets ``offset`` and reads ``niters``).
class ExponentialScheduler(LRScheduler):
    """``base_lr * factor ** e`` in epoch ``e``, constant within the epoch (a staircase, as
    MobileNet's per-epoch decay).

    Parameters
    ----------
    base_lr : float
        The learning rate of epoch 0 of the run.
    factor : float
        What the learning rate is multiplied by after every epoch.
    nepochs : int
        The epochs this schedule covers.
    iters_per_epoch : int
        Updates per epoch.
    offset : int
        Updates before this schedule's first, as GluonCV's ``LRScheduler`` (``LRSequential``
        sets it: the warm-up's).
    start_epoch : int
        The epoch of the run this schedule starts in (after a warm-up of that many epochs):
        its first epoch runs at ``base_lr * factor ** start_epoch``, so the epochs count from
        the run's start, as ``--lr-decay-epoch`` does.
    """

    def __init__(self, base_lr, factor, nepochs, iters_per_epoch, offset=0, start_epoch=0):
        super(ExponentialScheduler, self).__init__('constant', base_lr=base_lr, nepochs=nepochs,
                                                   iters_per_epoch=iters_per_epoch,
                                                   offset=offset)
        self.factor, self.iters_per_epoch, self.start_epoch = factor, iters_per_epoch, \
            start_epoch

    def update(self, num_update):
        t = min(max(0, num_update - self.offset), self.niters - 1)     # as LRScheduler's
        self.learning_rate = self.base_lr * self.factor ** (self.start_epoch +
                                                            t // self.iters_per_epoch)


class _FromOne(LRSequential):
    """GluonCV's LRSequential, given the update count as MXNet's optimizer counts it: 1 for
    the first update.  LRSequential counts from 0 (it sets each part's ``offset`` to the
    updates before it), so without this the warm-up ends, and every decay after it comes, one
    update early (the last update of the epoch before)."""

    def update(self, num_update):
        super(_FromOne, self).update(num_update - 1)


def _schedule(s, iters):
    """The learning-rate schedule: GluonCV's (``--lr-mode`` step / cosine / poly, linear warm-up
    over ``--warmup-epochs``) or :class:`ExponentialScheduler` (``exponential``); MXNet's own
    for ``dist_async``, whose servers unpickle it while MXNet is still importing (there
    ``FactorScheduler`` is the exponential mode, with its own warm-up).  ``iters``: updates per
    epoch; the optimizer counts its first update as 1."""
    warmup = s.get('warmup_epochs', 0)
    mode = s.get('lr_mode', 'step')
    if s['kvstore'] == 'dist_async' and mode == 'exponential':
        # lr * decay^floor((n - 1) / iters) at update n; warm-up over updates 1 .. warmup * iters
        # (linear from 0: lr * n / (warmup * iters + 1)); stop_factor_lr 0: no floor
        return mx.lr_scheduler.FactorScheduler(
            iters, s['lr_decay'], stop_factor_lr=0, base_lr=s['lr'],
            warmup_steps=warmup * iters + 1 if warmup else 0, warmup_begin_lr=0)
    decay = [e for e in s['lr_decay_epoch'] if 0 < e < s['num_epochs']]
    if s['kvstore'] == 'dist_async':
        steps = [e * iters for e in decay]
        return mx.lr_scheduler.MultiFactorScheduler(steps, s['lr_decay'], base_lr=s['lr']) \
            if steps else None
    if mode == 'exponential':
        main = ExponentialScheduler(s['lr'], s['lr_decay'], s['num_epochs'] - warmup, iters,
                                    offset=0 if warmup else 1, start_epoch=warmup)
    else:
        main = LRScheduler(mode, base_lr=s['lr'], nepochs=s['num_epochs'] - warmup,
                           iters_per_epoch=iters, step_epoch=[e - warmup for e in decay],
                           step_factor=s['lr_decay'], offset=0 if warmup else 1)
    if not warmup:
        return main
    sequence = _FromOne([LRScheduler('linear', base_lr=0, target_lr=s['lr'], nepochs=warmup,
                                     iters_per_epoch=iters), main])
    sequence.base_lr = s['lr']      # what the optimizer sets it to (else it says so)
    return sequence


def cifar_data(s, batch, rank, num_workers):
    """:class:`Data` of ``train_cifar.py``: the official files (or digits), in memory."""
    train_x, train_y, test_x, test_y, classes = load_dataset(s['dataset'], s['data_dir'])
    mean, std = normalisation(s['dataset'], train_x)
    train = BatchStream(train_x, train_y, batch, mean, std, s['augment'], True, s['seed'],
                        rank, num_workers, s['num_workers'])
    test = BatchStream(test_x, test_y, s['test_batch_size'], mean, std, train=False)
    description = '%s, %d training samples (this worker: %d), %d test samples, %d classes' % (
        s['dataset'], len(train_x), len(train.indices), len(test_x), classes)
    return Data(train, test, classes, (3,) + train_x.shape[1:3], mean, std, description,
                class_names(s['dataset'], s['data_dir']))


def fit(s, make_data=cifar_data):
    """Train as the resolved settings ``s`` say (see :mod:`ini_gluon.training.settings`), on
    ``make_data(s, batch, rank, num_workers)`` (a :class:`Data`).

    Returns
    -------
    dict
        ``{'epochs': [...metrics rows...], 'best_val_error': float, 'export': prefix or None}``
    """
    if os.path.exists(s['save_dir']) and not os.path.isdir(s['save_dir']):
        raise SettingsError('--save-dir %s is a file, not a folder' % s['save_dir'])
    os.makedirs(s['save_dir'], exist_ok=True)
    distributed = s['kvstore'].startswith('dist')
    kv = mx.kv.create(s['kvstore']) if distributed else None
    rank, num_workers = (kv.rank, kv.num_workers) if distributed else (0, 1)
    with claim(s['save_dir'], rank):
        return _fit(s, make_data, kv, rank, num_workers)


def hybridize_for_training(net):
    """Hybridize ``net`` as training does: static allocation (the buffers planned once), not
    static shapes.  With MKL-DNN, ``static_shape`` also keeps a buffer per operator for each
    input it reorders out of MKL-DNN's layout: with the formulation of version
    ``squeeze hand-on`` (:mod:`ini_gluon.formulations`), ``se_resnet164`` at batch 32 peaked at
    2.9 GiB with it, 1.8 GiB without, and the step times of the two differed by less than this
    machine's scatter from run to run."""
    net.hybridize(static_alloc=True)


def _fit(s, make_data, kv, rank, num_workers):
    distributed = kv is not None
    chief = rank == 0
    resume = s['resume_from']
    if resume == 'auto':
        resume = latest_checkpoint(s['save_dir'])
    if resume is None and chief:          # before anything is written into the folder
        check_new_run(s['save_dir'], s.get('overwrite', False))
    theirs = check_resume(resume, s) if resume else None
    log_path = s['logging_file'] or os.path.join(
        s['save_dir'], 'train.log' if chief else 'train-rank%d.log' % rank)
    _setup_logging(log_path)
    for key, entry in describe(s).items():
        LOG.info('setting %s = %s (%s%s)', key, entry['value'], entry['source'],
                 ': %s' % entry['note'] if 'note' in entry else '')
    for warning in s['warnings']:
        LOG.warning('warning: %s', warning)
    if s['num_gpus'] == 0:
        LOG.info('no GPU requested (--num-gpus 0): training on the CPU')
    devices = contexts(s['num_gpus'])
    if num_workers > 1:
        LOG.info('distributed %s: worker %d of %d', s['kvstore'], rank, num_workers)

    batch = s['batch_size'] * len(devices)
    data = make_data(s, batch, rank, num_workers)
    train, test, classes = data.train, data.test, data.classes
    mean, std, dtype = data.mean, data.std, s.get('dtype', 'float32')
    names = list(data.class_names or [str(c) for c in range(classes)])
    s = dict(s, mean=mean, std=std, num_classes=classes, class_names=names)
    if resume:
        check_same_run(resume, theirs, s)             # the class count is known now
    if len(train) == 0:
        raise SettingsError('the training set shard has %d samples, fewer than one batch of %d'
                            % (len(train.indices), batch))
    LOG.info('data: %s', data.description)

    kwargs = {'classes': classes}
    spec = resolve_model_name(s['model'])
    if takes_drop_rate(spec):
        kwargs['drop_rate'] = s['drop_rate']
    net = get_model(spec, **kwargs)
    net.model_name = s['model']
    mx.random.seed(s['seed'])
    net.initialize(mx.init.Xavier(), ctx=devices)
    if s.get('initial_checkpoint') and not resume:
        _initial_weights(net, s['initial_checkpoint'], devices)
    if dtype != 'float32':
        net.cast(dtype)
    if s['mode'] == 'hybrid':
        hybridize_for_training(net)

    schedule = _schedule(s, len(train))
    global_batch = batch * num_workers
    optimizer = {'learning_rate': s['lr'], 'wd': s['wd'], 'momentum': s['momentum'],
                 'lr_scheduler': schedule, 'multi_precision': dtype == 'float16'}
    if s['kvstore'] == 'dist_async':     # the servers apply each worker's batch on its own
        optimizer['rescale_grad'] = 1.0 / batch
    # across machines the ParameterServer aggregates; Gluon's kvstore only within one machine
    trainer = gluon.Trainer(net.collect_params(), 'nag', optimizer,
                            kvstore=None if distributed else s['kvstore'],
                            update_on_kvstore=False if distributed else None)
    keeps_states = s['kvstore'] != 'dist_async'     # async: the optimizer lives on the servers

    rows, best, start = [], float('inf'), 0
    if s['resume_from'] == 'auto' and resume is None:
        LOG.info('--resume auto: no complete checkpoint in %s, starting from scratch',
                 s['save_dir'])
    if resume:
        meta = load_checkpoint(resume, net, trainer if keeps_states else None, devices)
        rows, best, start = meta['metrics'], meta['best_val_error'], meta['epoch'] + 1
        LOG.info('resumed from %s: continuing at epoch %d', resume, start)

    server = None
    if distributed:
        net(mx.nd.zeros((1,) + data.input_shape, ctx=devices[0], dtype=dtype))  # deferred init
        server = ParameterServer(kv, net, trainer.optimizer)

    metrics_path = os.path.join(s['save_dir'], 'metrics.jsonl')
    curve = _Curve(os.path.join(s['save_dir'], '%s_history.png' % s['model']), s['model'],
                   s['dataset'])
    if chief:
        _write_metrics(metrics_path, rows)
    interval = s.get('log_interval', 0)
    top5 = s['dataset'] == 'imagenet'       # train_imagenet.py: running top-5 error too
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)
    last_checkpoint = resume
    show_bar = sys.stderr.isatty()

    for epoch in range(start, s['num_epochs']):
        tic = time.time()
        mixing = s['mixup'] and epoch < s['num_epochs'] - s['mixup_off_epoch']
        mx.random.seed(s['seed'] * 1000 + epoch)      # dropout masks
        loss_sum, correct, correct5, seen = 0.0, 0, 0, 0
        mark, mark_seen = tic, 0            # start of the current --log-interval
        bar = None
        if show_bar:
            from tqdm import tqdm
            bar = tqdm(total=len(train), desc='epoch %d' % epoch, leave=False)
        for b, (images, label) in enumerate(train.epoch(epoch)):
            lam = mixup_lambda(s['seed'], epoch, b, s['mixup_alpha']) if mixing else 1.0
            xs = gluon.utils.split_and_load(_nd(images, dtype), devices)
            ys = gluon.utils.split_and_load(_nd(label, dtype), devices)
            label = _np(label)
            # mixup (lam = 1 without it): each sample mixed with the batch's reverse
            xs = [lam * x + (1 - lam) * x[::-1] for x in xs] if mixing else xs
            targets = [lam * mx.nd.one_hot(y, classes) + (1 - lam) * mx.nd.one_hot(y[::-1], classes)
                       for y in ys]
            with autograd.record():
                outputs = [net(x) for x in xs]
                losses = [loss_fn(o, t) for o, t in zip(outputs, targets)]
            autograd.backward(losses)
            if server is None:
                trainer.step(global_batch)
            else:
                server.step(trainer, global_batch)
            batch_loss = sum(loss.sum().asscalar() for loss in losses)
            if not math.isfinite(batch_loss):
                raise TrainingError(
                    'non-finite loss (%s) at epoch %d, batch %d: training stopped; the last good '
                    'checkpoint is %s' % (batch_loss, epoch, b, last_checkpoint or 'none (no '
                                          'checkpoint was written yet)'))
            loss_sum += batch_loss
            dominant = label if lam >= 0.5 else label[::-1]
            correct += int((np.concatenate([o.argmax(axis=1).asnumpy() for o in outputs])
                            == dominant).sum())
            if top5:
                correct5 += top_k_hits(outputs, dominant, min(5, classes))
            seen += len(label)
            if interval and (b + 1) % interval == 0:
                now = time.time()
                metrics = _running_metrics(seen, correct, loss_sum, correct5 if top5 else None)
                _log_progress(bar, interval_line(
                    epoch, b + 1, len(train), (seen - mark_seen) / max(now - mark, 1e-9),
                    metrics, trainer.learning_rate, rank if num_workers > 1 else None))
                mark, mark_seen = now, seen
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        _check_finite(net, epoch, last_checkpoint)      # before anything of it is written
        train_acc = correct / float(seen)
        val_acc, val_top5 = _evaluate(net, test, devices, dtype)
        elapsed = time.time() - tic
        row = {'epoch': epoch, 'train_acc': train_acc, 'train_error': 1 - train_acc,
               'val_acc': val_acc, 'val_error': 1 - val_acc, 'val_top5_error': 1 - val_top5,
               'loss': loss_sum / seen,
               'lr': trainer.learning_rate, 'mixup': bool(mixing), 'time': elapsed}
        rows.append(row)
        LOG.info(EPOCH_LINE, epoch, train_acc, val_acc, row['loss'], elapsed)
        if not chief:
            continue
        curve.draw(rows, last=epoch + 1 == s['num_epochs'])
        _write_metrics(metrics_path, rows)
        if row['val_error'] < best:
            best = row['val_error']
            atomic_write(os.path.join(s['save_dir'], '%s-best.params' % s['model']),
                         net.save_parameters)
            LOG.info('best validation error %.4f at epoch %d', best, epoch)
        if (epoch + 1) % s['save_period'] == 0 or epoch + 1 == s['num_epochs']:
            meta = {'settings': s, 'metrics': rows, 'best_val_error': best}
            last_checkpoint = save_checkpoint(s['save_dir'], epoch, net,
                                              trainer if keeps_states else None, meta)
            LOG.info('checkpoint %s', last_checkpoint)
            for path in prune_checkpoints(s['save_dir'], s.get('keep_checkpoints'),
                                          best_epoch(rows)):
                LOG.info('removed %s (--keep-checkpoints %d)', path, s['keep_checkpoints'])

    export = None
    if num_workers > 1:
        net.save_parameters(os.path.join(s['save_dir'], 'final-rank%d.params' % rank))
        with open(os.path.join(s['save_dir'], 'shard-rank%d.json' % rank), 'w') as f:
            json.dump(train.indices.tolist(), f)
    if chief:
        atomic_write(os.path.join(s['save_dir'], 'settings.json'),
                     lambda path: _dump_json(path, s))
        export = _export_run(dict(s, metrics=rows), last_checkpoint)
        LOG.info('exported the final and the best weights to %s and %s (%s-symbol.json and '
                 '-0000.params, classes.txt, model.json; input: NCHW RGB images in [0, 255], '
                 'normalised inside the graph with mean %s, std %s in [0, 1] units)',
                 export['final'], export['best'], s['model'], ['%.4f' % m for m in mean],
                 ['%.4f' % v for v in std])
    return {'epochs': rows, 'best_val_error': best, 'export': export}
