"""``train_cifar.py`` and ``train_imagenet.py``: parse, resolve the settings, train; bad input
ends in one clear line (exit 2), a fault of the machine such as a full disk too (exit 1);
``--debug`` shows the traceback instead."""
import errno
import sys

import matplotlib
matplotlib.use('Agg')
from mxnet.base import MXNetError  # noqa: E402

from ..data import DataError, cifar_data  # noqa: E402
from ..data.imagenet import imagenet_data  # noqa: E402
from ..run.checkpoint import CheckpointError  # noqa: E402
from ..run.settings import CIFAR, IMAGENET, dumps  # noqa: E402
from .._argparse import allocation_failure  # noqa: E402
from .loop import TrainingError, fit  # noqa: E402
from .settings import SettingsError, build_parser, resolve  # noqa: E402

__all__ = ['main', 'main_imagenet']

# faults of the machine rather than of the user's input: exit 1, as a stopped training
MACHINE_FAULTS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.ENOMEM}


def _os_error(err):
    """One line for an ``OSError``: what failed on which file."""
    what = err.strerror or str(err)
    return '%s: %s' % (err.filename, what) if err.filename else what


def _run(prog, script, make_data, argv):
    opt = build_parser(script).parse_args(argv)
    if opt.debug:
        return _run_or_raise(prog, script, make_data, opt)
    try:
        return _run_or_raise(prog, script, make_data, opt)
    except TrainingError as err:
        print('%s: %s' % (prog, err), file=sys.stderr)
        return 1
    except (DataError, SettingsError, CheckpointError, ValueError) as err:
        print('%s: error: %s' % (prog, err), file=sys.stderr)
        return 2
    except OSError as err:
        print('%s: error: %s' % (prog, _os_error(err)), file=sys.stderr)
        return 1 if err.errno in MACHINE_FAULTS else 2
    except (MemoryError, MXNetError) as err:
        return _out_of_memory(prog, err)


def _out_of_memory(prog, err):
    """Exit 1 with one line where ``err`` is the machine running out of memory (a fault of the
    machine, as a full disk); any other error of MXNet goes on up."""
    why = allocation_failure(err)
    if why is None:
        raise err
    print('%s: out of memory: %s' % (prog, why), file=sys.stderr)
    return 1


def _run_or_raise(prog, script, make_data, opt):
    s = resolve(opt, script)
    if opt.dry_run:     # the settings alone: no data read, nothing written
        print(dumps(s))
        for warning in s.warnings:
            print('%s: warning: %s' % (prog, warning), file=sys.stderr)
        return 0
    fit(s, make_data)
    return 0


def main(argv=None):
    """Run ``train_cifar.py``; returns the exit status (0 done, 1 training stopped, 2 bad input)."""
    return _run('train_cifar.py', CIFAR, cifar_data, argv)


def main_imagenet(argv=None):
    """Run ``train_imagenet.py``; exit status as :func:`main`."""
    return _run('train_imagenet.py', IMAGENET, imagenet_data, argv)
