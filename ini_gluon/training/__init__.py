"""Training: the papers' recipes, the settings resolved from a command line, the loop of
``train_cifar.py`` and ``train_imagenet.py``, and the launcher of a parameter-server job.

The run folder it writes (settings, checkpoints, the trained network) is
:mod:`ini_gluon.run`; the data it reads, :mod:`ini_gluon.data`.
"""
__all__ = ['build_parser', 'resolve', 'paper_preset', 'SettingsError', 'fit', 'TrainingError',
           'main', 'main_imagenet', 'launch_local']

from .settings import build_parser, resolve, paper_preset, SettingsError
from .loop import fit, TrainingError
from .cli import main, main_imagenet


def __getattr__(name):
    # the launcher is imported when asked for, so that ``python -m ini_gluon.training.launch``
    # does not find it imported already (runpy warns then, a second line on stderr)
    if name == 'launch_local':
        from .launch import launch_local
        return launch_local
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
