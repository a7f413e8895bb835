"""Training: the papers' settings, data readers, checkpoints, the loop of ``train_cifar.py``."""
__all__ = ['build_parser', 'resolve', 'paper_preset', 'SettingsError', 'load_dataset',
           'DataError', 'save_checkpoint', 'load_checkpoint', 'latest_checkpoint', 'atomic_write',
           'CheckpointError', 'BatchStream', 'channel_stats', 'mixup_lambda', 'fit', 'cifar_data',
           'Data', 'TrainingError', 'main', 'main_imagenet', 'launch_local']

from .settings import build_parser, resolve, paper_preset, SettingsError
from .data import load_dataset, DataError
from .checkpoint import (save_checkpoint, load_checkpoint, latest_checkpoint, atomic_write,
                         CheckpointError)
from .pipeline import BatchStream, channel_stats, mixup_lambda
from .loop import fit, cifar_data, Data, TrainingError
from .cli import main, main_imagenet


def __getattr__(name):
    # the launcher is imported when asked for, so that ``python -m ini_gluon.training.launch``
    # does not find it imported already (runpy warns then, a second line on stderr)
    if name == 'launch_local':
        from .launch import launch_local
        return launch_local
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
