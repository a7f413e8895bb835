"""ini-gluon: Inner-Imaging networks, competitive SE and SE on GluonCV's model zoo.

>>> import ini_gluon as ig
>>> net = ig.get_model('ini_wrn28_10_mix5d', classes=10)
>>> print(ig.summary(net))
"""
import sys as _sys

__version__ = '0.1.0'


def _import_mxnet_without_sklearn():
    """``import mxnet`` without its optional scikit-learn import: MXNet's legacy
    ``mx.model.FeedForward`` subclasses sklearn's ``BaseEstimator`` where sklearn imports,
    which pulls in SciPy and pandas, 0.7 s of every process's start (every training worker,
    kvstore server and test subprocess); nothing here uses that API, and ``import sklearn``
    works as ever afterwards (the digits set reads it)."""
    if 'mxnet' in _sys.modules or 'sklearn' in _sys.modules:
        return
    _sys.modules['sklearn'] = None            # makes `import sklearn` an ImportError
    try:
        import mxnet  # noqa: F401
    finally:
        del _sys.modules['sklearn']


_import_mxnet_without_sklearn()

from . import layers, models  # noqa: E402
from .models import get_model, list_models  # noqa: E402
from .analysis.summary import summary, count_params, param_shapes  # noqa: E402

__all__ = ['get_model', 'list_models', 'summary', 'count_params', 'param_shapes', 'layers',
           'models', '__version__']
