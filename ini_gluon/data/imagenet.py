"""ImageNet as ``train_imagenet.py`` reads it: RecordIO files through MXNet's ``ImageRecordIter``
(GluonCV's settings), or an ``ImageFolder`` tree through Gluon's loader; 224 random-resized crops
with mirroring, colour jitter and lighting noise for training, the 224 centre crop of the 256
resize for validation.
"""
import math
import os
import random
import struct

import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.gluon.data.vision import transforms

from .datasets import DataError, class_name_problem
from .pipeline import Data

__all__ = ['MEAN', 'STD', 'RecordStream', 'FolderStream', 'imagenet_data', 'scan_records']

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
_MAGIC = 0xced7230a                 # MXNet's RecordIO: the word that starts every record
_IR = struct.Struct('<IfQQ')        # mx.recordio.IRHeader: flag, label, id, id2


def _check_record(rec, idx, what, classes=None):
    if not rec or not idx:
        raise DataError('--use-rec needs --rec-%s and --rec-%s-idx (RecordIO packed with '
                        'MXNet\'s im2rec)' % (what, what))
    for path in (rec, idx):
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise DataError('%s RecordIO file %r is missing or empty: expected a .rec and its '
                            '.idx made by MXNet\'s tools/im2rec.py' % (what, path))
    offsets = _index_offsets(idx, what)
    if not offsets:
        raise DataError('%s index %r lists no record' % (what, idx))
    scan_records(rec, offsets, what, classes)
    return len(offsets)


