"""``python -m ini_gluon.evaluate --save-dir RUN [--which best|final|N]``: a trained model on
its data set's test split.

Top-1 and top-5 error, the accuracy of every class and the confusion matrix, as a table on
stdout and in ``evaluation.md``, as JSON in ``evaluation.json``, and as a picture in
``confusion.png`` (rows: the true class, normalised to 1; columns: the predicted class), in
``--out`` (default ``RUN/evaluation-<which>``).  The test split is read as the run's training
script read it (its ``--data-dir``, unless given again; the run's normalisation).  ``--model
NAME --params FILE --dataset D`` evaluates weights from anywhere, normalised as
``train_cifar.py`` would normalise ``D``.
"""
import json
import math
import os
import sys

import numpy as np

from ._argparse import add_trained_options, command, command_parser, positive_int
from .runs import WHICH_HELP, RunError, describe_source, open_params, open_run, predictions
from .training.loop import contexts

__all__ = ['evaluate', 'scores', 'test_split', 'open_model', 'render', 'main']

DATASETS = ('cifar10', 'cifar100', 'svhn', 'digits', 'imagenet')


def test_split(s, batch, data=None):
    """``(stream, class names or None)``: the test split of the run whose settings are ``s``,
    normalised as in training (``stream.epoch(0)`` yields ``(data, label)`` batches); ``data``:
    the data set as ``load_dataset`` returned it, where it is loaded already."""
    from .training.data import load_dataset
    from .training.pipeline import BatchStream
    if s['dataset'] != 'imagenet':
        _, _, test_x, test_y, _ = data or load_dataset(s['dataset'], s.get('data_dir'))
        return BatchStream(test_x, test_y, batch, s['mean'], s['std'], train=False), None
    from .training.imagenet import FolderStream, RecordStream
    common = dict(size=s['input_size'], crop_ratio=s['crop_ratio'], seed=s.get('seed', 1),
                  part=0, num_parts=1, workers=s.get('num_workers', 4))
    if s.get('use_rec'):
        stream = RecordStream(s['rec_val'], s['rec_val_idx'], batch, False, **common)
        if stream.count < batch:      # ImageRecordIter wants a batch no larger than the file
            stream = RecordStream(s['rec_val'], s['rec_val_idx'], stream.count, False, **common)
        return stream, None
    stream = FolderStream(os.path.join(os.path.expanduser(s['data_dir']), 'val'), batch,
                          False, **common)
    return stream, stream.classes


def scores(probabilities, labels, classes):
    """Top-1 / top-5 error, per-class accuracy and the confusion matrix of ``probabilities``
    ``(N, classes)`` against integer ``labels`` ``(N,)``."""
    labels = np.asarray(labels).astype(np.int64)
    ranked = np.argsort(-probabilities, axis=1, kind='stable')
    top1 = ranked[:, 0] == labels
    top5 = (ranked[:, :5] == labels[:, None]).any(axis=1)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (labels, ranked[:, 0]), 1)
    images = confusion.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        per_class = np.where(images > 0, np.diag(confusion) / np.maximum(images, 1), np.nan)
    return {'images': int(len(labels)), 'top1_error': float(1 - top1.mean()),
            'top5_error': float(1 - top5.mean()),
            'per_class_accuracy': [None if math.isnan(a) else float(a) for a in per_class],
            'per_class_images': images.tolist(), 'confusion': confusion.tolist()}


def evaluate(trained, stream, ctx=None):
    """:func:`scores` of the :class:`~ini_gluon.runs.Trained` network over ``stream``."""
    probabilities, labels = [], []
    for data, label in stream.epoch(0):
        probabilities.append(predictions(trained, data, ctx))
        labels.append(label.asnumpy() if hasattr(label, 'asnumpy') else np.asarray(label))
    if not probabilities:
        raise RunError('the test split holds no image')
    return scores(np.concatenate(probabilities), np.concatenate(labels), trained.classes)


