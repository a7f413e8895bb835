"""The dataset readers against files in the official formats, and their error messages."""
import os
import pickle
import re

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from ini_gluon.data.datasets import (DATASETS, DataError, load_cifar, load_dataset, load_digits,
                                     load_svhn)
import datasets

CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar.html'
SVHN_URL = 'http://ufldl.stanford.edu/housenumbers/'


def check_types(result, classes):
    train_x, train_y, test_x, test_y, num_classes = result
    assert num_classes == classes
    for x, y in ((train_x, train_y), (test_x, test_y)):
        assert x.dtype == np.uint8 and x.shape[1:] == (32, 32, 3) and x.flags.c_contiguous
        assert y.dtype == np.int32 and y.shape == (len(x),)


# ---------------------------------------------------------------------------------- CIFAR


def test_binary_record_layout_by_hand(tmp_path):
    """Records written byte by byte here, not by the writer: label, then R, G, B planes."""
    folder = tmp_path / 'cifar-10-batches-bin'
    folder.mkdir()
    plane = np.arange(1024)
    names = ['data_batch_%d.bin' % i for i in range(1, 6)] + ['test_batch.bin']
    for i, name in enumerate(names):
        record = bytes([i]) + bytes(list((plane + i) % 251) + list((plane * 3) % 256)
                                    + list(255 - plane % 256))
        assert len(record) == 3073
        (folder / name).write_bytes(record * 2)          # two identical records per file
    train_x, train_y, test_x, test_y, classes = load_cifar(folder)
    assert classes == 10
    assert train_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and test_y.tolist() == [5, 5]
    row, col = 7, 19                                      # byte 32 * 7 + 19 = 243 of each plane
    assert train_x[2, row, col].tolist() == [(243 + 1) % 251, 243 * 3 % 256, 255 - 243]
    assert test_x[1, 31, 31].tolist() == [(1023 + 5) % 251, 1023 * 3 % 256, 255 - 1023 % 256]
    assert train_x[9, 0, 1].tolist() == [5, 3, 254]


@pytest.mark.parametrize('as_parent', [True, False])
def test_cifar10_binary_round_trip(tmp_path, as_parent):
    folder = datasets.write_cifar_binary(tmp_path, n_train=23, n_test=7, seed=3)
    assert folder == str(tmp_path / 'cifar-10-batches-bin')
    sizes = [os.path.getsize(os.path.join(folder, 'data_batch_%d.bin' % i)) for i in range(1, 6)]
    assert sizes == [5 * 3073] * 3 + [4 * 3073] * 2
    result = load_cifar(tmp_path if as_parent else folder)
    check_types(result, 10)
    train_x, train_y, test_x, test_y, _ = result
    for (x, y), (want_x, want_y) in zip(((train_x, train_y), (test_x, test_y)),
                                        (datasets.make_images(23, 10, 3),
                                         datasets.make_images(7, 10, 4))):
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)
    # record 1 of data_batch_2 is image 5 + 1 = 6; read its bytes by hand
    raw = np.fromfile(os.path.join(folder, 'data_batch_2.bin'), np.uint8).reshape(-1, 3073)
    row, col = 12, 30
    assert train_y[6] == raw[1, 0]
    assert train_x[6, row, col].tolist() == [raw[1, 1 + c * 1024 + 32 * row + col]
                                             for c in range(3)]


@pytest.mark.parametrize('as_parent', [True, False])
def test_cifar10_python_only(tmp_path, as_parent):
    folder = datasets.write_cifar_python(tmp_path, n_train=12, n_test=6, seed=5)
    assert folder == str(tmp_path / 'cifar-10-batches-py')
    train_x, train_y, test_x, test_y, classes = load_cifar(tmp_path if as_parent else folder)
    check_types((train_x, train_y, test_x, test_y, classes), 10)
    with open(os.path.join(folder, 'test_batch'), 'rb') as f:
        batch = pickle.load(f, encoding='bytes')
    assert test_y.tolist() == batch[b'labels']
    assert test_x[4, 3, 8, 2] == batch[b'data'][4, 2048 + 32 * 3 + 8]
    np.testing.assert_array_equal(train_x, datasets.make_images(12, 10, 5)[0])
    np.testing.assert_array_equal(test_x, datasets.make_images(6, 10, 6)[0])


