"""ini-gluon: Inner-Imaging networks, competitive SE and SE on GluonCV's model zoo."""
import re
from setuptools import setup, find_packages

with open('ini_gluon/__init__.py') as f:
    VERSION = re.search(r"__version__ = '([^']+)'", f.read()).group(1)

ONNX = ['onnx==1.14.1', 'onnxruntime']

setup(
    name='ini-gluon',
    version=VERSION,
    description="Inner-Imaging networks (InI) and competitive SE (CMPE-SE) for MXNet Gluon",
    packages=find_packages(exclude=['tests', 'tests.*']),
    scripts=['train_cifar.py', 'train_imagenet.py'],
    # one console command for every command: ini-gluon <command> [options]
    entry_points={'console_scripts': ['ini-gluon = ini_gluon.console:main']},
    python_requires='>=3.8',
    install_requires=[
        # MXNet 1.9.1 uses np.bool, removed in numpy 1.24
        'numpy>=1.21,<1.24',
        'gluoncv==0.10.5.post0',
        'matplotlib',
        'tqdm',
        'mxop',
        'scikit-learn',   # its bundled digits: the offline demo data set
        'scipy',          # scipy.io reads SVHN's .mat files (and the tests write them)
        'Pillow',         # PIL: tests/test_imagenet.py writes the image-folder JPEGs;
                          # RandAugment's operations (--rand-augment)
        'PyYAML',         # --config FILE of YAML (safe_load)
        'tensorboardX',   # --tensorboard: TensorBoard's event files without TensorFlow
    ],
    extras_require={
        # the CPU and GPU wheels of MXNet conflict: install exactly one
        'cpu': ['mxnet==1.9.1'],
        'gpu': ['mxnet-cu112==1.9.1'],
        # python -m ini_gluon.export --onnx: MXNet 1.9.1's exporter needs onnx.mapping, which
        # later onnx releases removed
        'onnx': ONNX,
        # make test lints with ruff (ruff.toml), then runs pytest on both cores (-n 2);
        # tensorboard: its own reader checks the event files of --tensorboard
        'test': ['pytest', 'pytest-xdist', 'ruff', 'tensorboard'] + ONNX,
    },
)
