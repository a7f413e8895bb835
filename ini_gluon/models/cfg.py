"""What a built network expects: ``net.default_cfg`` (timm's ``pretrained_cfg``), set by
:func:`~ini_gluon.models.get_model` on every network it builds.

A backbone built for 32x32 inputs is one of the papers' CIFAR networks: CIFAR-10's per-channel
mean and std (CIFAR-100's where it has 100 classes), the whole image resized to 32x32; one built
for 224x224 inputs is an ImageNet network: ImageNet's mean and std (GluonCV's), the 224 centre
crop of the image resized to 224 / 0.875 = 256 (``train_imagenet.py``'s validation transform).
The recipe is the ``--preset`` that ``--preset paper`` resolves to for the model
(:func:`~ini_gluon.models.model_paper`: ``'sinet'``, ``'cmpe-se'``, else ``'ini'``).
"""
import inspect

from .names import model_paper

__all__ = ['default_cfg', 'DATASET_STATS', 'IMAGENET_CROP_PCT']

# (mean, std) per RGB channel in [0, 1] units, over the training split's pixels
# (ini_gluon.data.pipeline.channel_stats computes the same of the files a run reads)
DATASET_STATS = {
    'cifar10': ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    'cifar100': ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    'imagenet': ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
IMAGENET_CROP_PCT = 0.875      # train_imagenet.py's --crop-ratio, GluonCV's


def built_classes(spec, kwargs):
    """The classes of the head the network of ``spec`` has when built with ``kwargs``: the
    ``classes`` given, else its constructor's default (``None``: it has no such keyword)."""
    if 'classes' in kwargs:
        return int(kwargs['classes'])
    parameter = inspect.signature(spec.entry.build).parameters.get('classes')
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None                   # a backbone added without a classes keyword
    return int(parameter.default)


def default_cfg(spec, name, classes):
    """``net.default_cfg`` of the network of ``spec`` with ``classes`` outputs, asked for as
    ``name`` (a name keeps the recipe its alias implies: ``cmpe_se_resnet164``).

    Returns
    -------
    dict
        ``architecture`` (the canonical name), ``input_size`` ``(3, H, W)``, ``mean`` and
        ``std`` per RGB channel in [0, 1] units, ``crop_pct`` (1.0: the whole image resized;
        0.875: the centre crop of the image resized to ``H / 0.875``), ``interpolation``,
        ``num_classes``, ``dataset`` (whose statistics ``mean`` and ``std`` are: ``'cifar10'``,
        ``'cifar100'``, ``'imagenet'``), ``recipe`` (the paper's ``--preset``) and
        ``classifier`` (the structural name of the head).
    """
    side = spec.entry.input_shape[-1]
    if side >= 224:
        dataset, crop = 'imagenet', IMAGENET_CROP_PCT
    else:
        dataset, crop = 'cifar100' if classes == 100 else 'cifar10', 1.0
    mean, std = DATASET_STATS[dataset]
    return {'architecture': spec.name, 'input_size': tuple(spec.entry.input_shape[1:]),
            'mean': mean, 'std': std, 'crop_pct': crop, 'interpolation': 'bilinear',
            'num_classes': classes, 'dataset': dataset,
            'recipe': model_paper(name if isinstance(name, str) else spec) or 'ini',
            'classifier': 'output'}
