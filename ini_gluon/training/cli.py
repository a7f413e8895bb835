"""``train_cifar.py`` and ``train_imagenet.py``: parse, resolve the settings, train; bad input
ends in one clear line."""
import sys

import matplotlib
matplotlib.use('Agg')

from . import settings as cifar_settings  # noqa: E402
from .checkpoint import CheckpointError  # noqa: E402
from .data import DataError  # noqa: E402
from .loop import TrainingError, cifar_data, fit  # noqa: E402
from .settings import SettingsError, dumps  # noqa: E402

__all__ = ['main', 'main_imagenet']


def _run(prog, parser, resolve, make_data, argv):
    opt = parser().parse_args(argv)
    try:
        s = resolve(opt)
        if s['dry_run']:     # the settings alone: no data read, nothing written
            print(dumps(s))
            for warning in s['warnings']:
                print('%s: warning: %s' % (prog, warning), file=sys.stderr)
            return 0
        fit(s, make_data)
    except TrainingError as err:
        print('%s: %s' % (prog, err), file=sys.stderr)
        return 1
    except (DataError, SettingsError, CheckpointError, ValueError) as err:
        print('%s: error: %s' % (prog, err), file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    """Run ``train_cifar.py``; returns the exit status (0 done, 1 training stopped, 2 bad input)."""
    return _run('train_cifar.py', cifar_settings.build_parser, cifar_settings.resolve,
                cifar_data, argv)


def main_imagenet(argv=None):
    """Run ``train_imagenet.py``; exit status as :func:`main`."""
    from . import imagenet
    return _run('train_imagenet.py', imagenet.build_parser, imagenet.resolve,
                imagenet.imagenet_data, argv)
