"""A trained model on its data set's test split (the code of ``python -m ini_gluon.evaluate``,
``compare`` and ``visualize``): top-1 and top-5 error, the accuracy of every class, the
confusion matrix, their table and picture; and the top-k classes of image files (``python -m
ini_gluon.predict``).
"""
import json
import math
import os

import mxnet as mx
import numpy as np
from mxnet.gluon.block import HybridBlock

from ..data import class_names, load_dataset, normalisation, test_split
from ..data.imagenet import MEAN, STD
from ..run.figures import new_figure
from ..run.files import atomic_write, atomic_write_text, check_output_folder, record_outputs
from ..run.settings import Settings
from ..run.trained import (Preprocessing, RunError, Trained, load_trained, open_run,
                           predictions, read_image)

__all__ = ['DATASETS', 'OUTPUTS', 'scores', 'evaluate', 'render', 'plot_confusion',
           'write_evaluation',
           'open_model', 'IMAGE_EXTENSIONS', 'image_files', 'predict', 'as_trained',
           'predict_top']

DATASETS = ('cifar10', 'cifar100', 'svhn', 'digits', 'imagenet')


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
    """:func:`scores` of the :class:`~ini_gluon.run.trained.Trained` network over ``stream``."""
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
    confusion = np.asarray(result['confusion'], np.float64)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    side = min(12, 4 + 0.35 * len(names))
    fig = new_figure(side + 1.5, side)
    ax = fig.subplots()
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


OUTPUTS = ('evaluation.md', 'evaluation.json', 'confusion.png')


def write_evaluation(out, result, table, names, title):
    """``evaluation.json``, ``evaluation.md`` (``table``) and ``confusion.png`` in ``out``
    (refused where it holds files of those names the command did not write)."""
    check_output_folder(out, OUTPUTS)
    os.makedirs(out, exist_ok=True)
    atomic_write_text(os.path.join(out, 'evaluation.json'),
                      json.dumps(dict(result, class_names=list(names)), indent=1))
    atomic_write_text(os.path.join(out, 'evaluation.md'), table)
    atomic_write(os.path.join(out, 'confusion.png'),
                 lambda tmp: plot_confusion(result, names, title, tmp))
    record_outputs(out, OUTPUTS)


def open_model(save_dir=None, model=None, params=None, dataset=None, data_dir=None,
               which='best', batch=256, ctx=None):
    """``(Trained, settings, test stream, class folders or None)``: a run's weights
    (``save_dir``, ``which``), or weights from anywhere (``model``, ``params``, ``dataset``)
    normalised as ``train_cifar.py`` / ``train_imagenet.py`` would normalise ``dataset``; with
    the test split as :func:`~ini_gluon.data.test_split` reads it (``data_dir`` overrides the
    run's)."""
    if save_dir and (model or params):
        raise RunError('give a run (--save-dir) or weights from elsewhere (--model and '
                       '--params), not both')
    if save_dir:
        trained = open_run(save_dir, which, ctx)
        s = trained.settings.replace(data_dir=data_dir) if data_dir else trained.settings
        if dataset and dataset != s.dataset:
            raise RunError('the run was trained on %s, not %s' % (s.dataset, dataset))
        return (trained, s) + test_split(s, batch)
    if not (model and params and dataset):
        raise RunError('give --save-dir RUN, or --model, --params and --dataset')
    if dataset == 'imagenet':
        s = Settings(model=model, dataset=dataset, data_dir=data_dir or '.', mean=MEAN, std=STD,
                     num_workers=4)
        stream, folders = test_split(s, batch)
        s = s.replace(num_classes=len(folders), class_names=folders)
    else:       # loaded once: the training split's statistics, the test split
        data = load_dataset(dataset, data_dir)
        mean, std = normalisation(dataset, data[0])
        s = Settings(model=model, dataset=dataset, data_dir=data_dir, mean=mean, std=std,
                     num_classes=data[4], class_names=class_names(dataset, data_dir))
        stream, folders = test_split(s, batch, data)
    source = {'run': None, 'which': None, 'epoch': None, 'params': os.path.abspath(params)}
    return load_trained(s, source, ctx), s, stream, folders


IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


