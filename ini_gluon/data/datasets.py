"""Readers for the data sets of the papers, straight from the official files (pure numpy).

Every loader returns ``(train_x, train_y, test_x, test_y, num_classes)``: ``x`` uint8 of shape
``(N, 32, 32, 3)`` (HWC, RGB), ``y`` int32 of shape ``(N,)``.  Nothing is ever downloaded;
point ``data_dir`` at the extracted official archives.

CIFAR-10 / CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html), binary or python version.
``data_dir`` may be the extracted folder itself or its parent; the binary version wins when
both are there.

=====================  ==========================================  ============================
folder                 files                                       contents
=====================  ==========================================  ============================
cifar-10-batches-bin   data_batch_1.bin .. data_batch_5.bin,       records of 1 label byte +
                       test_batch.bin                              3072 pixel bytes
cifar-100-binary       train.bin, test.bin                         records of 2 label bytes
                                                                   (coarse, fine) + 3072 pixels
cifar-10-batches-py    data_batch_1 .. data_batch_5, test_batch    pickled dicts: b'data' uint8
                                                                   (N, 3072), b'labels'
cifar-100-python       train, test                                 b'data', b'fine_labels'
=====================  ==========================================  ============================

The 3072 pixel bytes are channel-planar: 1024 R, 1024 G, 1024 B, each a row-major 32x32 plane,
so byte ``32 * row + col`` of the R plane is ``x[i, row, col, 0]``.  Any whole number of
records per file is accepted.  CIFAR-100 uses the fine (100-class) labels.  The python version
is unpickled with only what the official files hold (dicts, lists, bytes, numbers and NumPy
arrays): any other Python object in a file is refused, never created, so a crafted file cannot
run code.

SVHN (http://ufldl.stanford.edu/housenumbers/, format 2, cropped digits): ``train_32x32.mat``,
``test_32x32.mat`` and ``extra_32x32.mat`` (MATLAB v5) in ``data_dir`` or ``data_dir/svhn``;
``X`` uint8 of shape (32, 32, 3, N), ``y`` of shape (N, 1) with labels 1..10, 10 meaning the
digit 0 (mapped to 0 here).  The training set is train + extra, as in the paper.

digits: scikit-learn's bundled 8x8 digits (1,797 images, no download), upscaled to 32x32 --
a tiny data set for smoke tests.

Unusable input raises :class:`DataError` with one message naming the directory or file and
what was expected.
"""
import os
import pickle
import unicodedata

import numpy as np

__all__ = ['DataError', 'DATASETS', 'load_dataset', 'load_cifar', 'load_svhn', 'load_digits',
           'class_names', 'class_name_problem', 'class_names_problem']

DATASETS = ('cifar10', 'cifar100', 'svhn', 'digits')
CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar.html'
SVHN_URL = 'http://ufldl.stanford.edu/housenumbers/'
PIXELS = 3 * 32 * 32

_BATCHES = tuple('data_batch_%d' % i for i in range(1, 6))
# classes -> versions, preferred first: (version, folder, train files, test files, label), where
# label is the number of label bytes per record (binary; the last one is read, i.e. the fine
# label of CIFAR-100) or the dict key of the labels (python).
_CIFAR = {
    10: (('binary', 'cifar-10-batches-bin', tuple(b + '.bin' for b in _BATCHES),
          ('test_batch.bin',), 1),
         ('python', 'cifar-10-batches-py', _BATCHES, ('test_batch',), 'labels')),
    100: (('binary', 'cifar-100-binary', ('train.bin',), ('test.bin',), 2),
          ('python', 'cifar-100-python', ('train',), ('test',), 'fine_labels')),
}


class DataError(ValueError):
    """Unusable data set: one clear message naming the directory/file and what was expected."""


def class_name_problem(name):
    """Why ``name`` cannot be a class name (``None``: it can).  An export writes its class names
    one per line (``classes.txt``), read back by ``open(path, encoding='utf-8').read()
    .splitlines()``: a name is a non-empty string of UTF-8 text without a character at which
    ``splitlines`` breaks a line (newline, carriage return, vertical tab, form feed, the
    file / group / record separators, NEL, the Unicode line and paragraph separators) or any
    other control character (a tab), and without whitespace at either end (read back by a
    ``strip()``, it would be another name)."""
    if not isinstance(name, str) or not name:
        return 'is empty' if name == '' else 'is not text'
    try:
        name.encode('utf-8')
    except UnicodeEncodeError:
        return 'is not UTF-8 text (undecodable bytes in a folder name)'
    if len(name.splitlines()) != 1 or any(unicodedata.category(c) == 'Cc' for c in name):
        return 'holds a line break, a tab or another control character'
    if name != name.strip():
        return 'begins or ends with whitespace'
    return None


