"""A trained model: the weights and settings of a run folder (``train_cifar.py`` /
``train_imagenet.py --save-dir``) or of a parameter file, the network they fit (built by
:func:`build_net`, the one builder of a run's network, training's too), and the preprocessing
it was trained with.

What ``evaluate``, ``predict`` and ``export`` share:

* :func:`open_run` reads a run's settings (``settings.json``, written when the run ends, else
  its latest checkpoint's) and picks its weights: ``best`` (``<model>-best.params``, the epoch
  of the lowest validation error), ``final`` (the latest checkpoint) or an epoch's checkpoint;
* :func:`open_params` takes a model name and a parameter file from anywhere;
* :func:`load_weights` loads a parameter file of any of the project's kinds into a network:
  ``save_parameters`` files (checkpoints, ``-best.params``) and exports (``-0000.params``,
  whose names carry the exported network's prefix), and refuses one that does not fit in one
  line naming the first difference;
* :class:`Preprocessing` turns an image file into the network's input as the training did.
"""
import inspect
import math
import os
import sys
import tempfile
from collections import namedtuple
from contextlib import contextmanager

import mxnet as mx
import numpy as np
from mxnet.base import MXNetError
from PIL import Image, ImageFile, UnidentifiedImageError
from mxnet.gluon.data.vision import transforms

from ..data.datasets import class_names_problem
from ..models import get_model, resolve_model_name
from .checkpoint import (CheckpointError, best_epoch, best_paths, best_record, check_weights,
                         checked_row, checkpoint_folders, describe_non_finite, latest_checkpoint,
                         read_meta)
from .files import JSONFileError, check_utf8_path, read_json, read_json_lines
from .settings import IDENTITY, LIMITS, TRAINING, Settings, differences, from_json

__all__ = ['RunError', 'Trained', 'Preprocessing', 'open_run', 'open_params', 'load_trained',
           'load_weights', 'build_net', 'takes_drop_rate', 'contexts', 'read_settings',
           'read_image', 'describe_source', 'predictions', 'metrics_rows', 'EXPORT_PREFIX',
           'WHICH_HELP', 'check_finite_output']

# the prefix of the normalisation block an export puts before the network (its constants are
# the only parameters of an export's file that are not the network's)
EXPORT_PREFIX = 'rawinput_'


WHICH_HELP = ('the weights: best (the epoch of the lowest validation error, default), final '
              '(the latest checkpoint) or an epoch number (its checkpoint)')


class RunError(ValueError):
    """A run folder, a parameter file or an image that cannot be used: one line saying why."""


class Preprocessing(namedtuple('Preprocessing', ['size', 'resize', 'mean', 'std'])):
    """How an image becomes the network's input, as in training.

    ``size``: the input's height and width; ``resize``: the shorter side an image is resized
    to before its centre ``size x size`` crop (ImageNet: ``ceil(size / crop_ratio)``), or
    ``None`` to resize the whole image to ``size x size`` (CIFAR, SVHN, digits: their images
    are whole 32x32 objects); ``mean`` / ``std``: per RGB channel, in [0, 1] units.
    """
    __slots__ = ()

    @classmethod
    def of(cls, s):
        """The preprocessing of the :class:`~ini_gluon.run.settings.Settings` ``s`` of a run."""
        if s.dataset == 'imagenet':
            size = int(s.input_size)
            return cls(size, int(math.ceil(size / s.crop_ratio)), list(s.mean), list(s.std))
        return cls(32, None, list(s.mean), list(s.std))

    def raw(self, image):
        """``image`` (HWC uint8 RGB NDArray) resized and cropped: ``(3, size, size)`` float32
        in [0, 255], not normalised (the exported models take this)."""
        if self.resize is None:
            if image.shape[:2] != (self.size, self.size):
                image = mx.image.imresize(image, self.size, self.size)
        else:   # train_imagenet.py's validation transform
            image = transforms.CenterCrop(self.size)(
                transforms.Resize(self.resize, keep_ratio=True)(image))
        return image.astype('float32').transpose((2, 0, 1))

    def normalise(self, raw):
        """``(raw / 255 - mean) / std`` of a batch ``(N, 3, H, W)`` of :meth:`raw` images."""
        mean = mx.nd.array(self.mean).reshape((1, 3, 1, 1)) * 255
        std = mx.nd.array(self.std).reshape((1, 3, 1, 1)) * 255
        return mx.nd.broadcast_div(mx.nd.broadcast_sub(raw, mean), std)

    def describe(self):
        """JSON of the preprocessing (an export's ``model.json``)."""
        resize = ('resize the whole image to %dx%d' % (self.size, self.size)
                  if self.resize is None else
                  'resize the shorter side to %d, crop the centre %dx%d'
                  % (self.resize, self.size, self.size))
        return {'resize': resize, 'mean': self.mean, 'std': self.std,
                'normalisation': '(x / 255 - mean) / std per RGB channel'}


