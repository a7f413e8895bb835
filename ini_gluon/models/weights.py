"""GluonCV's published ImageNet weights, read from GluonCV's cache only (nothing is downloaded).

:func:`~ini_gluon.models.get_model` uses this for ``pretrained=True`` (the plain ImageNet
ResNets, GluonCV's own models) and ``pretrained_base=True`` (GluonCV's ResNet of the same depth
and version into the backbone of an attention model).  The file is GluonCV's, in GluonCV's
cache layout (``<root>/<name>-<short hash>.params``); its parameters are matched by their
structural names (``features.5.0.body.0.weight``), as Gluon's ``load_parameters`` does, and the
match is checked both ways: every parameter of the file finds a home, and every parameter of
the model that is not attention (nor, where the class counts differ, the output layer) is
loaded.  Files of MXNet's older ``save_params`` format (names without dots, relative to the
net's prefix) are read through GluonCV's own model of the same name, which maps them.  The
published files' SHA-1 is not checked (GluonCV's ``get_model_file`` would download a file that
differs); the structural check is.
"""
import os

import mxnet as mx
import numpy as np
from mxnet.gluon import Block

__all__ = ['check_ctx', 'gluoncv_root', 'gluoncv_file', 'load_gluoncv',
           'attention_param_names', 'initialize_rest', 'imagenet_attributes']

ATTENTION_ATTRS = ('attn', 'se')       # ours (AttentionBlock.attn), GluonCV's SE blocks (.se)


def check_ctx(ctx):
    """``ctx`` as a list of contexts (``None``: ``[mx.cpu()]``); raises ``ValueError``."""
    if ctx is None:
        return [mx.cpu()]
    contexts = [ctx] if isinstance(ctx, mx.Context) else ctx
    if not isinstance(contexts, (list, tuple)) or not contexts or \
            not all(isinstance(c, mx.Context) for c in contexts):
        raise ValueError('ctx must be an mx.Context or a list of them, not %r' % (ctx,))
    return list(contexts)


def gluoncv_root(root=None):
    """GluonCV's model folder: ``root`` (``~`` expanded), or by default GluonCV's own:
    ``$MXNET_HOME/models`` where ``MXNET_HOME`` is set, else ``~/.mxnet/models``."""
    if root is None:
        home = os.environ.get('MXNET_HOME')
        root = os.path.join(home, 'models') if home else os.path.join('~', '.mxnet', 'models')
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError('root must be a folder, not %r' % (root,))
    return os.path.expanduser(os.fspath(root))


def gluoncv_file(name, root=None, tag=None):
    """The path GluonCV keeps the weights of its model ``name`` at, and whether it is there:
    ``(path, exists)``.  Raises ``ValueError`` when GluonCV publishes no weights for ``name``."""
    from gluoncv.model_zoo.model_store import short_hash
    if tag is None:
        try:
            tag = short_hash(name)
        except ValueError:
            raise ValueError("GluonCV publishes no weights for %s" % name)
    path = os.path.join(gluoncv_root(root), '%s-%s.params' % (name, tag))
    return path, os.path.isfile(path)


def missing_file_message(name, path):
    """One line on a GluonCV weights file that is not where GluonCV keeps it."""
    return ("GluonCV's ImageNet weights of %s are not in %s: expected the file %s "
            "(GluonCV's cache: gluoncv.model_zoo.get_model(%r, pretrained=True, root=%r) "
            "downloads it there on a machine with internet; copy it here, or pass root= the "
            "folder that holds it); nothing is downloaded here"
            % (name, os.path.dirname(path), path, name, os.path.dirname(path)))


def _param_ids(block):
    return {id(p) for p in block.collect_params().values()}


def attention_param_names(net):
    """Structural names of the parameters of every attention layer of ``net`` (our blocks'
    ``attn``, GluonCV's SE blocks' ``se``)."""
    ids = set()

    def walk(block):
        for attr in ATTENTION_ATTRS:
            sub = getattr(block, attr, None)
            if isinstance(sub, Block):
                ids.update(_param_ids(sub))
        for child in block._children.values():
            walk(child)
    walk(net)
    return {k for k, p in net._collect_params_with_prefix().items() if id(p) in ids}


def _output_names(net):
    output = getattr(net, 'output', None)
    if not isinstance(output, Block):
        return set()
    ids = _param_ids(output)
    return {k for k, p in net._collect_params_with_prefix().items() if id(p) in ids}