def image_files(paths):
    """The files of ``paths``: each file as it is, each folder's image files (sorted)."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(root, name) for root, _, names in os.walk(path)
                           for name in names if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise RunError('folder %r holds no image file (%s)'
                               % (path, ', '.join(IMAGE_EXTENSIONS)))
            files += found
        else:
            files.append(path)
    return files


def _top(probabilities, names, k):
    """The ``k`` most probable ``(class name, probability)`` of one row, most probable first."""
    best = np.argsort(-probabilities, kind='stable')[:k]
    return [(names[c], float(probabilities[c])) for c in best]


def predict(trained, files, top_k=5, batch=64, ctx=None):
    """``[{'image', 'top': [(class name, probability), ...]}]``, the ``top_k`` most probable
    classes of every image file, most probable first."""
    k = min(top_k, trained.classes)
    results = []
    for start in range(0, len(files), batch):
        chunk = files[start:start + batch]
        raw = mx.nd.stack(*[trained.preprocessing.raw(read_image(f)) for f in chunk])
        probabilities = predictions(trained, trained.preprocessing.normalise(raw), ctx)
        for path, p in zip(chunk, probabilities):
            results.append({'image': path, 'top': _top(p, trained.class_names, k)})
    return results


def _preprocessing(cfg):
    """The :class:`~ini_gluon.run.trained.Preprocessing` of a network's ``default_cfg``."""
    size = cfg['input_size'][-1]
    crop = cfg.get('crop_pct', 1.0)
    return Preprocessing(size, None if crop >= 1 else int(math.ceil(size / crop)),
                         list(cfg['mean']), list(cfg['std']))


def as_trained(model, which='best', class_names=None, ctx=None):
    """``model`` as a :class:`~ini_gluon.run.trained.Trained`: a run folder (its weights
    ``which``), a ``Trained`` as it is, or a network (initialised), whose image files are
    preprocessed as its ``default_cfg`` says (its paper's data set: CIFAR's or ImageNet's) and
    whose classes are ``class_names``, else its own ``classes`` names (GluonCV's ImageNet
    models), else their numbers."""
    if isinstance(model, Trained):
        return model
    if isinstance(model, (str, os.PathLike)):
        return open_run(os.fspath(model), which, ctx)
    if not isinstance(model, HybridBlock):
        raise RunError('expected a run folder, a Trained or a network, not %s'
                       % type(model).__name__)
    name = getattr(model, 'model_name', model.name)
    cfg = getattr(model, 'default_cfg', None)
    classes = (cfg or {}).get('num_classes')
    own = getattr(model, 'classes', None)            # GluonCV's ImageNet models: the names
    names = class_names if class_names is not None else \
        own if isinstance(own, (list, tuple)) else None
    if names is not None:
        names = [str(n) for n in names]
        if classes is not None and len(names) != classes:
            raise RunError('%d class names for the %d classes of %s'
                           % (len(names), classes, name))
    elif classes is None:
        raise RunError('%s: its classes are not known (no default_cfg): give class_names'
                       % name)
    return Trained(model, name, len(names) if names else classes,
                   names or [str(c) for c in range(classes)],
                   _preprocessing(cfg) if cfg else None, None,
                   {'run': None, 'which': None, 'epoch': None, 'params': 'of %s' % name})


def predict_top(model, images, top_k=5, which='best', class_names=None, batch=64, ctx=None):
    """The ``top_k`` classes of images: ``ini_gluon.predict(model, images)``.

    Parameters
    ----------
    model : str, Trained or HybridBlock
        A run folder (``train_cifar.py --save-dir``; its weights ``which``), a trained network
        (:func:`~ini_gluon.run.trained.open_run`), or a network (``get_model``'s, initialised:
        image files are preprocessed as its ``default_cfg`` says).
    images : str, sequence of str, or array
        Image files or folders of them (preprocessed as the run's test split, or as the
        network's ``default_cfg``), or a batch ``(N, 3, H, W)`` (numpy or NDArray) of the
        network's input, already normalised.
    class_names : sequence of str, optional
        For a network: the names of its classes (by default its ``classes`` attribute where it
        has one, else the class numbers).
    ctx : list of Context, optional
        Where the batches run; by default the CPU (a network: where its parameters are).

    Returns
    -------
    list of dict
        Per image, ``{'image': its path (or its index in the batch), 'top': [(class name,
        probability), ...]}``, most probable first.
    """
    trained = as_trained(model, which, class_names, ctx)
    if ctx is None and isinstance(model, HybridBlock):
        ctx = next(iter(model.collect_params().values())).list_ctx()
    if isinstance(images, (np.ndarray, mx.nd.NDArray)):
        k = min(top_k, trained.classes)
        return [{'image': i, 'top': _top(p, trained.class_names, k)}
                for i, p in enumerate(predictions(trained, images, ctx))]
    if trained.preprocessing is None:
        raise RunError('%s has no default_cfg to preprocess image files with: give a batch of '
                       'its input' % trained.model)
    files = image_files([images] if isinstance(images, (str, os.PathLike)) else list(images))
    return predict(trained, files, top_k, batch, ctx)