Trained = namedtuple('Trained', ['net', 'model', 'classes', 'class_names', 'preprocessing',
                                 'settings', 'source'])
Trained.__doc__ = """A loaded network: ``net`` (initialised on the contexts asked for), the model
name, the class count and names, the :class:`Preprocessing`, the run's settings (``None`` for a
parameter file from elsewhere) and ``source`` (``{'params', 'which', 'epoch', 'run'}``)."""


def read_settings(save_dir):
    """The :class:`~ini_gluon.run.settings.Settings` of the run in ``save_dir``:
    ``settings.json`` (the run ended), else its latest checkpoint's."""
    if not os.path.isdir(save_dir):
        raise RunError('run folder %r not found: expected the --save-dir of a train_cifar.py or '
                       'train_imagenet.py run' % (save_dir,))
    path = os.path.join(save_dir, 'settings.json')
    try:
        if os.path.isfile(path):
            return _checked_settings(read_json(path, 'run settings', None), path)
        checkpoint = latest_checkpoint(save_dir)
        if checkpoint is not None:
            path = os.path.join(checkpoint, 'meta.json')
            return _checked_settings(read_meta(checkpoint).get('settings'), path)
    except (JSONFileError, CheckpointError, RunError) as err:
        raise RunError(str(err)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunError('run folder %r: %s cannot be read (%s)' % (save_dir, path, err))
    raise RunError('%r is not a run folder: it holds no settings.json and no complete '
                   'checkpoint (train_cifar.py --save-dir writes both)' % (save_dir,))


SETTINGS = ('model', 'dataset', 'num_classes', 'mean', 'std')


def _checked_settings(s, path):
    missing = [k for k in SETTINGS if not isinstance(s, dict) or k not in s]
    if missing:
        raise RunError('%s is not the settings of a run: expected a JSON object with %s (no %s)'
                       % (path, ', '.join(SETTINGS), ', '.join(missing)))
    settings = from_json(s)
    problem = _settings_problem(settings)
    if problem:
        raise RunError('%s is not the settings of a run: %s' % (path, problem))
    return settings


def _settings_problem(s):
    """What in the :class:`~ini_gluon.run.settings.Settings` ``s`` read from a file no run
    writes (``None``: nothing): the values a network is built and fed from."""
    if not 1 <= s.num_classes <= LIMITS['classes']:
        return 'num_classes is %d, expected 1 to %d' % (s.num_classes, LIMITS['classes'])
    for name in ('mean', 'std'):
        values = getattr(s, name)
        if len(values) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                       and math.isfinite(v) for v in values):
            return '%s is %s, expected 3 finite numbers (R, G, B)' % (name, list(values)[:4])
    if not all(v > 0 for v in s.std):
        return 'std is %s, expected 3 positive numbers' % (list(s.std),)
    if s.dataset == 'imagenet' and not (32 <= s.input_size <= LIMITS['input_size'] and
                                        0 < s.crop_ratio <= 1):
        return 'input_size %r or crop_ratio %r out of range' % (s.input_size, s.crop_ratio)
    if s.class_names is not None:
        if len(s.class_names) != s.num_classes:
            return '%d class names for %d classes' % (len(s.class_names), s.num_classes)
        problem = class_names_problem(s.class_names)
        if problem:
            return problem
    try:
        resolve_model_name(s.model_name)
    except ValueError:
        return 'model_name %r is not a model name' % (s.model_name[:60],)
    return None


