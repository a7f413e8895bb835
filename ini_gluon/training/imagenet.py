"""``train_imagenet.py``'s options and settings (the data: :mod:`ini_gluon.data.imagenet`).

Argument names follow GluonCV's ``scripts/classification/imagenet/train_imagenet.py``.
``--preset`` as in ``train_cifar.py`` (:mod:`ini_gluon.training.recipes`): the InI paper's
100 epochs, batch 256, lr 0.1 / 10 every 30 epochs (Section V-B), or for ``cmpe_se_*`` models
the CMPE-SE paper's 100 epochs, batch 64, lr 0.1 / 10 at 30, 60 and 90 (Section 4.1), or for
the backbones registered with ``paper='sinet'`` the SINet paper's batch 256, lr 0.045 times
0.98 after every epoch (``--lr-mode exponential``, Section 4.1; 150 epochs); Nesterov SGD;
224 random-resized crops with mirroring, colour jitter and lighting noise for training, the
224 centre crop of the 256 resize for validation.
"""
from ..run.settings import IMAGENET
from . import settings

__all__ = ['build_parser', 'resolve']


def build_parser():
    """The parser of ``train_imagenet.py``."""
    return settings.build_parser(IMAGENET)


def resolve(opt):
    """The :class:`~ini_gluon.run.settings.Settings` of ``train_imagenet.py``'s parsed
    command line (the preset fills what was not given)."""
    return settings.resolve(opt, IMAGENET)
