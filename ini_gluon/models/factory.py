"""Building a model by name: :func:`get_model` (GluonCV's keywords, nothing downloaded), the
plan of the GluonCV weights it loads, and the classes of a head none are given for."""
import re

from mxnet import gluon

from ..layers.create_attn import attention_options
from . import weights
from .cfg import built_classes, default_cfg
from .deploy import attach_export
from .families import format_backbone
from .features import features_net
from .names import check_attention
from .residual import check_blocks
from .suggest import resolve_model_name

__all__ = ['get_model', 'default_classes', 'network_or_name']


def default_classes(input_side):
    """The classes of a head when none are given: 1000 for ImageNet-sized inputs (``input_side``
    224 or more), else 10."""
    return 1000 if input_side >= 224 else 10


def network_or_name(net, classes=None, input_side=None, kind=None):
    """``net`` itself where it is a network (an instance of ``kind``, by default a Gluon
    ``Block``), or the model of that name built with ``classes`` (by default
    :func:`default_classes` of ``input_side``, else of the model's registered input); any other
    value is a one-line ``ValueError``."""
    kind = kind or gluon.Block
    if isinstance(net, str):
        side = input_side or resolve_model_name(net).entry.input_shape[-1]
        return get_model(net, classes=classes or default_classes(side))
    if not isinstance(net, kind):
        raise ValueError('expected a network (a %s) or a model name, not %s'
                         % (kind.__name__, type(net).__name__))
    return net


def get_model(name, pretrained=False, ctx=None, root=None, pretrained_base=False,
              features_only=False, out_indices=None, **kwargs):
    """Build a model by name or :class:`ModelSpec`; GluonCV's ``get_model`` keywords are
    taken, and nothing is ever downloaded.

    Parameters
    ----------
    name : str or ModelSpec
        E.g. ``'ini_wrn28_10_mix5d'``, ``'se_resnet164'``, ``'cmpe_se_3x3_wrn28_10'``,
        ``'cbam_resnet50_v1'``, ``'ini_allcnn_square3'``.
    pretrained : bool or str, default False
        GluonCV's published weights of the whole model, which exist for the plain ImageNet
        ResNets only (``resnet50_v1``, GluonCV's own model): read from GluonCV's cache in
        ``root`` (a string: GluonCV's hash tag of another version of the file), the classifier
        included (``classes`` must be 1000).  No weights are published for the attention models
        (nor by GluonCV for its SE-ResNets): ``ValueError`` saying what to do instead
        (``pretrained_base=True``, or a run's parameters).
    ctx : Context or list of Context, default ``mx.cpu()``
        Where the loaded (and the rest, initialised) parameters go; unused when nothing is
        loaded (the net is returned uninitialised: give ``ctx`` to ``net.initialize``).
    root : str, optional
        GluonCV's model folder, ``~`` expanded; by default GluonCV's own:
        ``$MXNET_HOME/models`` where ``MXNET_HOME`` is set, else ``~/.mxnet/models``.  A file
        that is not there is a ``ValueError`` naming it (GluonCV's file name:
        ``<name>-<short hash>.params``).
    pretrained_base : bool, default False
        For the ImageNet backbones: GluonCV's ImageNet ``resnet<depth>_v<version>`` of the same
        depth and version into every backbone parameter (checked both ways: each of GluonCV's
        parameters finds its place and each of ours that is not attention is loaded, or
        ``ValueError`` naming the mismatch, nothing loaded).  The classifier is loaded too
        where ``classes`` is 1000; for another class count the output layer is new, as in
        GluonCV's fine-tuning.  A CIFAR backbone has no ImageNet weights: ``ValueError``.
        (GluonCV's default differs per model; here it is ``False``: nothing is downloaded.)
    features_only : bool, default False
        timm's ``features_only``: the network returns the feature maps of its backbone's
        stages (:mod:`~ini_gluon.models.features`: the stem where it reduces the resolution,
        then each stage), a list of ``(N, C, H, W)`` arrays, instead of the logits; the head is
        not built into it.  ``net.feature_info`` says each output's module, channels and
        reduction.
    out_indices : tuple of int, optional
        With ``features_only``: the stages returned, in this order (negative indices count
        from the last); by default all.
    **kwargs
        Passed to the backbone constructor (``classes``, ``drop_rate``, ``norm_layer``, ...),
        except the attention options (those any registered attention type takes:
        ``g_filters``, ``joint``, ``aggregation``, ``layout``, ``reduction``, ``map_cols``,
        ``spatial``, ...), which override those of the name: the model is then the one whose
        name spells them (``get_model('ini_wrn16_4_mix5d', reduction=8).model_name`` is
        ``'ini_wrn16_4_mix5d_t8'``).

    Returns
    -------
    HybridBlock
        Not initialised, as GluonCV's models, unless weights were loaded (``pretrained``,
        ``pretrained_base``): then initialised on ``ctx``, every parameter not loaded with its
        own initializer (BatchNorm's ones and zeros) or Xavier's -- do not call
        ``net.initialize`` on it (Gluon warns for each parameter and keeps it;
        ``force_reinit=True`` would discard the weights).  ``net.model_spec`` is the spec it was
        built from, ``net.model_name`` its canonical name, ``net.model_spec.name`` (an alias
        resolved, keyword overrides spelled); ``net.input_shape`` the input of one image,
        ``(1, 3, H, W)``; ``net.default_cfg`` what it expects (timm's ``pretrained_cfg``:
        :func:`~ini_gluon.models.cfg.default_cfg`); ``net.export(path, epoch=0)`` writes the
        portable graph (:mod:`~ini_gluon.models.deploy`), which MXNet's ONNX exporter converts,
        whatever the device it was traced on.

    Raises
    ------
    ValueError
        For an unknown or malformed name (naming the closest valid names), or a configuration
        that cannot be built (naming the block and the shapes), or weights that cannot be
        loaded (naming the file or the parameters).
    """
    spec = resolve_model_name(name)
    ctx = weights.check_ctx(ctx)
    if not isinstance(features_only, bool):
        raise ValueError('features_only must be True or False, not %r' % (features_only,))
    if out_indices is not None and not features_only:
        raise ValueError('cannot build %r: out_indices needs features_only=True' % (
            name if isinstance(name, str) else spec.name,))
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in attention_options()}
    try:
        if options and spec.attn is None:
            raise ValueError('the plain backbone takes no attention options (%s)'
                             % ', '.join(sorted(options)))
        if options:
            spec = spec._replace(attn=spec.attn._replace(**options))
        classes = kwargs.get('classes', 1)
        if not (isinstance(classes, int) and not isinstance(classes, bool) and classes >= 1):
            raise ValueError('classes must be a positive integer, not %r' % (classes,))
        named = sorted(set(spec.kwargs) & set(kwargs))
        if named:
            raise ValueError('%s belong%s in the name (%s), not in the keyword arguments'
                             % (', '.join(named), 's' if len(named) == 1 else '', spec.name))
        check_attention(spec.entry, spec.attn)
        check_blocks(spec.attn, spec.blocks())
        plan = _weights_plan(spec, pretrained, pretrained_base, root)
        net = _build(spec, kwargs)
    except ValueError as err:
        raise ValueError('cannot build %r%s: %s' % (
            name if isinstance(name, str) else spec.name,
            ' with %s' % ', '.join('%s=%r' % kv for kv in sorted(options.items()))
            if options else '', err))
    if plan is not None:
        gluoncv_name, path, whole = plan
        left = weights.load_gluoncv(net, gluoncv_name, path, ctx, spec.name, whole=whole)
        weights.initialize_rest(net, left, ctx)
        if whole:
            weights.imagenet_attributes(net)
    return _finish(net, spec, name, built_classes(spec, kwargs), features_only, out_indices)