def _weights(save_dir, s, which):
    """``(params file, epoch)`` of ``which``: 'best', 'final' or an epoch number."""
    if which == 'best':
        path = best_paths(save_dir, s.model_name)[0]
        if not os.path.isfile(path):
            raise RunError('run folder %r has no %s-best.params yet (written after the first '
                           'epoch): give --which final or an epoch' % (save_dir, s.model_name))
        try:
            record = best_record(save_dir, s.model_name)
        except ValueError as err:
            raise RunError(str(err))
        # an earlier version's run has no record: the best epoch of its metrics
        return path, record['epoch'] if record else best_epoch(metrics_rows(save_dir))
    # read only for final / an epoch: a damaged checkpoint does not stand in the best's way
    metas = {path: read_meta(path) for path in checkpoint_folders(save_dir)}
    folders = {meta['epoch']: path for path, meta in metas.items()}
    if which == 'final':
        if not folders:
            raise RunError('run folder %r holds no complete checkpoint: give --which best'
                           % (save_dir,))
        epoch = max(folders)
    else:
        epoch = int(which)
        if epoch not in folders:
            raise RunError('run folder %r has no checkpoint of epoch %d: it has %s'
                           % (save_dir, epoch, ', '.join(map(str, sorted(folders))) or 'none'))
    check_weights(folders[epoch], metas[folders[epoch]])
    _check_of_the_run(folders[epoch], metas[folders[epoch]], s)
    return os.path.join(folders[epoch], 'model.params'), epoch


def _check_of_the_run(path, meta, s):
    """The checkpoint ``path`` is of the run whose settings are ``s``: the same model, data
    set, classes and training settings (a checkpoint of another run, copied in, is refused)."""
    try:
        theirs = from_json(meta.get('settings') or {})
    except ValueError as err:
        raise RunError('checkpoint %r: its settings cannot be read (%s)' % (path, err))
    other = differences(theirs, s, (IDENTITY, TRAINING))
    if other:
        raise RunError('checkpoint %r is not of this run: %s' % (path, '; '.join(
            '%s %r (the run\'s: %r)' % (name, its, ours) for name, ours, its in other[:3])))


def metrics_rows(save_dir):
    """The rows of a run's ``metrics.jsonl`` as ``{'epoch', 'val_error'}`` (none without the
    file); a :class:`RunError` naming the file and line of a row that is not one (a finite
    validation error and its epoch)."""
    path = os.path.join(save_dir, 'metrics.jsonl')
    if not os.path.isfile(path):
        return []
    rows = []
    try:
        lines = read_json_lines(path, 'a metrics row with epoch and val_error')
    except ValueError as err:
        raise RunError(str(err)) from None
    for number, row in lines:
        try:
            rows.append(checked_row(row))
        except ValueError as err:
            raise RunError('%s, line %d: not a metrics row with epoch and val_error (%s)'
                           % (path, number, err)) from None
    return rows


def takes_drop_rate(spec):
    """Whether the backbone's constructor has a ``drop_rate``."""
    return 'drop_rate' in inspect.signature(spec.entry.build).parameters


def build_net(s):
    """The network of the run whose :class:`~ini_gluon.run.settings.Settings` are ``s``: its
    model with ``s.num_classes`` outputs and its backbone's dropout (dropout layers hold no
    weights but number the layers after them); not initialised.  ``net.model_name`` is the name
    the run's files carry."""
    kwargs = {'classes': int(s.num_classes)}
    if takes_drop_rate(s.model) and s.drop_rate is not None:
        kwargs['drop_rate'] = s.drop_rate
    net = get_model(s.model, **kwargs)
    net.model_name = s.model_name
    return net


def contexts(num_gpus):
    """``[mx.cpu()]`` for 0, else the first ``num_gpus`` GPUs; a one-line ``ValueError`` where
    MXNet has fewer (the training scripts, evaluate and predict)."""
    if num_gpus < 0:
        raise ValueError('--num-gpus must be >= 0, not %d' % num_gpus)
    if num_gpus == 0:
        return [mx.cpu()]
    available = mx.context.num_gpus()
    if num_gpus > available:
        raise ValueError('--num-gpus %d asked for, %d GPU(s) available to MXNet'
                         % (num_gpus, available))
    return [mx.gpu(i) for i in range(num_gpus)]


