"""``train_cifar.py`` and ``train_imagenet.py``: parse, resolve the settings, train; bad input
ends in one clear line (exit 2), a fault of the machine such as a full disk or running out of
memory too (exit 1), as does a stopped training (:func:`ini_gluon._argparse.run_command`);
``--debug`` shows the traceback instead."""
import os
import sys

import matplotlib
matplotlib.use('Agg')

from .._argparse import run_command  # noqa: E402
from ..data import cifar_data  # noqa: E402
from ..data.imagenet import imagenet_data  # noqa: E402
from ..run.settings import CIFAR, IMAGENET, dumps  # noqa: E402
from .config import apply_config  # noqa: E402
from .loop import TrainingError, fit  # noqa: E402
from .settings import build_parser, resolve  # noqa: E402

__all__ = ['main', 'main_imagenet']


def _run(prog, script, make_data, argv):
    opt = build_parser(script).parse_args(argv)
    status = run_command(prog, opt.debug, lambda: _run_or_raise(prog, script, make_data, opt,
                                                                 argv), failures=(TrainingError,))
    if status and os.environ.get('DMLC_ROLE') == 'worker':
        _end_worker(status)
    return status


def _end_worker(status):
    """End a worker of a distributed job that failed now, with ``status``.  A normal exit runs
    MXNet's distributed kvstore teardown, which waits at a barrier for every other worker: a
    worker that refused its folder or stopped would hang the whole job until the launcher's
    --stall-timeout; ending the process at once lets the launcher see the failure and end the
    job (its other workers, the scheduler and the servers)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _run_or_raise(prog, script, make_data, opt, argv):
    s = resolve(apply_config(opt, sys.argv[1:] if argv is None else argv, script), script)
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
