"""``train_cifar.py``: parse, resolve the settings, train; bad input ends in one clear line."""
import sys

import matplotlib
matplotlib.use('Agg')

from .checkpoint import CheckpointError  # noqa: E402
from .data import DataError  # noqa: E402
from .loop import TrainingError, fit  # noqa: E402
from .settings import SettingsError, build_parser, resolve  # noqa: E402

__all__ = ['main']


def main(argv=None):
    """Run ``train_cifar.py``; returns the exit status (0 done, 1 training stopped, 2 bad input)."""
    opt = build_parser().parse_args(argv)
    try:
        settings = resolve(opt)
        fit(settings)
    except TrainingError as err:
        print('train_cifar.py: %s' % err, file=sys.stderr)
        return 1
    except (DataError, SettingsError, CheckpointError, ValueError) as err:
        print('train_cifar.py: error: %s' % err, file=sys.stderr)
        return 2
    return 0