def load_weights(net, path, ctx=None):
    """Load the parameter file ``path`` into ``net``, every parameter (cast to the network's
    dtype): a ``save_parameters`` file (structural names: checkpoints, ``-best.params``) or an
    export's (``arg:<prefix><name>``).  :class:`RunError` naming the file and the first
    difference where it does not fit -- never a half-loaded network.

    Written here rather than with ``Block.load_parameters``: that one reads an export's file by
    the prefix the network has in this process (``preactresnet0_`` or ``preactresnet3_``,
    counted per process), and reports a misfit as an assertion.
    """
    ctx = ctx or [mx.cpu()]
    try:
        loaded = mx.nd.load(path)
    except UnicodeEncodeError:        # MXNet takes UTF-8 paths only
        raise RunError('%s: not a UTF-8 path, which MXNet cannot read: rename it'
                       % ascii(path)[1:-1])
    except (MXNetError, OSError):     # MXNet's message is a C++ traceback
        raise RunError('%s: not a readable MXNet parameter file (expected one written by '
                       'save_parameters, a checkpoint\'s model.params or an export\'s '
                       '-0000.params)' % (path,))
    if not isinstance(loaded, dict) or not loaded:
        raise RunError('%s: holds no named parameters' % (path,))
    params = net._collect_params_with_prefix()
    if any(k.startswith(('arg:', 'aux:')) for k in loaded):
        loaded = _structural(net, params, loaded, path)
    model = getattr(net, 'model_name', type(net).__name__)
    missing = sorted(set(params) - set(loaded))
    extra = sorted(set(loaded) - set(params))
    if missing or extra:
        raise RunError('%s does not fit %s: %s' % (path, model, '; '.join(filter(None, [
            '%d of its parameters are not in the file (first: %s)' % (len(missing), missing[0])
            if missing else '', '%d in the file are not the model\'s (first: %s)'
            % (len(extra), extra[0]) if extra else '']))))
    for name, param in params.items():
        shape, theirs = tuple(param.shape or ()), tuple(loaded[name].shape)
        if len(shape) != len(theirs) or any(a and a != b for a, b in zip(shape, theirs)):
            raise RunError('%s does not fit %s: %s has shape %s in the file, %s in the model'
                           % (path, model, name, theirs, shape))
    _check_finite_weights(path, loaded, params)
    for name, param in params.items():
        param._load_init(loaded[name], ctx, cast_dtype=True, dtype_source='current')


def _check_finite_weights(path, loaded, names):
    """A :class:`RunError` naming the file and its arrays holding a NaN or an infinity, or a
    negative BatchNorm variance: such weights give NaN scores (or, MXNet's ReLU turning NaN into
    0, wrong ones), never a result."""
    bad = [name for name in names if not np.isfinite(loaded[name].asnumpy()).all()]
    if bad:
        raise RunError('%s holds non-finite values (NaN or infinity) in %s: not used'
                       % (path, describe_non_finite(bad)))
    bad = [name for name in names if name.endswith('running_var') and
           (loaded[name].asnumpy() < 0).any()]
    if bad:
        raise RunError('%s holds negative BatchNorm variances in %s: not used'
                       % (path, describe_non_finite(bad)))


def check_finite_output(trained, outputs, what='the network\'s output'):
    """``outputs`` (numpy), or a :class:`RunError` naming the weights where any value is a NaN
    or an infinity: finite weights can still overflow, and a NaN score must not rank."""
    outputs = np.asarray(outputs)
    if not np.isfinite(outputs).all():
        rows = outputs.reshape(len(outputs), -1) if outputs.ndim else outputs.reshape(1, 1)
        raise RunError('%s of %s: NaN or infinity for %d of %d images; the weights %s are '
                       'unusable' % (what, trained.model, int(
                           (~np.isfinite(rows)).any(axis=1).sum()), len(rows),
                           trained.source['params']))
    return outputs


def _structural(net, params, loaded, path):
    """An export's ``arg:<prefix><name>`` parameters under the network's structural names,
    matched by ``<name>`` (the parameter's name without its network's prefix); the export's
    normalisation constants are left out."""
    by_name = {}
    for structural, param in params.items():
        if param.name.startswith(net.prefix):
            by_name[param.name[len(net.prefix):]] = structural
    names = {k.split(':', 1)[1]: v for k, v in loaded.items()}
    names = {k: v for k, v in names.items() if not k.startswith(EXPORT_PREFIX)}
    heads = sorted({k.split('_', 1)[0] for k in names})
    if len(heads) != 1:
        raise RunError('%s: an export\'s parameters should carry one network\'s prefix, these '
                       'carry %s' % (path, ', '.join(h + '_' for h in heads[:4])))
    head = heads[0] + '_'
    return {by_name.get(k[len(head):], k): v for k, v in names.items()}