def _finish(net, spec, name, classes, features_only, out_indices):
    """The network of ``spec`` (asked for as ``name``) with the attributes every built network
    has, as a :class:`~ini_gluon.models.features.FeatureNet` of the stages ``out_indices``
    where ``features_only``."""
    net.input_shape = spec.entry.input_shape
    cfg = default_cfg(spec, name, classes)
    if features_only:
        try:
            net = features_net(net, out_indices, spec.name)
        except ValueError as err:
            raise ValueError('cannot build %r with features_only=True: %s' % (spec.name, err))
        net.input_shape = spec.entry.input_shape
        cfg = dict(cfg, num_classes=None, classifier=None, features_only=True)
    net.model_name = spec.name
    net.model_spec = spec
    net.default_cfg = cfg
    return attach_export(net)


def _weights_plan(spec, pretrained, pretrained_base, root):
    """``(GluonCV's model, file, whole)`` of the weights to load, ``None`` for none; raises
    ``ValueError`` saying why they cannot be (no such weights, the file is not there)."""
    if not isinstance(pretrained, (bool, str)):
        raise ValueError('pretrained must be True, False or a GluonCV hash tag, not %r'
                         % (pretrained,))
    if not isinstance(pretrained_base, bool):
        raise ValueError('pretrained_base must be True or False, not %r' % (pretrained_base,))
    root = weights.gluoncv_root(root)
    if not pretrained and not pretrained_base:
        return None
    template = spec.entry.imagenet_weights
    base = template.format(**spec.kwargs) if template else None
    if pretrained:
        if spec.attn is not None or base is None:
            instead = ('pretrained_base=True loads GluonCV\'s ImageNet %s into its backbone '
                       '(the attention initialised), or ' % base if base and spec.attn else
                       'train it, or ')
            raise ValueError(
                'pretrained=True: no weights are published for %s (GluonCV publishes ImageNet '
                'weights for its plain ResNets only; this project publishes none): %sload a '
                "run's parameters: net.load_parameters('<save-dir>/%s-best.params')"
                % (spec.name, instead, spec.name))
    elif base is None:
        raise ValueError(
            'pretrained_base=True: GluonCV has no ImageNet weights for the %sbackbone %s '
            '(only its ImageNet ResNets, resnet<depth>_v1/_v2, have them): train it from '
            'scratch (net.initialize)' % ('CIFAR ' if spec.entry.input_shape[-1] <= 32 else '',
                                          format_backbone(spec.entry, spec.kwargs)))
    path, exists = weights.gluoncv_file(base, root,
                                        tag=pretrained if isinstance(pretrained, str) else None)
    if not exists:
        raise ValueError(weights.missing_file_message(base, path))
    return base, path, bool(pretrained)


def _build(spec, kwargs):
    try:
        return spec.entry.build(attn=spec.attn, **dict(spec.kwargs, **kwargs))
    except TypeError as err:
        if 'unexpected keyword argument' not in str(err) and \
                'multiple values for keyword argument' not in str(err):
            raise
        unknown = re.search(r"argument '(\w+)'", str(err))
        raise ValueError('%s takes no keyword %s' % (spec.entry.key, unknown.group(1)
                                                     if unknown else str(err)))