def class_names_problem(names):
    """Why the class names ``names`` cannot be written one per line (the first name that
    cannot, :func:`class_name_problem`), or ``None``."""
    for name in names:
        problem = class_name_problem(name)
        if problem:
            return 'class name %s %s' % (ascii(name)[:80], problem)
    return None


def _locate(data_dir, title, versions, hint):
    """Directory holding every file of the first complete version, looked for in ``data_dir``
    itself, then in ``data_dir/<folder>``.

    Parameters
    ----------
    versions : list of (description, folder, files)
        In order of preference.
    hint : str
        Where the official files come from, ending the error message.

    Returns
    -------
    (index into versions, directory)
    """
    wanted = ' or '.join('the %s (%s/: %s)' % (desc, folder, ', '.join(files))
                         for desc, folder, files in versions)
    if data_dir is None:
        raise DataError('%s needs --data-dir (data_dir=None): the directory holding %s, or its '
                        'parent. %s' % (title, wanted, hint))
    data_dir = os.path.expanduser(os.fspath(data_dir))
    incomplete = []
    if os.path.isdir(data_dir):
        for i, (_, folder, files) in enumerate(versions):
            for d in (data_dir, os.path.join(data_dir, folder)):
                missing = [f for f in files if not os.path.isfile(os.path.join(d, f))]
                if not missing:
                    return i, d
                if len(missing) < len(files):
                    incomplete.append(' Incomplete: %s lacks %s.' % (d, ', '.join(missing)))
        problem = 'no complete copy in %s' % data_dir
    else:
        problem = 'data directory %s %s' % (
            data_dir, 'is not a directory' if os.path.exists(data_dir) else 'does not exist')
    raise DataError('%s not found: %s. Expected %s, in %s itself or in that folder inside it.%s %s'
                    % (title, problem, wanted, data_dir, ''.join(incomplete), hint))


def _check_labels(path, y, low, high):
    bad = np.flatnonzero((y < low) | (y > high))
    if bad.size:
        raise DataError('%s: label %s of record %d is outside %d..%d (%d such records); the file '
                        'is corrupt or of another data set' % (path, y[bad[0]], bad[0], low, high,
                                                               bad.size))


def _planar_to_hwc(data):
    """(N, 3072) rows of R, G, B planes -> (N, 32, 32, 3)."""
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _read_records(path, label_bytes):
    """Binary version: records of ``label_bytes`` label bytes + 3072 pixel bytes."""
    record = label_bytes + PIXELS
    try:
        raw = np.fromfile(path, np.uint8)
    except OSError as err:
        raise DataError('%s: cannot read it (%s)' % (path, err)) from err
    if raw.size == 0 or raw.size % record:
        raise DataError('%s: %d bytes is not a whole, non-zero number of %d-byte records (%d label '
                        'byte(s) + %d pixel bytes); the file is truncated or corrupt, extract it '
                        'again' % (path, raw.size, record, label_bytes, PIXELS))
    raw = raw.reshape(-1, record)
    return _planar_to_hwc(raw[:, label_bytes:]), raw[:, label_bytes - 1]


