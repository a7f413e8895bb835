"""Small synthetic data sets written in the official file formats, for the tests.

Seeds: the training images are ``make_images(n_train, classes, seed)`` and the test images
``make_images(n_test, classes, seed + 1)`` (SVHN: train ``seed``, extra ``seed + 1``, test
``seed + 2``, with 10 classes = digits 0..9).  CIFAR-100 coarse labels are ``fine // 5``, so they
differ from the fine ones (the loaders must read the fine label).
"""
import os
import pickle

import numpy as np


def make_images(n, classes, seed):
    """``n`` learnable images and their labels.

    Each class has a fixed coarse 4x4 RGB template (the same for every ``seed``), upscaled to
    32x32, plus Gaussian noise (sd 16).  Labels are balanced (``i % classes``) and shuffled.

    Returns
    -------
    (uint8 array (n, 32, 32, 3), int32 array (n,))
    """
    rng = np.random.RandomState(seed)
    labels = rng.permutation(np.arange(n) % classes).astype(np.int32)
    templates = np.random.RandomState(1234).randint(32, 224, (classes, 4, 4, 3))
    images = templates[labels].repeat(8, axis=1).repeat(8, axis=2)
    images = images + rng.normal(0, 16, images.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


def _planar(x):
    """(N, 32, 32, 3) -> (N, 3072) rows of the R, G and B planes."""
    return x.transpose(0, 3, 1, 2).reshape(len(x), -1)


def _cifar_files(classes, n_train, n_test, seed):
    """[(official file name without .bin, images, fine labels)]; CIFAR-10 spreads the training
    set over data_batch_1..5 as evenly as possible."""
    if classes not in (10, 100):
        raise ValueError('classes must be 10 or 100')
    (x, y), test = make_images(n_train, classes, seed), make_images(n_test, classes, seed + 1)
    if classes == 100:
        return [('train', x, y), ('test',) + test]
    if n_train < 5:
        raise ValueError('CIFAR-10 needs n_train >= 5 (one image per data batch at least)')
    parts = np.array_split(np.arange(n_train), 5)
    return [('data_batch_%d' % (i + 1), x[p], y[p]) for i, p in enumerate(parts)] + \
        [('test_batch',) + test]


def _folder(root, name):
    folder = os.path.join(os.fspath(root), name)
    os.makedirs(folder, exist_ok=True)
    return folder


def write_cifar_binary(root, classes=10, n_train=50, n_test=20, seed=0):
    """Write ``root/cifar-10-batches-bin`` (or ``root/cifar-100-binary``): per record the
    label byte(s) (CIFAR-100: coarse, fine), then the R, G and B planes.  Returns the folder."""
    folder = _folder(root, 'cifar-10-batches-bin' if classes == 10 else 'cifar-100-binary')
    for name, x, y in _cifar_files(classes, n_train, n_test, seed):
        labels = y[:, None] if classes == 10 else np.stack([y // 5, y], axis=1)
        with open(os.path.join(folder, name + '.bin'), 'wb') as f:
            f.write(np.concatenate([labels.astype(np.uint8), _planar(x)], axis=1).tobytes())
    return folder


def write_cifar_python(root, classes=10, n_train=50, n_test=20, seed=0):
    """Write ``root/cifar-10-batches-py`` (or ``root/cifar-100-python``): pickled dicts with
    b'data' uint8 (N, 3072) and b'labels' (CIFAR-100: b'fine_labels', b'coarse_labels').
    Returns the folder."""
    folder = _folder(root, 'cifar-10-batches-py' if classes == 10 else 'cifar-100-python')
    for name, x, y in _cifar_files(classes, n_train, n_test, seed):
        batch = {b'batch_label': name.encode(), b'data': _planar(x),
                 b'filenames': [b'image_%05d.png' % i for i in range(len(y))]}
        if classes == 10:
            batch[b'labels'] = y.tolist()
        else:
            batch[b'fine_labels'], batch[b'coarse_labels'] = y.tolist(), (y // 5).tolist()
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(batch, f, protocol=2)
    return folder


def write_svhn(root, n_train=30, n_extra=20, n_test=10, seed=0):
    """Write ``train_32x32.mat``, ``extra_32x32.mat`` and ``test_32x32.mat`` (MATLAB v5) into
    ``root``: X uint8 (32, 32, 3, N), y uint8 (N, 1) in 1..10 (10 for the digit 0).
    Returns ``root``."""
    from scipy.io import savemat
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    for i, (name, n) in enumerate((('train', n_train), ('extra', n_extra), ('test', n_test))):
        x, y = make_images(n, 10, seed + i)
        y = np.where(y == 0, 10, y).astype(np.uint8)[:, None]
        savemat(os.path.join(root, name + '_32x32.mat'), {'X': x.transpose(1, 2, 3, 0), 'y': y})
    return root


def write_records(prefix, labels, size=8, seed=0):
    """``prefix.rec`` and ``prefix.idx``: one small JPEG image record per label, packed as
    MXNet's im2rec packs them (``IRHeader(0, label, i, 0)``; a label may be any float, to
    write the wrong ones).  Returns ``(rec, idx)``."""
    import cv2  # noqa: F401  (mx.recordio.pack_img encodes with OpenCV)
    import mxnet as mx
    rec, idx = str(prefix) + '.rec', str(prefix) + '.idx'
    record = mx.recordio.MXIndexedRecordIO(idx, rec, 'w')
    rng = np.random.RandomState(seed)
    for i, label in enumerate(labels):
        image = rng.randint(0, 255, (size, size, 3)).astype(np.uint8)
        record.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, float(label), i, 0),
                                                 image, quality=90, img_fmt='.jpg'))
    record.close()
    return rec, idx
