"""ini-gluon: Inner-Imaging networks, competitive SE and SE on GluonCV's model zoo.

>>> import ini_gluon as ig
>>> net = ig.get_model('ini_wrn28_10_mix5d', classes=10)
>>> print(ig.summary(net))
"""
__version__ = '0.1.0'

from . import layers, models
from .models import get_model, list_models
from .summary import summary, count_params, param_shapes

__all__ = ['get_model', 'list_models', 'summary', 'count_params', 'param_shapes', 'layers',
           'models', '__version__']