def _read(path, name):
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as err:
        raise ValueError('%s is not an MXNet parameter file: %s'
                         % (path, str(err).strip().splitlines()[0]))
    if not isinstance(loaded, dict):
        raise ValueError('%s holds a list of arrays, not named parameters' % path)
    if loaded and not any('.' in k for k in loaded):
        # MXNet's older save_params: names relative to the net's prefix, mapped through
        # GluonCV's own model of that name (built without weights)
        from gluoncv.model_zoo import get_model as gluoncv_model
        ref = gluoncv_model(name)
        legacy = {p.name[len(ref.prefix):]: k
                  for k, p in ref._collect_params_with_prefix().items()}
        loaded = {legacy.get(k, k): v for k, v in loaded.items()}
    return loaded


def _brief(names, limit=3):
    names = sorted(names)
    return ', '.join(names[:limit]) + (' and %d more' % (len(names) - limit)
                                       if len(names) > limit else '')


def _fits(param, array):
    shape = param.shape or ()
    return len(shape) == len(array.shape) and all(
        s in (0, -1, a) for s, a in zip(shape, array.shape)) and \
        np.dtype(param.dtype) == np.dtype(array.dtype)


def load_gluoncv(net, name, path, ctx, model, whole=False):
    """Load GluonCV's weights file ``path`` (of its model ``name``) into ``net``.

    Parameters
    ----------
    net : Block
    name : str
        GluonCV's model the file is of (``'resnet50_v2'``).
    path : str
    ctx : Context or list of Context
    model : str
        The model's name, for the messages.
    whole : bool
        ``True`` (``pretrained=True``): every parameter of ``net`` must be in the file, the
        classifier included.  ``False`` (``pretrained_base=True``): the attention parameters
        are left out, and so is the output layer where its shape is not the file's (another
        class count).

    Returns
    -------
    set of str
        The structural names of the parameters left to be initialised.

    Raises
    ------
    ValueError
        Naming the parameters that do not match (nothing is loaded then).
    """
    loaded = _read(path, name)
    params = net._collect_params_with_prefix()
    left = set() if whole else attention_param_names(net)
    output = _output_names(net)
    if whole:
        wrong = [k for k in output if k in loaded and not _fits(params[k], loaded[k])]
        if wrong:
            raise ValueError('%s: pretrained=True keeps GluonCV\'s classifier of %d classes, '
                             'not %d: build it with classes=%d, or use pretrained_base=True, '
                             'which leaves the output layer to be initialised'
                             % (model, loaded[wrong[0]].shape[0], params[wrong[0]].shape[0],
                                loaded[wrong[0]].shape[0]))
    elif any(k in loaded and not _fits(params[k], loaded[k]) for k in output):
        left |= output                          # another class count: a new classifier
    homeless = set(loaded) - set(params)
    homeless |= {k for k in set(loaded) & left if k not in output}
    missing = set(params) - left - set(loaded)
    if homeless or missing:
        parts = []
        if homeless:
            parts.append('%d of its parameters have no place in the model (%s)'
                         % (len(homeless), _brief(homeless)))
        if missing:
            parts.append("%d of the model's %sparameters are not in it (%s)"
                         % (len(missing), '' if whole else 'backbone ', _brief(missing)))
        raise ValueError('%s does not fit %s (nothing loaded): %s'
                         % (path, model, '; '.join(parts)))
    wrong = [k for k in set(params) - left if not _fits(params[k], loaded[k])]
    if wrong:
        k = sorted(wrong)[0]
        raise ValueError('%s does not fit %s (nothing loaded): %s is %s %s there, %s %s in the '
                         'model%s' % (path, model, k, loaded[k].shape, np.dtype(loaded[k].dtype),
                                      params[k].shape, np.dtype(params[k].dtype),
                                      ' (and %d more)' % (len(wrong) - 1)
                                      if len(wrong) > 1 else ''))
    for k in set(params) - left:
        params[k]._load_init(loaded[k], ctx)
    return left


def initialize_rest(net, names, ctx, init=None):
    """Initialise the parameters ``names`` (structural) of ``net`` on ``ctx``: each with its
    own initializer where it has one (BatchNorm's ones and zeros), else ``init`` (Xavier),
    as ``net.initialize(init)`` would."""
    init = mx.init.Xavier() if init is None else init
    params = net._collect_params_with_prefix()
    for k in sorted(names):
        params[k].initialize(ctx=ctx, default_init=init)


def imagenet_attributes(net):
    """GluonCV's ``synset``, ``classes`` and ``classes_long`` of ImageNet, which its
    ``pretrained=True`` models carry."""
    from gluoncv.data import ImageNet1kAttr
    attrib = ImageNet1kAttr()
    net.synset, net.classes, net.classes_long = (attrib.synset, attrib.classes,
                                                 attrib.classes_long)
