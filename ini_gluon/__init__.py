"""ini-gluon: Inner-Imaging networks, competitive SE and SE on GluonCV's model zoo.

>>> import ini_gluon as ig
>>> net = ig.get_model('ini_wrn28_10_mix5d', classes=10)
>>> print(ig.summary(net))
"""
import os as _os
import sys as _sys

__version__ = '0.1.0'


_HERE = _os.path.dirname(_os.path.abspath(__file__))


def _commands():
    """The modules ``python -m`` runs: ``ini_gluon`` itself, the command modules at the
    package's root, and the job launcher."""
    return ['ini_gluon'] + ['ini_gluon.' + n[:-3] for n in sorted(_os.listdir(_HERE))
                            if n.endswith('.py') and not n.startswith('_')] + \
        ['ini_gluon.training.launch']


def _module_run():
    """The module of ``python -m MODULE`` while Python looks for it (it sets ``sys.argv[0]``
    to ``'-m'`` meanwhile, importing the packages above the module first), else ``None``."""
    if _sys.argv[:1] != ['-m']:
        return None
    argv = list(getattr(_sys, 'orig_argv', ()))
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith('-m'):
            return arg[2:] or (argv[i + 1] if i + 1 < len(argv) else None)
    return None


def _refuse_a_library_as_a_command():
    """``python -m ini_gluon.<library>`` (``ini_gluon.run``, ``ini_gluon.run.export``) or of a
    name that is no module: one line naming the commands, exit 2 -- where Python would run the
    library's module, which does nothing, or say that a package cannot be executed."""
    target = _module_run() or ''
    commands = _commands()
    if not target.startswith('ini_gluon.') or target in commands + ['ini_gluon.__main__']:
        return
    path = _os.path.join(_HERE, *target.split('.')[1:])
    what = ('%s is a library, not a command' if _os.path.isdir(path) or
            _os.path.isfile(path + '.py') else 'no command %s') % target
    _sys.stderr.write('python -m %s: %s; the commands are python -m %s\n'
                      % (target, what, ', '.join(commands)))
    raise SystemExit(2)


_refuse_a_library_as_a_command()


class _LazySciPyStats(object):
    """``scipy.stats``, imported when an attribute is first read."""

    def __getattr__(self, name):
        import scipy.stats
        return getattr(scipy.stats, name)


# The names under which MXNet's modules keep ``scipy.stats`` if it imports (``None`` if not):
# its INT8 quantization's entropy calibration and its test utilities' statistical checks
_SCIPY_STATS_READERS = (('mxnet.contrib.quantization', 'stats'), ('mxnet.test_utils', 'ss'))


def _import_mxnet_without_sklearn():
    """``import mxnet`` without its optional scikit-learn and SciPy-statistics imports:
    MXNet's legacy ``mx.model.FeedForward`` subclasses sklearn's ``BaseEstimator`` where sklearn
    imports, which pulls in SciPy and pandas (0.7 s), and two of its modules import
    ``scipy.stats`` (0.2 s), of every process's start (every training worker, kvstore server
    and test subprocess).  Nothing here uses the first; the modules that read ``scipy.stats``
    get it when they first do; ``import sklearn`` and ``import scipy.stats`` work as ever
    afterwards (the digits set reads sklearn)."""
    if 'mxnet' in _sys.modules or 'sklearn' in _sys.modules:
        return
    import importlib.util
    deferred = ['sklearn'] + [name for name in ('scipy.stats',) if name not in _sys.modules]
    for name in deferred:
        _sys.modules[name] = None             # makes `import name` an ImportError
    try:
        import mxnet  # noqa: F401
    finally:
        for name in deferred:
            del _sys.modules[name]
    if importlib.util.find_spec('scipy') is None:
        return                                # no SciPy: MXNet's modules say so as ever
    for module, name in _SCIPY_STATS_READERS:
        if getattr(_sys.modules.get(module), name, False) is None:
            setattr(_sys.modules[module], name, _LazySciPyStats())


_import_mxnet_without_sklearn()

from . import layers, models  # noqa: E402
from .models import get_model, list_models  # noqa: E402
from .analysis.summary import summary, count_params, param_shapes  # noqa: E402

# The Python API's names whose modules are imported when first asked for: the commands' modules
# (``ini_gluon.export`` and ``ini_gluon.predict`` are the commands and, called, the functions:
# ``_argparse.CallableModule``; imported at once, ``python -m ini_gluon.export`` would find its
# module imported already, and runpy warns), and what brings in the training and the run
# folders (matplotlib, the data sets), which ``import ini_gluon`` does not load.
_LAZY = ('export', 'predict', 'open_run', 'count_flops')


def __getattr__(name):
    if name == 'export':                   # the import sets the attribute: the module
        import ini_gluon.export as export
        return export
    if name == 'predict':
        import ini_gluon.predict as predict
        return predict
    if name == 'open_run':
        from .run.trained import open_run
        return open_run
    if name == 'count_flops':
        from .analysis.throughput import count_flops
        return count_flops
    raise AttributeError('module %r has no attribute %r' % (__name__, name))


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ['get_model', 'list_models', 'summary', 'count_params', 'count_flops', 'param_shapes',
           'export', 'predict', 'open_run', 'layers', 'models', '__version__']
