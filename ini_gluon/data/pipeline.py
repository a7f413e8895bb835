"""Training and evaluation batches: shuffling, sharding across workers, the standard CIFAR
augmentation (pad 4 + random 32x32 crop, mirroring), mean/std normalisation, and mixup.

Everything random is drawn from ``numpy.random.RandomState`` seeded by (seed, epoch, batch),
so a resumed run sees exactly the batches the uninterrupted run would have seen.
"""
from collections import deque, namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ['channel_stats', 'normalisation', 'BatchStream', 'mixup_lambda', 'Data']

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
    """

    def __init__(self, images, labels, batch_size, mean, std, augment='none', train=True,
                 seed=0, part=0, num_parts=1, workers=0):
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