class _CifarUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that looks up only the globals of a pickled NumPy array (and of
    bytes in a protocol-2 pickle): the official CIFAR batches need no other, and a global (a
    function to call) is what a payload needs to run code."""
    ALLOWED = {('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'),     # NumPy 2's module name
               ('numpy', 'ndarray'), ('numpy', 'dtype'),
               ('_codecs', 'encode')}     # bytes pickled by Python 3 with protocol 2

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError('it holds the Python object %s.%s, which no CIFAR batch '
                                         'does: refused, not created' % (module, name))
        return super(_CifarUnpickler, self).find_class(module, name)


def _read_pickle(path, label_key):
    """Python version: a pickled dict with b'data' (uint8, (N, 3072)) and N labels."""
    expected = ("a pickled dict with b'data' (uint8, shape (N, 3072)) and b'%s' (N integer "
                "labels)" % label_key)
    try:
        with open(path, 'rb') as f:
            batch = _CifarUnpickler(f, encoding='bytes').load()
    except Exception as err:  # pickle raises many types on garbage
        raise DataError('%s: cannot unpickle it (%s: %s); expected %s'
                        % (path, type(err).__name__, err, expected)) from err
    if not isinstance(batch, dict):
        raise DataError('%s: holds a %s; expected %s' % (path, type(batch).__name__, expected))
    batch = {k.decode('latin-1') if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ('data', label_key) if k not in batch]
    if missing:
        raise DataError('%s: no key %s (keys: %s); expected %s'
                        % (path, ', '.join(missing), ', '.join(map(str, batch)), expected))
    data, labels = np.asarray(batch['data']), np.asarray(batch[label_key])
    if (data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS or not len(data)
            or labels.shape != (len(data),) or labels.dtype.kind not in 'iu'):
        raise DataError('%s: data is %s %s and labels %s %s; expected %s'
                        % (path, data.dtype, data.shape, labels.dtype, labels.shape, expected))
    return _planar_to_hwc(data), labels


def load_cifar(data_dir, classes=10):
    """CIFAR-10 or CIFAR-100 (fine labels) from the binary or python version.

    Parameters
    ----------
    data_dir : str or path
        The extracted folder (``cifar-10-batches-bin``, ``cifar-10-batches-py``,
        ``cifar-100-binary`` or ``cifar-100-python``) or its parent.
    classes : {10, 100}

    Returns
    -------
    (train_x, train_y, test_x, test_y, classes)
    """
    if classes not in _CIFAR:
        raise DataError('CIFAR has 10 or 100 classes, not %r' % (classes,))
    versions = _CIFAR[classes]
    i, folder = _locate(data_dir, 'CIFAR-%d' % classes,
                        [(v + ' version', f, train + test) for v, f, train, test, _ in versions],
                        'Get the official archive from %s and extract it; nothing is '
                        'downloaded.' % CIFAR_URL)
    version, _, train, test, label = versions[i]
    read = _read_records if version == 'binary' else _read_pickle

    def load(files):
        xs, ys = [], []
        for name in files:
            path = os.path.join(folder, name)
            x, y = read(path, label)
            _check_labels(path, y, 0, classes - 1)
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys).astype(np.int32)

    return load(train) + load(test) + (classes,)


def _read_mat(path):
    """SVHN format 2: X uint8 (32, 32, 3, N), y (N, 1) in 1..10 -> (N, 32, 32, 3), 0..9."""
    import scipy.io
    expected = "X uint8 of shape (32, 32, 3, N) and y of shape (N, 1) with labels 1..10"
    try:
        mat = scipy.io.loadmat(path)
    except Exception as err:  # scipy raises many types on garbage
        raise DataError('%s: not a readable MATLAB file (%s: %s); expected SVHN format 2 with %s'
                        % (path, type(err).__name__, err, expected)) from err
    missing = [k for k in ('X', 'y') if k not in mat]
    if missing:
        keys = ', '.join(k for k in mat if not k.startswith('__')) or 'none'
        raise DataError('%s: no %s (variables: %s); expected %s'
                        % (path, ' or '.join(missing), keys, expected))
    x, y = np.asarray(mat['X']), np.asarray(mat['y'])
    if (x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or not x.shape[3]
            or y.size != x.shape[3] or y.dtype.kind not in 'iuf'):
        raise DataError('%s: X is %s %s and y %s %s; expected %s'
                        % (path, x.dtype, x.shape, y.dtype, y.shape, expected))
    y = y.reshape(-1)
    if not np.array_equal(y, np.round(y)):
        raise DataError('%s: y holds non-integer labels; expected %s' % (path, expected))
    _check_labels(path, y, 1, 10)
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2)), y.astype(np.int32) % 10


def load_svhn(data_dir, extra=True):
    """SVHN format 2 (cropped digits), label 10 mapped to the digit 0.

    Parameters
    ----------
    data_dir : str or path
        Directory holding the ``.mat`` files (or holding them in a folder ``svhn``).
    extra : bool
        Train on train + extra (531,131 more images, as in the paper; needs
        ``extra_32x32.mat``), else on train alone.

    Returns
    -------
    (train_x, train_y, test_x, test_y, 10)
    """
    names = ['train_32x32.mat'] + ['extra_32x32.mat'] * bool(extra) + ['test_32x32.mat']
    hint = ('Get the format 2 (cropped digits) files from %s; nothing is downloaded.%s'
            % (SVHN_URL, ' load_svhn(data_dir, extra=False) trains without extra_32x32.mat.'
               * bool(extra)))
    _, folder = _locate(data_dir, 'SVHN', [('format 2 files', 'svhn', names)], hint)
    parts = [_read_mat(os.path.join(folder, name)) for name in names]
    train_x, train_y = (np.concatenate(a) for a in zip(*parts[:-1]))
    return (train_x, train_y) + parts[-1] + (10,)


def load_digits(test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8x8 digits as 32x32 RGB images (no download).

    Each pixel (0..16) becomes a 4x4 block of ``round(v * 255 / 16)`` in all three channels.
    The split is stratified and seeded: ``numpy.random.RandomState(seed).permutation`` shuffles
    the 1,797 images; in that order, the first ``round(test_fraction * n_c)`` images of each
    class (at least one, at most ``n_c - 1``) go to the test set, the rest to the training set;
    both sets keep the shuffled order.

    Returns
    -------
    (train_x, train_y, test_x, test_y, 10)
    """
    if not 0 < test_fraction < 1:
        raise DataError('test_fraction must be between 0 and 1 (exclusive), not %r'
                        % (test_fraction,))
    from sklearn.datasets import load_digits as sklearn_digits
    digits = sklearn_digits()
    x = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    x = x.repeat(4, axis=1).repeat(4, axis=2)[..., None].repeat(3, axis=3)
    y = digits.target.astype(np.int32)
    order = np.random.RandomState(seed).permutation(len(y))
    test = np.zeros(len(y), bool)
    for c in range(10):
        members = order[y[order] == c]
        test[members[:min(max(int(round(test_fraction * len(members))), 1),
                          len(members) - 1)]] = True
    train_idx, test_idx = order[~test[order]], order[test[order]]
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx], 10