def render(result, names, title, rows=20):
    """The Markdown table of a :func:`scores` result: the errors, then the accuracy of every
    class (of the ``rows // 2`` worst and best where there are more than ``rows``)."""
    out = [title, '', '| metric | value |', '|---|---:|',
           '| images | %d |' % result['images'],
           '| top-1 error | %.4f |' % result['top1_error'],
           '| top-5 error | %.4f |' % result['top5_error'], '']
    accuracy = result['per_class_accuracy']
    order = list(range(len(names)))
    note = ''
    if len(order) > rows:
        ranked = sorted((i for i in order if accuracy[i] is not None), key=lambda i: accuracy[i])
        order = ranked[:rows // 2] + ranked[-(rows // 2):]
        note = ' (the %d worst and the %d best; evaluation.json has every class)' % (
            rows // 2, rows // 2)
    out += ['Per class%s:' % note, '', '| class | images | accuracy |', '|---|---:|---:|']
    for i in order:
        out.append('| %s | %d | %s |' % (names[i], result['per_class_images'][i],
                                         '-' if accuracy[i] is None else '%.4f' % accuracy[i]))
    return '\n'.join(out) + '\n'


def plot_confusion(result, names, title, path):
    """``confusion.png``: rows the true class (normalised to 1), columns the prediction."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    confusion = np.asarray(result['confusion'], np.float64)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    side = min(12, 4 + 0.35 * len(names))
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    image = ax.imshow(rates, cmap='Blues', vmin=0, vmax=1, interpolation='nearest')
    if len(names) <= 30:
        ax.set_xticks(range(len(names)))
        ax.set_yticks(range(len(names)))
        ax.set_xticklabels(names, rotation=90, fontsize=8)
        ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, label='share of the true class')
    fig.tight_layout()
    fig.savefig(path, format='png')     # the path may have no extension (a temporary)
    plt.close(fig)


def _write(out, result, table, names, title):
    from .training.checkpoint import atomic_write, atomic_write_text
    os.makedirs(out, exist_ok=True)
    atomic_write_text(os.path.join(out, 'evaluation.json'),
                      json.dumps(dict(result, class_names=list(names)), indent=1))
    atomic_write_text(os.path.join(out, 'evaluation.md'), table)
    atomic_write(os.path.join(out, 'confusion.png'),
                 lambda tmp: plot_confusion(result, names, title, tmp))


def build_parser():
    p = command_parser('python -m ini_gluon.evaluate', __doc__)
    a = p.add_argument
    a('--save-dir', help='the --save-dir of a train_cifar.py / train_imagenet.py run')
    a('--model', help='with --params: a model name, for weights from anywhere')
    a('--params', help='with --model: a parameter file (save_parameters or an export\'s)')
    a('--dataset', choices=DATASETS, help='with --model: the data set (default: the run\'s)')
    a('--data-dir', help='folder of the data set\'s files (default: the run\'s --data-dir)')
    a('--batch-size', type=positive_int, default=256,
      help='images per batch (default: %(default)s)')
    a('--num-gpus', type=int, default=0, help='GPUs to evaluate on; 0: the CPU (default)')
    a('--out', help='folder for evaluation.json / .md and confusion.png (default: '
      'RUN/evaluation-<which>, or evaluation-<model> with --params)')
    add_trained_options(p, WHICH_HELP)
    return p


def open_model(save_dir=None, model=None, params=None, dataset=None, data_dir=None,
               which='best', batch=256, ctx=None):
    """``(Trained, settings, test stream, class folders or None)``: a run's weights
    (``save_dir``, ``which``), or weights from anywhere (``model``, ``params``, ``dataset``)
    normalised as ``train_cifar.py`` / ``train_imagenet.py`` would normalise ``dataset``; with
    the test split as :func:`test_split` reads it (``data_dir`` overrides the run's)."""
    if save_dir and (model or params):
        raise RunError('give a run (--save-dir) or weights from elsewhere (--model and '
                       '--params), not both')
    if save_dir:
        trained = open_run(save_dir, which, ctx)
        s = dict(trained.settings)
        if data_dir:
            s['data_dir'] = data_dir
        if dataset and dataset != s['dataset']:
            raise RunError('the run was trained on %s, not %s' % (s['dataset'], dataset))
        return (trained, s) + test_split(s, batch)
    if not (model and params and dataset):
        raise RunError('give --save-dir RUN, or --model, --params and --dataset')
    s = {'dataset': dataset, 'data_dir': data_dir}
    if dataset == 'imagenet':
        from .training.imagenet import MEAN, STD
        s.update(input_size=224, crop_ratio=0.875, use_rec=False, mean=MEAN, std=STD,
                 data_dir=data_dir or '.')
        stream, folders = test_split(s, batch)
        classes = len(folders)
        s['class_names'] = list(folders)
    else:       # loaded once: the training split's statistics, the test split
        from .training.data import class_names, load_dataset
        from .training.pipeline import normalisation
        data = load_dataset(dataset, data_dir)
        mean, std = normalisation(dataset, data[0])
        s.update(mean=mean, std=std, class_names=list(class_names(dataset, data_dir)))
        (stream, folders), classes = test_split(s, batch, data), data[4]
    trained = open_params(model, params, classes, dataset, s['mean'], s['std'],
                          s.get('class_names'), ctx, **{k: v for k, v in s.items() if k not in
                                                        ('dataset', 'mean', 'std')})
    return trained, s, stream, folders


def _open(args, ctx):
    """``(network, settings, --out, test stream, class folders or None)``."""
    trained, s, stream, folders = open_model(args.save_dir, args.model, args.params,
                                             args.dataset, args.data_dir, args.which,
                                             args.batch_size, ctx)
    out = args.out or (os.path.join(args.save_dir, 'evaluation-%s' % args.which)
                       if args.save_dir else 'evaluation-%s' % args.model)
    return trained, s, out, stream, folders


def _main(args):
    ctx = contexts(args.num_gpus)
    trained, s, out, stream, folder_names = _open(args, ctx)
    names = trained.class_names
    if folder_names is not None and list(folder_names) != list(names):
        raise RunError('the class folders of %s are not the classes the model was trained on'
                       % s['data_dir'])
    result = evaluate(trained, stream, ctx)
    title = '%s, %s, %s test split (%d images)' % (
        trained.model, describe_source(trained.source), s['dataset'], result['images'])
    table = render(result, names, title)
    _write(out, result, table, names, title)
    sys.stdout.write(table)
    print('\nwritten: %s' % ', '.join(os.path.join(out, f) for f in
                                      ('evaluation.md', 'evaluation.json', 'confusion.png')))
    return 0


main = command(build_parser, _main)

if __name__ == '__main__':
    sys.exit(main())