def test_binary_preferred_over_python(tmp_path):
    datasets.write_cifar_binary(tmp_path, n_train=10, n_test=4, seed=1)
    datasets.write_cifar_python(tmp_path, n_train=15, n_test=5, seed=2)
    train_x, _, test_x, _, _ = load_cifar(tmp_path)
    assert (len(train_x), len(test_x)) == (10, 4)
    np.testing.assert_array_equal(train_x, datasets.make_images(10, 10, 1)[0])


@pytest.mark.parametrize('writer', [datasets.write_cifar_binary, datasets.write_cifar_python])
def test_cifar100_fine_labels(tmp_path, writer):
    folder = writer(tmp_path, classes=100, n_train=250, n_test=40, seed=7)
    assert os.path.basename(folder) in ('cifar-100-binary', 'cifar-100-python')
    result = load_dataset('cifar100', folder)
    check_types(result, 100)
    train_x, train_y, test_x, test_y, _ = result
    if writer is datasets.write_cifar_binary:
        raw = np.fromfile(os.path.join(folder, 'train.bin'), np.uint8).reshape(-1, 3074)
        coarse, fine = raw[:, 0], raw[:, 1]
        assert train_x[17, 31, 0, 1] == raw[17, 2 + 1024 + 32 * 31]
    else:
        with open(os.path.join(folder, 'train'), 'rb') as f:
            batch = pickle.load(f, encoding='bytes')
        coarse, fine = np.array(batch[b'coarse_labels']), np.array(batch[b'fine_labels'])
    assert (coarse != fine).mean() > 0.9 and coarse.max() < 20
    np.testing.assert_array_equal(train_y, fine)
    assert sorted(set(train_y.tolist())) == list(range(100))
    np.testing.assert_array_equal(test_y, datasets.make_images(40, 100, 8)[1])
    np.testing.assert_array_equal(test_x, datasets.make_images(40, 100, 8)[0])


# ---------------------------------------------------------------------------------- SVHN


def test_svhn_round_trip(tmp_path):
    root = datasets.write_svhn(tmp_path, n_train=30, n_extra=20, n_test=10, seed=0)
    assert root == str(tmp_path)
    result = load_dataset('svhn', tmp_path)
    check_types(result, 10)
    train_x, train_y, test_x, test_y, _ = result
    assert len(train_x) == 30 + 20 and len(test_x) == 10
    mats = {name: loadmat(str(tmp_path / (name + '_32x32.mat')))
            for name in ('train', 'extra', 'test')}
    file_y = np.concatenate([mats['train']['y'][:, 0], mats['extra']['y'][:, 0]])
    assert 10 in file_y and 0 not in file_y
    np.testing.assert_array_equal(train_y, np.where(file_y == 10, 0, file_y))
    assert (train_y == 0).sum() == (file_y == 10).sum() > 0
    # image 33 is extra image 3; pixel (row 5, col 21, channel 2)
    assert train_x[33, 5, 21, 2] == mats['extra']['X'][5, 21, 2, 3]
    assert test_x[9, 31, 0, 0] == mats['test']['X'][31, 0, 0, 9]
    np.testing.assert_array_equal(test_x, datasets.make_images(10, 10, 2)[0])
    np.testing.assert_array_equal(test_y, datasets.make_images(10, 10, 2)[1])