def load_dataset(name, data_dir=None):
    """Load one of :data:`DATASETS` (``digits`` ignores ``data_dir``).

    Returns
    -------
    (train_x, train_y, test_x, test_y, num_classes)
        ``x`` uint8 of shape (N, 32, 32, 3) (HWC, RGB), ``y`` int32 of shape (N,).
    """
    if name not in DATASETS:
        raise DataError('unknown dataset %r; expected one of %s' % (name, ', '.join(DATASETS)))
    if name == 'digits':
        return load_digits()
    if name == 'svhn':
        return load_svhn(data_dir)
    return load_cifar(data_dir, int(name[len('cifar'):]))


CIFAR10_NAMES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
                 'truck')
# the fine labels of CIFAR-100 in the order of the official meta files (alphabetical)
CIFAR100_NAMES = tuple("""
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly
camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile
cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp
lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree
orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum
rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider
squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train
trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split())
# where the official archives keep the names: (folder, file, pickle key or None for text lines)
_META = {10: (('cifar-10-batches-bin', 'batches.meta.txt', None),
              ('cifar-10-batches-py', 'batches.meta', 'label_names')),
         100: (('cifar-100-binary', 'fine_label_names.txt', None),
               ('cifar-100-python', 'meta', 'fine_label_names'))}


def _meta_names(data_dir, classes):
    """The class names of the official meta file in ``data_dir``, or ``None`` without one."""
    for folder, name, key in _META[classes]:
        for path in (os.path.join(data_dir, name), os.path.join(data_dir, folder, name)):
            if not os.path.isfile(path):
                continue
            try:
                if key is None:
                    with open(path, encoding='latin-1') as f:
                        names = [line.strip() for line in f if line.strip()]
                else:
                    with open(path, 'rb') as f:
                        meta = _CifarUnpickler(f, encoding='bytes').load()
                    names = [n.decode('latin-1') for n in meta[key.encode()]]
            except Exception:  # an unreadable meta file: the official names below
                continue
            if len(names) == classes and class_names_problem(names) is None:
                return tuple(names)
    return None


def class_names(name, data_dir=None):
    """The class names of a data set, in label order: CIFAR's from the official meta file in
    ``data_dir`` where it is there (and its names can be written one per line,
    :func:`class_name_problem`), else the official names; SVHN's and digits' the digits."""
    if name in ('svhn', 'digits'):
        return tuple(str(d) for d in range(10))
    if name in ('cifar10', 'cifar100'):
        classes = int(name[len('cifar'):])
        found = _meta_names(data_dir, classes) if data_dir else None
        return found or (CIFAR10_NAMES if classes == 10 else CIFAR100_NAMES)
    raise DataError('unknown dataset %r; expected one of %s' % (name, ', '.join(DATASETS)))
