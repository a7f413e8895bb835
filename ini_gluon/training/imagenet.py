"""``train_imagenet.py``: options, the paper's ImageNet settings, and the data (RecordIO through
MXNet's ``ImageRecordIter``, or an ``ImageFolder`` tree).

Argument names follow GluonCV's ``scripts/classification/imagenet/train_imagenet.py``.
``--preset`` as in ``train_cifar.py`` (:mod:`ini_gluon.training.recipes`): the InI paper's
100 epochs, batch 256, lr 0.1 / 10 every 30 epochs (Section V-B), or for ``cmpe_se_*`` models
the CMPE-SE paper's 100 epochs, batch 64, lr 0.1 / 10 at 30, 60 and 90 (Section 4.1), or for
the backbones registered with ``paper='sinet'`` the SINet paper's batch 256, lr 0.045 times
0.98 after every epoch (``--lr-mode exponential``, Section 4.1; 150 epochs); Nesterov SGD;
224 random-resized crops with mirroring, colour jitter and lighting noise for training, the
224 centre crop of the 256 resize for validation.
"""
import math
import os
import random

import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.gluon.data.vision import transforms

from ..models import backbones, resolve_model_name, shown_template
from .data import DataError
from .loop import Data
from .settings import (PRESETS, OneLineParser, SettingsError, add_loop_options, add_run_options,
                       fill)

__all__ = ['build_parser', 'resolve', 'imagenet_data', 'RecordStream', 'FolderStream']

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# GluonCV's train_imagenet.py defaults, for --preset none
FALLBACK = {'num_epochs': 120, 'batch_size': 32, 'lr': 0.1, 'lr_decay': 0.1,
            'lr_decay_epoch': '40,60', 'wd': 1e-4, 'lr_mode': 'step'}


def build_parser():
    p = OneLineParser(prog='train_imagenet.py',
                      description='Train an InI / CMPE-SE network on ImageNet as the papers did.')
    a = p.add_argument
    a('--model', type=str, default='ini_resnet50_v2_mix5d')
    a('--data-dir', type=str, default='~/.mxnet/datasets/imagenet',
      help='ImageFolder root with train/ and val/ (without --use-rec)')
    a('--rec-train', type=str, default=None, help='training RecordIO file')
    a('--rec-train-idx', type=str, default=None, help='its index file')
    a('--rec-val', type=str, default=None, help='validation RecordIO file')
    a('--rec-val-idx', type=str, default=None, help='its index file')
    a('--use-rec', action='store_true', help='read RecordIO files (packed with im2rec)')
    a('--preset', choices=PRESETS, default='paper',
      help='paper (default: the paper a backbone registers -- sinet for SINet and its '
           'ablation networks --, else the CMPE-SE paper\'s recipe for cmpe_se_* models, the '
           'InI paper\'s for the others), ini, cmpe-se, sinet, or none (GluonCV\'s defaults)')
    a('--dry-run', action='store_true',
      help='print the resolved settings as JSON (value and source of each) and exit')
    a('--batch-size', type=int, default=None, help='batch size per device')
    a('--num-gpus', type=int, default=0)
    a('-j', '--num-data-workers', dest='num_workers', type=int, default=4)
    a('--num-epochs', type=int, default=None)
    a('--lr', type=float, default=None)
    a('--momentum', type=float, default=0.9)
    a('--wd', type=float, default=None)
    a('--lr-decay', type=float, default=None)
    a('--lr-decay-epoch', type=str, default=None)
    add_loop_options(p)
    a('--mode', choices=('hybrid', 'imperative'), default='hybrid')
    a('--input-size', type=int, default=224)
    a('--crop-ratio', type=float, default=0.875, help='validation crop / resize')
    a('--classes', type=int, default=1000)
    a('--mixup', action='store_true')
    a('--mixup-alpha', type=float, default=0.2)
    a('--mixup-off-epoch', type=int, default=0)
    a('--save-period', '--save-frequency', dest='save_period', type=int, default=10)
    add_run_options(p)
    a('--save-dir', type=str, default='params')
    a('--resume-from', '--resume-params', dest='resume_from', type=str, default=None,
      help='checkpoint folder, or "auto"')
    a('--logging-file', type=str, default=None)
    a('--kvstore', type=str, default='device')
    a('--seed', type=int, default=1)
    a('--test-batch-size', type=int, default=None)
    return p