def test_svhn_without_extra(tmp_path):
    datasets.write_svhn(tmp_path / 'svhn', n_train=12, n_extra=5, n_test=4, seed=3)
    os.remove(tmp_path / 'svhn' / 'extra_32x32.mat')
    train_x, train_y, test_x, _, _ = load_svhn(tmp_path, extra=False)     # parent directory
    assert (len(train_x), len(test_x)) == (12, 4)
    np.testing.assert_array_equal(train_y, datasets.make_images(12, 10, 3)[1])
    with pytest.raises(DataError, match=r'lacks extra_32x32\.mat.*extra=False'):
        load_svhn(tmp_path)


# ---------------------------------------------------------------------------------- digits


def test_digits():
    from sklearn.datasets import load_digits as sklearn_digits
    result = load_digits()
    check_types(result, 10)
    train_x, train_y, test_x, test_y, _ = result
    assert len(train_x) + len(test_x) == 1797 and 340 <= len(test_x) <= 380
    x, y = np.concatenate([train_x, test_x]), np.concatenate([train_y, test_y])
    assert x.min() == 0 and x.max() == 255
    # every 4x4 block, in all three channels, holds one value
    corners = x[:, ::4, ::4, :1]
    np.testing.assert_array_equal(x, np.kron(corners, np.ones((1, 4, 4, 3), np.uint8)))
    # ... and the images are sklearn's, scaled by round(v * 255 / 16), with their labels
    digits = sklearn_digits()
    scaled = np.floor(digits.images.reshape(1797, 64) * 255 / 16 + 0.5)
    want = np.column_stack([digits.target, scaled]).astype(int)
    got = np.column_stack([y, corners.reshape(1797, 64)]).astype(int)
    np.testing.assert_array_equal(got[np.lexsort(got.T[::-1])], want[np.lexsort(want.T[::-1])])
    assert set(train_y.tolist()) == set(test_y.tolist()) == set(range(10))
    # deterministic, seeded
    again = load_digits()
    for a, b in zip(result[:4], again[:4]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(load_digits(seed=1)[3], test_y)
    assert load_dataset('digits', data_dir='/ignored')[4] == 10


def test_digits_block_by_hand():
    from sklearn.datasets import load_digits as sklearn_digits
    images = sklearn_digits().images
    train_x = load_digits(test_fraction=0.5, seed=4)[0]
    # find training image 0 among sklearn's by its corners, then check one 4x4 block
    corners = train_x[0, ::4, ::4, 0]
    matches = [i for i, im in enumerate(images)
               if all(corners[r, c] == int(im[r, c] * 255 / 16 + 0.5)
                      for r in range(8) for c in range(8))]
    assert matches
    v = images[matches[0], 3, 5]
    assert (train_x[0, 12:16, 20:24, :] == int(v * 255 / 16 + 0.5)).all()


# ---------------------------------------------------------------------------------- errors


def test_missing_directory(tmp_path):
    missing = tmp_path / 'nope'
    with pytest.raises(DataError, match='%s does not exist' % re.escape(str(missing))):
        load_cifar(missing)


@pytest.mark.parametrize('name, files', [
    ('cifar10', ['cifar-10-batches-bin/', 'data_batch_1.bin', 'data_batch_5.bin',
                 'test_batch.bin', 'cifar-10-batches-py/', 'data_batch_1,', 'test_batch)',
                 CIFAR_URL]),
    ('cifar100', ['cifar-100-binary/', 'train.bin', 'test.bin', 'cifar-100-python/', CIFAR_URL]),
    ('svhn', ['train_32x32.mat', 'extra_32x32.mat', 'test_32x32.mat', SVHN_URL]),
])
def test_empty_directory(tmp_path, name, files):
    with pytest.raises(DataError, match='no complete copy in %s' % re.escape(str(tmp_path))) as e:
        load_dataset(name, tmp_path)
    for fragment in files:
        assert fragment in str(e.value)


def test_incomplete_copy(tmp_path):
    folder = datasets.write_cifar_binary(tmp_path, n_train=10, n_test=2)
    os.remove(os.path.join(folder, 'data_batch_3.bin'))
    with pytest.raises(DataError, match='%s lacks data_batch_3.bin' % re.escape(folder)):
        load_cifar(tmp_path)


@pytest.mark.parametrize('cut', [1, 3000, 4000, 2 * 3073])    # 2 * 3073: empty file
def test_truncated_binary(tmp_path, cut):
    folder = datasets.write_cifar_binary(tmp_path, n_train=10, n_test=2)
    path = os.path.join(folder, 'data_batch_4.bin')
    with open(path, 'r+b') as f:
        f.truncate(2 * 3073 - cut)
    with pytest.raises(DataError, match=r'data_batch_4\.bin: %d bytes .*3073-byte records'
                                        % (2 * 3073 - cut)):
        load_cifar(folder)


def test_truncated_cifar100_binary(tmp_path):
    folder = datasets.write_cifar_binary(tmp_path, classes=100, n_train=10, n_test=2)
    with open(os.path.join(folder, 'test.bin'), 'ab') as f:
        f.write(b'\0' * 3073)                               # a CIFAR-10 sized record
    with pytest.raises(DataError, match=r'test\.bin: 9221 bytes .*3074-byte records'):
        load_cifar(tmp_path, classes=100)


def test_binary_label_out_of_range(tmp_path):
    folder = datasets.write_cifar_binary(tmp_path, n_train=10, n_test=3)
    path = os.path.join(folder, 'test_batch.bin')
    raw = bytearray(open(path, 'rb').read())
    raw[3073] = 10                                          # label of record 1
    open(path, 'wb').write(bytes(raw))
    with pytest.raises(DataError, match=r'test_batch\.bin: label 10 of record 1 is outside 0\.\.9'):
        load_cifar(folder)


def test_garbage_pickle(tmp_path):
    folder = datasets.write_cifar_python(tmp_path, n_train=10, n_test=3)
    with open(os.path.join(folder, 'test_batch'), 'wb') as f:
        f.write(b'this is not a pickle')
    with pytest.raises(DataError, match=r'test_batch: cannot unpickle it') as e:
        load_cifar(tmp_path)
    assert e.value.__cause__ is not None


@pytest.mark.parametrize('batch, fragment', [
    ({b'data': np.zeros((2, 3072), np.uint8)}, r"no key labels"),
    ({b'data': np.zeros((2, 3071), np.uint8), b'labels': [0, 1]}, r'data is uint8 \(2, 3071\)'),
    ({b'data': np.zeros((2, 3072), np.float32), b'labels': [0, 1]}, r'data is float32'),
    ({b'data': np.zeros((2, 3072), np.uint8), b'labels': [0]}, r'labels int64 \(1,\)'),
    ([1, 2, 3], r'holds a list'),
])
def test_bad_pickle_contents(tmp_path, batch, fragment):
    folder = datasets.write_cifar_python(tmp_path, n_train=10, n_test=3)
    with open(os.path.join(folder, 'data_batch_2'), 'wb') as f:
        pickle.dump(batch, f)
    with pytest.raises(DataError, match=r'data_batch_2: .*%s' % fragment) as e:
        load_cifar(folder)
    assert "b'data' (uint8, shape (N, 3072))" in str(e.value)


def test_cifar100_pickle_needs_fine_labels(tmp_path):
    folder = datasets.write_cifar_python(tmp_path, classes=100, n_train=10, n_test=3)
    with open(os.path.join(folder, 'train'), 'wb') as f:
        pickle.dump({b'data': np.zeros((2, 3072), np.uint8), b'labels': [0, 1]}, f)
    with pytest.raises(DataError, match=r"train: no key fine_labels"):
        load_cifar(folder, classes=100)


@pytest.mark.parametrize('contents, fragment', [
    ({'y': np.ones((3, 1), np.uint8)}, r"no X \(variables: y\)"),
    ({'X': np.zeros((32, 32, 3, 3), np.uint8)}, r"no y \(variables: X\)"),
    ({'X': np.zeros((3, 32, 32, 3), np.uint8), 'y': np.ones((3, 1))},
     r'X is uint8 \(3, 32, 32, 3\)'),
    ({'X': np.zeros((32, 32, 3, 3), np.uint8), 'y': np.ones((4, 1))}, r'and y float64 \(4, 1\)'),
    ({'X': np.zeros((32, 32, 3, 2), np.uint8), 'y': np.array([[1], [0]])},
     r'label 0 of record 1 is outside 1\.\.10'),
    ({'X': np.zeros((32, 32, 3, 2), np.uint8), 'y': np.array([[1.5], [2]])},
     r'non-integer labels'),
])
def test_bad_mat(tmp_path, contents, fragment):
    datasets.write_svhn(tmp_path, n_train=3, n_extra=2, n_test=2)
    savemat(str(tmp_path / 'train_32x32.mat'), contents)
    with pytest.raises(DataError, match=r'train_32x32\.mat: .*%s' % fragment):
        load_svhn(tmp_path)


def test_unreadable_mat(tmp_path):
    datasets.write_svhn(tmp_path, n_train=3, n_extra=2, n_test=2)
    (tmp_path / 'test_32x32.mat').write_bytes(b'garbage' * 40)
    with pytest.raises(DataError, match=r'test_32x32\.mat: not a readable MATLAB file') as e:
        load_svhn(tmp_path)
    assert e.value.__cause__ is not None


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset 'imagenet'; expected one of "
                                        "cifar10, cifar100, svhn, digits"):
        load_dataset('imagenet', '/tmp')
    assert DATASETS == ('cifar10', 'cifar100', 'svhn', 'digits')
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize('name', ['cifar10', 'cifar100', 'svhn'])
def test_data_dir_none(name):
    with pytest.raises(DataError, match=r'needs --data-dir'):
        load_dataset(name)


