"""The data sets, read from the official files, and their batches: below the training and the
tools that read them.

* :mod:`~ini_gluon.data.datasets` -- CIFAR-10/100, SVHN and the offline digits, as arrays;
* :mod:`~ini_gluon.data.pipeline` -- batches: shuffling, sharding, augmentation,
  normalisation, mixup, CutMix, random erasing;
* :mod:`~ini_gluon.data.randaugment` -- RandAugment's operations on a batch of images;
* :mod:`~ini_gluon.data.imagenet` -- ImageNet from RecordIO files or an image-folder tree;
* :mod:`~ini_gluon.data.streams` -- a run's training and test streams (:class:`Data`), and the
  test split the tools evaluate on.
"""
from .datasets import DATASETS, DataError, class_names, load_dataset, load_digits
from .pipeline import (BatchStream, Data, channel_stats, cutmix_box, cutmix_chosen, erase_boxes,
                       mixup_lambda, normalisation)
from .streams import cifar_data, test_split

__all__ = ['DATASETS', 'DataError', 'class_names', 'load_dataset', 'load_digits', 'BatchStream',
           'Data', 'channel_stats', 'mixup_lambda', 'cutmix_box', 'cutmix_chosen', 'erase_boxes',
           'normalisation', 'cifar_data', 'test_split']