def read_image(path):
    """An image file as an HWC uint8 RGB NDArray; :class:`RunError` where it cannot be read."""
    if not os.path.isfile(path):
        raise RunError('image %r not found' % (path,))
    try:
        check_utf8_path(path, 'image')
    except ValueError as err:
        raise RunError(str(err)) from None
    with _decoder_said() as said:
        try:
            image = mx.image.imread(path, flag=1, to_rgb=True)
            image.wait_to_read()     # decoded now, not where the image is first used
        except (MXNetError, UnicodeEncodeError):   # its message is a C++ traceback
            said.clear()             # the decoder's complaint: the line below says it
            raise RunError('image %r cannot be decoded: expected a PNG, JPEG or another image '
                           'file OpenCV reads' % (path,)) from None
    _check_whole(path)
    return image


def _check_whole(path):
    """Refuse an image file cut short: OpenCV decodes a truncated JPEG or PNG without an error
    (what is missing grey), Pillow's decoder tells (a format Pillow does not read passes)."""
    # GluonCV (gluoncv.data.mhp) lets Pillow load truncated images for the whole process
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with Image.open(path) as whole:
            whole.load()
    except UnidentifiedImageError:
        return
    except (OSError, SyntaxError, ValueError) as err:
        raise RunError('image %r is damaged (%s): replace it' % (path, str(err)[:80])) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


@contextmanager
def _decoder_said():
    """What the image decoders (libpng, libjpeg: C code writing to file descriptor 2) write
    in the body, held back and written to stderr after it, unless the body empties the list
    it yields (a decoding that failed, which one line of the command says)."""
    sys.stderr.flush()
    said = []
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            said.append(None)
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read()
            if said and text:
                sys.stderr.write(text.decode('utf-8', 'backslashreplace'))


def load_trained(s, source, ctx=None):
    """The :class:`Trained` network of the run :class:`~ini_gluon.run.settings.Settings` ``s``
    (model, class count, normalisation, class names where known) with the weights of
    ``source['params']``, hybridized."""
    net = build_net(s)
    load_weights(net, source['params'], ctx)
    net.hybridize()
    names = s.class_names or [str(c) for c in range(s.num_classes)]
    return Trained(net, s.model_name, s.num_classes, list(names), Preprocessing.of(s), s,
                   source)


def describe_source(source):
    """``best weights (epoch 7)``, ``final weights (epoch 9)``, ``epoch 3 checkpoint`` or the
    parameter file."""
    if source.get('which') in ('best', 'final', 'ema-best', 'ema-final'):
        return '%s weights%s' % (source['which'], '' if source['epoch'] is None
                                 else ' (epoch %s)' % source['epoch'])
    if source.get('which') is not None:
        return 'epoch %s checkpoint' % source['epoch']
    return source['params']


def open_run(save_dir, which='best', ctx=None):
    """The :class:`Trained` network of a run folder with the weights ``which`` names
    ('best', 'final' or an epoch number as a string or int)."""
    s = read_settings(save_dir)
    path, epoch = _weights(save_dir, s, str(which))
    source = {'run': os.path.abspath(save_dir), 'which': str(which), 'epoch': epoch,
              'params': path}
    return load_trained(s, source, ctx)


def open_params(model, params, classes, dataset, mean, std, names=None, ctx=None, **settings):
    """The :class:`Trained` network of a model (a name or a spec) and a parameter file from
    anywhere, normalised with ``mean`` / ``std`` (in [0, 1] units) of ``dataset``; ``settings``:
    any other :class:`~ini_gluon.run.settings.Settings` (``drop_rate``, ``input_size``)."""
    s = Settings(model=model, dataset=dataset, mean=mean, std=std, num_classes=classes,
                 class_names=names, **settings)
    source = {'run': None, 'which': None, 'epoch': None, 'params': os.path.abspath(params)}
    return load_trained(s, source, ctx)


def predictions(trained, batch, ctx=None):
    """Class probabilities ``(N, classes)`` of a normalised batch (numpy or NDArray)."""
    ctx = ctx or [mx.cpu()]
    data = batch if isinstance(batch, mx.nd.NDArray) else mx.nd.array(batch)
    parts = mx.gluon.utils.split_and_load(data, ctx, even_split=False)
    logits = np.concatenate([trained.net(x).asnumpy() for x in parts])
    check_finite_output(trained, logits)
    return mx.nd.softmax(mx.nd.array(logits)).asnumpy()