def test_bad_arguments():
    with pytest.raises(DataError, match='10 or 100 classes, not 20'):
        load_cifar('/tmp', classes=20)
    with pytest.raises(DataError, match='test_fraction'):
        load_digits(test_fraction=1.0)


class _Payload(object):
    """What a crafted batch would hold: an object whose unpickling calls a function."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    folder = datasets.write_cifar_python(tmp_path, n_train=10, n_test=3)
    marker = str(tmp_path / 'payload-ran')
    with open(os.path.join(folder, 'data_batch_1'), 'wb') as f:
        pickle.dump({b'data': _Payload(marker), b'labels': [0]}, f, protocol=2)
    with pytest.raises(DataError, match=r'data_batch_1: cannot unpickle it .*posix\.mkdir, '
                                        r'which no CIFAR batch does: refused, not created'):
        load_cifar(folder)
    assert not os.path.exists(marker)
    # the same file through plain pickle would have run it: the test's payload is real
    with open(os.path.join(folder, 'data_batch_1'), 'rb') as f:
        pickle.load(f, encoding='bytes')
    assert os.path.isdir(marker)


def test_a_process_starts_without_scikit_learn_and_can_import_it_later():
    """``import ini_gluon`` imports MXNet without its optional sklearn and scipy.stats imports
    (0.9 s of every worker's and server's start); the digits set imports sklearn itself
    afterwards, and MXNet's quantization and test utilities get scipy.stats when they read it:
    the entropy of (1, 0) against (1/2, 1/2) is log 2, the normal CDF at 0 is 1/2."""
    import subprocess
    import sys
    code = ('import sys, math, ini_gluon.training.cli, mxnet.model; '
            'assert not [m for m in ("sklearn", "pandas", "scipy.stats") if m in sys.modules]; '
            'from mxnet.contrib import quantization; from mxnet import test_utils; '
            'assert abs(quantization.stats.entropy([1, 0], [0.5, 0.5]) - math.log(2)) < 1e-12; '
            'assert test_utils.ss.norm.cdf(0) == 0.5; '
            'from ini_gluon.data.datasets import load_digits; '
            'assert load_digits()[2].shape == (359, 32, 32, 3)')
    subprocess.run([sys.executable, '-c', code], check=True)