def resolve(opt):
    """Resolved settings of ``train_imagenet.py`` (the preset fills what was not given)."""
    s = fill(opt, vars(build_parser().parse_args([])), FALLBACK, 'imagenet', drop_rate=0.0)
    _check_imagenet_backbone(s['model'])
    if s['input_size'] < 32:
        raise SettingsError('--input-size must be >= 32, not %d' % s['input_size'])
    if not (math.isfinite(s['crop_ratio']) and 0 < s['crop_ratio'] <= 1):
        raise SettingsError('--crop-ratio must be in (0, 1], not %r' % (s['crop_ratio'],))
    if s['classes'] < 2:
        raise SettingsError('--classes must be >= 2, not %d' % s['classes'])
    return s


def _check_imagenet_backbone(model):
    """The backbone registers the input it was built for: 32x32 ones belong to CIFAR."""
    entry = resolve_model_name(model).entry
    if entry.input_shape[-1] < 224:
        imagenet = sorted(shown_template(t) for b in backbones().values()
                          if b.input_shape[-1] >= 224 for t in b.names)
        raise SettingsError('%s is a CIFAR backbone (%dx%d inputs): train it with '
                            'train_cifar.py; train_imagenet.py takes %s'
                            % (model, entry.input_shape[-2], entry.input_shape[-1],
                               ', '.join(imagenet)))


def _check_record(rec, idx, what):
    if not rec or not idx:
        raise DataError('--use-rec needs --rec-%s and --rec-%s-idx (RecordIO packed with '
                        'MXNet\'s im2rec)' % (what, what))
    for path in (rec, idx):
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise DataError('%s RecordIO file %r is missing or empty: expected a .rec and its '
                            '.idx made by MXNet\'s tools/im2rec.py' % (what, path))
    try:
        with open(idx) as f:
            count = sum(1 for line in f if line.strip() and int(line.split('\t')[0]) >= 0)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError('%s index %r is unreadable: expected "<index>\\t<offset>" lines (%s)'
                        % (what, idx, err)) from err
    if count == 0:
        raise DataError('%s index %r lists no record' % (what, idx))
    return count


