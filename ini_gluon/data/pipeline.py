"""Training and evaluation batches: shuffling, sharding across workers, the standard CIFAR
augmentation (pad 4 + random 32x32 crop, mirroring), mean/std normalisation, and mixup.

Everything random is drawn from ``numpy.random.RandomState`` seeded by (seed, epoch, batch),
so a resumed run sees exactly the batches the uninterrupted run would have seen.
"""
from collections import deque, namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .randaugment import rand_augment

__all__ = ['channel_stats', 'normalisation', 'BatchStream', 'mixup_lambda', 'cutmix_chosen',
           'cutmix_box', 'erase_boxes', 'Data']

Data = namedtuple('Data', ['train', 'test', 'classes', 'input_shape', 'mean', 'std',
                           'description', 'class_names'])
Data.__new__.__defaults__ = (None,)
Data.__doc__ = '''What a run trains on: ``train`` / ``test`` streams (``len()`` batches,
``epoch(e)`` yielding ``(data, label)`` as numpy arrays or NDArrays, ``indices`` of this worker's
training samples), the number of classes, the input shape ``(3, H, W)``, the normalisation,
and the class names in label order (``None``: the labels' numbers).'''

PAD = 4


def channel_stats(images):
    """Per-channel mean and std of uint8 ``(N, H, W, 3)`` images, in [0, 1] units."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    return x.mean(axis=0).tolist(), x.std(axis=0).tolist()


def normalisation(dataset, train_x):
    """``(mean, std)`` a ``train_cifar.py`` data set is normalised with, in [0, 1] units: SVHN
    as the papers (images / 255, no mean subtraction), the others by their training split's
    :func:`channel_stats`."""
    if dataset == 'svhn':
        return [0.0] * 3, [1.0] * 3
    return channel_stats(train_x)


def _rng(*keys):
    return np.random.RandomState(np.random.SeedSequence(list(keys)).generate_state(1)[0])


class BatchStream(object):
    """Batches of one worker's shard of a dataset.

    Parameters
    ----------
    images : uint8 array ``(N, 32, 32, 3)``
    labels : int array ``(N,)``
    batch_size : int
    mean, std : list of 3 floats
        Normalisation, in [0, 1] units.
    augment : {'crop-flip', 'crop', 'none'}
    train : bool
        Shuffle every epoch and drop the last incomplete batch (training) or keep the order
        and every sample (evaluation).
    seed : int
    part, num_parts : int
        This worker's shard: a fixed, seeded split of the samples into ``num_parts`` equal parts
        (every worker gets the same number of batches, as ``dist_sync`` needs).
    workers : int
        Threads preparing batches ahead.
    rand_augment : (int, int), optional
        RandAugment's ``(N, M)`` after the translation and mirroring
        (:func:`~ini_gluon.data.randaugment.rand_augment`).
    """

    def __init__(self, images, labels, batch_size, mean, std, augment='none', train=True,
                 seed=0, part=0, num_parts=1, workers=0, rand_augment=None):
        self.rand_augment = rand_augment
        self.images, self.labels = images, labels.astype(np.float32)
        self.batch_size, self.train, self.seed, self.augment = batch_size, train, seed, augment
        self.mean = np.asarray(mean, np.float32).reshape(1, 3, 1, 1) * 255.0
        self.std = np.asarray(std, np.float32).reshape(1, 3, 1, 1) * 255.0
        self.workers = workers
        if num_parts > 1:
            order = _rng(seed, 0xD15C).permutation(len(images))
            size = len(images) // num_parts
            self.indices = np.sort(order[part * size:(part + 1) * size])
        else:
            self.indices = np.arange(len(images))

    def __len__(self):
        n = len(self.indices)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def _order(self, epoch):
        if not self.train:
            return self.indices
        return self.indices[_rng(self.seed, epoch).permutation(len(self.indices))]

    def _augment(self, x, rng):
        n = len(x)
        if self.augment in ('crop', 'crop-flip'):
            padded = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))
            dy, dx = rng.randint(0, 2 * PAD + 1, size=(2, n))
            h, w = x.shape[1:3]
            x = np.stack([padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
        if self.augment == 'crop-flip':
            flip = rng.rand(n) < 0.5
            x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
        return x

    def _batch(self, epoch, b, order):
        idx = order[b * self.batch_size:(b + 1) * self.batch_size]
        x = self.images[idx]
        if self.train:
            x = self._augment(x, _rng(self.seed, epoch, b))
        if self.train and self.rand_augment:
            x = rand_augment(x, *self.rand_augment, rng=_rng(self.seed, epoch, b, 0x4A))
        x = (x.transpose(0, 3, 1, 2).astype(np.float32) - self.mean) / self.std
        return x, self.labels[idx]

    def epoch(self, epoch):
        """Iterate over ``(data, label)`` numpy batches of ``epoch`` (NCHW float32)."""
        order = self._order(epoch)
        if self.workers <= 0:
            for b in range(len(self)):
                yield self._batch(epoch, b, order)
            return
        with ThreadPoolExecutor(self.workers) as pool:
            pending, ahead = deque(), 0
            for _ in range(len(self)):
                while ahead < len(self) and len(pending) <= self.workers:
                    pending.append(pool.submit(self._batch, epoch, ahead, order))
                    ahead += 1
                yield pending.popleft().result()


def mixup_lambda(seed, epoch, batch, alpha):
    """``lam ~ Beta(alpha, alpha)`` for one batch (mixup, Zhang et al. 2018)."""
    return float(_rng(seed, epoch, batch, 0x313).beta(alpha, alpha))


def cutmix_chosen(seed, epoch, batch):
    """Whether a batch of a run with both mixup and CutMix takes CutMix (a fair coin, as timm's
    switch between the two)."""
    return bool(_rng(seed, epoch, batch, 0xC07).rand() < 0.5)


def cutmix_box(seed, epoch, batch, alpha, height, width):
    """``(lam, (top, bottom, left, right))`` of one batch of CutMix (Yun et al. 2019, the
    authors' ``rand_bbox``): ``lam ~ Beta(alpha, alpha)``; a box of sides ``int(side *
    sqrt(1 - lam))`` centred on a uniform pixel, clipped to the image; ``lam`` then the share
    of the image outside the box, the weight of the batch's own labels."""
    rng = _rng(seed, epoch, batch, 0xC075)
    lam = rng.beta(alpha, alpha)
    cut = np.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    cy, cx = rng.randint(height), rng.randint(width)
    top, bottom = np.clip([cy - h // 2, cy + h // 2], 0, height)
    left, right = np.clip([cx - w // 2, cx + w // 2], 0, width)
    lam = 1.0 - (bottom - top) * (right - left) / float(height * width)
    return float(lam), (int(top), int(bottom), int(left), int(right))


# GluonCV's RandomErasing (gluoncv.data.transforms.block, 0.10.5) erases one image with Python's
# global ``random``, which a run cannot seed per batch (the batches are made on loader threads,
# and a resumed run must erase what the uninterrupted one did); these are its parameters, drawn
# from the batch's own seeded generator instead.
ERASE_AREA = (0.02, 0.4)
ERASE_RATIO = 0.3


def erase_boxes(seed, epoch, batch, count, height, width, probability):
    """``[(image, top, bottom, left, right)]`` of random erasing (Zhong et al. 2017) in a batch
    of ``count`` images: each image, with ``probability``, loses a box of 2 % to 40 % of its
    area and of aspect ratio (w / h) between 0.3 and 1 / 0.3, at a uniform place where it fits
    (GluonCV's one draw; a box that does not fit erases nothing)."""
    rng, out = _rng(seed, epoch, batch, 0xE5A), []
    for i in range(count):
        draw = rng.rand(5)
        if draw[0] >= probability:
            continue
        area = (ERASE_AREA[0] + draw[1] * (ERASE_AREA[1] - ERASE_AREA[0])) * height * width
        ratio = ERASE_RATIO + draw[2] * (1 / ERASE_RATIO - ERASE_RATIO)
        h, w = int(round(np.sqrt(area / ratio))), int(round(np.sqrt(area * ratio)))
        if h < height and w < width:
            top, left = int(draw[3] * (height - h + 1)), int(draw[4] * (width - w + 1))
            out.append((i, top, top + h, left, left + w))
    return out
