"""A run's data streams, from its settings: the training and test streams of
``train_cifar.py`` (:func:`cifar_data`; ``train_imagenet.py``'s are
:func:`~ini_gluon.data.imagenet.imagenet_data`), and the test split a trained model is evaluated
on (:func:`test_split`).

Both take the run's :class:`~ini_gluon.run.settings.Settings` (any object with its attributes).
"""
import os

from .datasets import class_names, load_dataset
from .imagenet import FolderStream, RecordStream
from .pipeline import BatchStream, Data, normalisation

__all__ = ['cifar_data', 'test_split']


def cifar_data(s, batch, rank, num_workers):
    """:class:`~ini_gluon.data.pipeline.Data` of ``train_cifar.py``: the official files (or
    digits), in memory; ``rank`` of ``num_workers`` takes its shard of the training set."""
    train_x, train_y, test_x, test_y, classes = load_dataset(s.dataset, s.data_dir)
    mean, std = normalisation(s.dataset, train_x)
    train = BatchStream(train_x, train_y, batch, mean, std, s.augment, True, s.seed,
                        rank, num_workers, s.num_workers, getattr(s, 'rand_augment', None))
    test = BatchStream(test_x, test_y, s.test_batch_size, mean, std, train=False)
    description = '%s, %d training samples (this worker: %d), %d test samples, %d classes' % (
        s.dataset, len(train_x), len(train.indices), len(test_x), classes)
    return Data(train, test, classes, (3,) + train_x.shape[1:3], mean, std, description,
                class_names(s.dataset, s.data_dir))


def test_split(s, batch, data=None):
    """``(stream, class names or None)``: the test split of the run whose settings are ``s``,
    normalised as in training (``stream.epoch(0)`` yields ``(data, label)`` batches); ``data``:
    the data set as ``load_dataset`` returned it, where it is loaded already.  The class names
    are an image-folder tree's sub-folders (``None`` for the other data sets)."""
    if s.dataset != 'imagenet':
        _, _, test_x, test_y, _ = data or load_dataset(s.dataset, s.data_dir)
        return BatchStream(test_x, test_y, batch, s.mean, s.std, train=False), None
    common = dict(size=s.input_size, crop_ratio=s.crop_ratio, seed=s.seed, part=0,
                  num_parts=1, workers=s.num_workers)
    if s.use_rec:
        common['classes'] = s.num_classes
        stream = RecordStream(s.rec_val, s.rec_val_idx, batch, False, **common)
        if stream.count < batch:      # ImageRecordIter wants a batch no larger than the file
            stream = RecordStream(s.rec_val, s.rec_val_idx, stream.count, False, **common)
        return stream, None
    stream = FolderStream(os.path.join(os.path.expanduser(s.data_dir), 'val'), batch,
                          False, **common)
    return stream, stream.classes