def _index_offsets(idx, what):
    """The byte offsets an im2rec ``.idx`` lists (``<index>\\t<offset>`` lines)."""
    offsets = []
    try:
        with open(idx, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    index, offset = line.split('\t')[:2]
                    if int(index) >= 0:
                        offsets.append(int(offset))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError('%s index %r is unreadable: expected "<index>\\t<offset>" lines (%s)'
                        % (what, idx, str(err)[:100])) from None
    if any(o < 0 for o in offsets):
        raise DataError('%s index %r lists a negative offset' % (what, idx))
    return offsets


def _record_header(f, offset, size):
    """``(flag, length, message)`` of the RecordIO record header at ``offset``: the magic, then
    a word of the continuation flag (3 bits) and the payload length (29 bits)."""
    if offset + 8 > size:
        return None, None, 'lies past the end of the file (%d bytes): the file is truncated' \
            % size
    f.seek(offset)
    magic, word = struct.unpack('<II', f.read(8))
    if magic != _MAGIC:
        return None, None, 'does not start a RecordIO record: the .idx is of another file, or ' \
            'the file is damaged'
    length = word & ((1 << 29) - 1)
    if offset + 8 + length > size:
        return None, None, 'ends past the end of the file (%d bytes): the file is truncated' \
            % size
    return word >> 29, length, None


def _record_labels(f, offset, size):
    """``(labels, message)``: the labels of the image record at ``offset`` (its IRHeader, read
    without the image), or why the record cannot be read."""
    flag, length, problem = _record_header(f, offset, size)
    if problem:
        return None, problem
    if flag not in (0, 1):
        return None, 'is a continuation of another record (flag %d)' % flag
    header = f.read(min(length, _IR.size))
    if len(header) < _IR.size:
        return None, 'is too short (%d bytes) to hold an image record\'s header' % length
    count, label = _IR.unpack(header)[:2]
    if count == 0:
        return [label], None
    if count > 1:
        return None, 'holds %d labels per image; the training reads one' % count
    raw = f.read(4)
    if length < _IR.size + 4 or len(raw) < 4:
        return None, 'is too short to hold the label its header announces'
    return [struct.unpack('<f', raw)[0]], None


def scan_records(rec, offsets, what, classes=None):
    """Check, before MXNet's readers touch it (they read past the end of a truncated file), that
    every record the index lists (byte ``offsets``) lies whole in the RecordIO file ``rec`` and
    starts with a record header and an image header, and (``classes`` given) that its label is a
    class number ``0 .. classes - 1``.  Reads the headers alone, not the images (ImageNet's
    1.28 million records in a few seconds).

    Raises
    ------
    DataError
        Naming the file and the first bad record: its number in the index and its byte offset.
    """
    size = os.path.getsize(rec)
    with open(rec, 'rb') as f:
        for number, offset in enumerate(offsets):
            labels, problem = _record_labels(f, offset, size)
            if problem is None:
                problem = _label_problem(labels[0], classes)
            if problem:
                raise DataError('%s RecordIO file %r: record %d (byte %d) %s'
                                % (what, rec, number, offset, problem))


def _label_problem(label, classes):
    if not (math.isfinite(label) and label == int(label)):
        return 'has the label %r, which is not a class number' % label
    if label < 0 or (classes is not None and label >= classes):
        return 'has the label %d, outside 0..%s%s' % (
            label, '' if classes is None else classes - 1,
            '' if classes is None else ' (%d classes)' % classes)
    return None


class RecordStream(object):
    """Batches from a RecordIO file through ``mx.io.ImageRecordIter`` (GluonCV's settings); the
    file is checked first (:func:`scan_records`: whole records, labels below ``classes``)."""

    def __init__(self, rec, idx, batch_size, train, size, crop_ratio, seed, part, num_parts,
                 workers, classes=None):
        self.count = _check_record(rec, idx, 'train' if train else 'val', classes)
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
        _check_class_folders(root, self.classes)
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
            item = super(_CheckedImageFolder, self).__getitem__(idx)
            # MXNet's imread decodes on its engine, later: wait here, where the file is known
            # (a PNG cut short fails only then, outside this method, naming no file)
            getattr(item[0], 'wait_to_read', lambda: None)()
            return item
        except Exception as err:  # OpenCV / MXNet decoders raise MXNetError and others
            # the message's last line: an MXNetError's message is a C++ traceback
            why = [line.strip() for line in str(err).splitlines() if line.strip()]
            raise DataError('image %r cannot be decoded (%s): replace or remove it'
                            % (self.items[idx][0], (why or [type(err).__name__])[-1][:200]))


class _Fixed(gluon.data.sampler.Sampler):
    def __init__(self, order):
        self.order = order

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def _check_class_folders(root, names):
    """Class folders whose names an export can write one per line (``classes.txt``): a name
    with a line break, a tab or another control character, or whitespace at either end, is
    refused naming the folder (renaming it is the fix; an escaped name would no longer be the
    folder's)."""
    for name in names:
        problem = class_name_problem(name)
        if problem:
            raise DataError('class folder %s in %s: its name %s, and class names are written '
                            'one per line (classes.txt): rename the folder'
                            % (ascii(name), root, problem))


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
    """:class:`~ini_gluon.data.pipeline.Data` of a ``train_imagenet.py`` run whose settings are
    ``s``."""
    size, crop = s.input_size, s.crop_ratio
    common = dict(size=size, crop_ratio=crop, seed=s.seed, workers=s.num_workers)
    if s.use_rec:
        train = RecordStream(s.rec_train, s.rec_train_idx, batch, True, part=rank,
                             num_parts=num_workers, classes=s.classes, **common)
        test = RecordStream(s.rec_val, s.rec_val_idx, s.test_batch_size, False,
                            part=0, num_parts=1, classes=s.classes, **common)
        source = 'RecordIO %s' % s.rec_train
        names = None        # a RecordIO file holds label numbers only
    else:
        root = os.path.expanduser(s.data_dir)
        train = FolderStream(os.path.join(root, 'train'), batch, True, part=rank,
                             num_parts=num_workers, **common)
        test = FolderStream(os.path.join(root, 'val'), s.test_batch_size, False, part=0,
                            num_parts=1, **common)
        _check_classes(root, train.classes, test.classes, s.classes)
        source = 'image folders in %s' % root
        names = train.classes
    description = '%s, %d training samples (this worker: %d), %d validation samples, ' \
                  '%d classes, %dx%d crops' % (source, len(train.indices) * num_workers,
                                               len(train.indices), len(test.indices),
                                               s.classes, size, size)
    return Data(train, test, s.classes, (3, size, size), MEAN, STD, description, names)