class RecordStream(object):
    """Batches from a RecordIO file through ``mx.io.ImageRecordIter`` (GluonCV's settings)."""

    def __init__(self, rec, idx, batch_size, train, size, crop_ratio, seed, part, num_parts,
                 workers):
        self.count = _check_record(rec, idx, 'train' if train else 'val')
        self.indices = np.arange(part, self.count, num_parts)
        self.batch_size, self.train, self.num_parts = batch_size, train, num_parts
        kwargs = dict(path_imgrec=rec, path_imgidx=idx, batch_size=batch_size,
                      data_shape=(3, size, size), preprocess_threads=max(1, workers),
                      mean_r=MEAN[0] * 255, mean_g=MEAN[1] * 255, mean_b=MEAN[2] * 255,
                      std_r=STD[0] * 255, std_g=STD[1] * 255, std_b=STD[2] * 255, seed=seed)
        if train:
            kwargs.update(shuffle=True, rand_mirror=True, random_resized_crop=True,
                          max_aspect_ratio=4. / 3., min_aspect_ratio=3. / 4.,
                          max_random_area=1, min_random_area=0.08, brightness=0.4,
                          saturation=0.4, contrast=0.4, pca_noise=0.1, num_parts=num_parts,
                          part_index=part)
        else:
            kwargs.update(shuffle=False, resize=int(math.ceil(size / crop_ratio)))
        self.kwargs = kwargs

    def __len__(self):
        # training: whole batches of the smallest part, so every worker runs as many steps
        if self.train:
            return (self.count // self.num_parts) // self.batch_size
        return int(math.ceil(len(self.indices) / float(self.batch_size)))

    def epoch(self, epoch):
        """A fresh iterator each epoch (seeded by the epoch: a resumed run reads the same
        batches); the validation pass drops the padding of its last batch."""
        seed = self.kwargs['seed'] * 1000 + epoch if self.train else self.kwargs['seed']
        records = mx.io.ImageRecordIter(**dict(self.kwargs, seed=seed))
        for b, batch in enumerate(records):
            if self.train and b == len(self):
                break
            keep = self.batch_size - batch.pad
            yield batch.data[0][:keep], batch.label[0][:keep]


class FolderStream(object):
    """Batches from an ``ImageFolder`` tree (``root/<class>/<image>``) through Gluon's loader."""

    def __init__(self, root, batch_size, train, size, crop_ratio, seed, part, num_parts,
                 workers):
        if not os.path.isdir(root):
            raise DataError('image folder %r not found: expected %s/<class>/<image>.jpg (or '
                            'give --use-rec with RecordIO files)' % (root, root))
        self.dataset = _CheckedImageFolder(root)
        if not len(self.dataset):
            raise DataError('image folder %r holds no image in class sub-folders' % (root,))
        self.classes = list(self.dataset.synsets)
        normalize = transforms.Normalize(MEAN, STD)
        if train:
            transform = transforms.Compose([
                transforms.RandomResizedCrop(size), transforms.RandomFlipLeftRight(),
                transforms.RandomColorJitter(0.4, 0.4, 0.4), transforms.RandomLighting(0.1),
                transforms.ToTensor(), normalize])
        else:
            transform = transforms.Compose([
                transforms.Resize(int(math.ceil(size / crop_ratio)), keep_ratio=True),
                transforms.CenterCrop(size), transforms.ToTensor(), normalize])
        self.indices = np.arange(part, len(self.dataset), num_parts)
        self.batch_size, self.train, self.seed = batch_size, train, seed
        self.loader_args = dict(batch_size=batch_size, num_workers=workers,
                                last_batch='discard' if train else 'keep')
        self.data = self.dataset.transform_first(transform)

    def __len__(self):
        n = len(self.indices)
        return n // self.batch_size if self.train else int(math.ceil(n / float(self.batch_size)))

    def epoch(self, epoch):
        order = list(self.indices)
        if self.train:
            random.Random(self.seed * 1000 + epoch).shuffle(order)
        mx.random.seed(self.seed * 1000 + epoch)
        loader = gluon.data.DataLoader(self.data, sampler=_Fixed(order), **self.loader_args)
        for data, label in loader:
            yield data, label


class _CheckedImageFolder(gluon.data.vision.ImageFolderDataset):
    """Gluon's ``ImageFolderDataset`` whose unreadable image is a :class:`DataError` naming
    the file, not a decoder traceback (in a loader worker too: the error pickles)."""

    def __getitem__(self, idx):
        try:
            return super(_CheckedImageFolder, self).__getitem__(idx)
        except Exception as err:  # OpenCV / MXNet decoders raise MXNetError and others
            raise DataError('image %r cannot be decoded (%s): replace or remove it'
                            % (self.items[idx][0], str(err).strip().splitlines()[0][:200]))


class _Fixed(gluon.data.sampler.Sampler):
    def __init__(self, order):
        self.order = order

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def _check_classes(root, train, val, classes):
    """The class sub-folders of train/ and val/ are the same, and as many as ``--classes``."""
    if train != val:
        only = sorted(set(train) ^ set(val))
        raise DataError('image folders %s/train and %s/val have different classes (%s only in '
                        'one of them)' % (root, root, ', '.join(only[:5]) or 'another order'))
    if len(train) != classes:
        raise DataError('image folder %s/train has %d classes (sub-folders) but --classes is %d: '
                        'give --classes %d' % (root, len(train), classes, len(train)))


def imagenet_data(s, batch, rank, num_workers):
    """:class:`~ini_gluon.training.loop.Data` of ``train_imagenet.py``."""
    size, crop = s['input_size'], s['crop_ratio']
    common = dict(size=size, crop_ratio=crop, seed=s['seed'], workers=s['num_workers'])
    if s['use_rec']:
        train = RecordStream(s['rec_train'], s['rec_train_idx'], batch, True, part=rank,
                             num_parts=num_workers, **common)
        test = RecordStream(s['rec_val'], s['rec_val_idx'], s['test_batch_size'], False,
                            part=0, num_parts=1, **common)
        source = 'RecordIO %s' % s['rec_train']
        names = None        # a RecordIO file holds label numbers only
    else:
        root = os.path.expanduser(s['data_dir'])
        train = FolderStream(os.path.join(root, 'train'), batch, True, part=rank,
                             num_parts=num_workers, **common)
        test = FolderStream(os.path.join(root, 'val'), s['test_batch_size'], False, part=0,
                            num_parts=1, **common)
        _check_classes(root, train.classes, test.classes, s['classes'])
        source = 'image folders in %s' % root
        names = train.classes
    description = '%s, %d training samples (this worker: %d), %d validation samples, ' \
                  '%d classes, %dx%d crops' % (source, len(train.indices) * num_workers,
                                               len(train.indices), len(test.indices),
                                               s['classes'], size, size)
    return Data(train, test, s['classes'], (3, size, size), MEAN, STD, description, names)
