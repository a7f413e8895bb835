"""A trained network for deployment (the code of ``python -m ini_gluon.export`` and of the
training scripts' ``export-final/`` and ``export-best/``).

An export folder (``--out DIR``) receives

* ``<model>-symbol.json`` + ``<model>-0000.params`` (MXNet; ``SymbolBlock.imports(...,
  ['data'])``, then ``load_parameters(...)``), whose input is **raw images**: NCHW float32
  RGB in [0, 255], resized / cropped as ``model.json`` says.  The normalisation of the
  training, ``(x / 255 - mean) / std``, is inside the graph (a ``rawinput_`` block before the
  network); the output is the logits, ``(N, classes)`` (softmax: the probabilities);
* ``classes.txt`` (one class name per line, in label order) and ``model.json`` (model name,
  input size and layout, preprocessing, class count, source checkpoint, files);
* with ``onnx``, ``<model>.onnx``, written by MXNet's own exporter (``mx.onnx``, for ONNX
  opset 13) and verified on the spot: one random batch of raw images through the exported
  MXNet files, through onnxruntime, and through the live network with the training's
  normalisation applied outside; more than 1e-4 relative difference fails and writes nothing.

Everything is written into a temporary folder beside the target and, once verified, swapped in
whole: an earlier export there is replaced entirely, a folder holding anything else is refused.
The ONNX file's weights are initializers only, not graph inputs, so that onnxruntime opens it
without a warning.  ``export_network`` exports a network (or a trained one) under a file prefix
the same way: ``ini_gluon.export(net, prefix, ...)``.
"""
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager

import mxnet as mx
import numpy as np
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..data.datasets import class_names_problem
from ..layers import portable_graph
from ..models.deploy import check_initialised
from .files import (check_utf8_path, clean_temporaries, old_name, read_json, tmp_prefix,
                    writing)
from .trained import EXPORT_PREFIX, Preprocessing, RunError, Trained, check_finite_output

__all__ = ['RawInput', 'export', 'export_network', 'export_block', 'ExportError', 'ONNX_OPSET',
           'MAX_BATCH', 'check_onnx', 'import_symbol']

# MXNet 1.9.1's ONNX converters are written for opsets 12 and 13; its exporter labels the
# graph with the installed onnx's newest opset instead (19 for onnx 1.14.1), under which
# ReduceMean / ReduceMax take their axes as an input: a graph of opset-13 nodes labelled 19 is
# refused by onnx's checker and onnxruntime.  The export is labelled with the opset it is.
ONNX_OPSET = 13
TOLERANCE = 1e-4
MAX_BATCH = 1024       # the verification runs one batch of this size


class ExportError(RuntimeError):
    """An export that does not compute what the live network computes."""


class RawInput(HybridBlock):
    """``(x - 255 mean) / (255 std)``: raw [0, 255] RGB images to the normalised input the
    network was trained on (GluonCV's ``_DefaultPreprocess`` with a run's own mean / std and
    NCHW input)."""

    def __init__(self, mean, std, **kwargs):
        super(RawInput, self).__init__(prefix=EXPORT_PREFIX, **kwargs)
        # Gluon registers an initializer per constant, named after the id of an object: when a
        # later export in the process gets a freed id, MXNet warns that it overrides the old
        # one (which nothing uses any more)
        with self.name_scope(), warnings.catch_warnings():
            warnings.filterwarnings('ignore', message=r'.*New initializer .* is\s*overriding')
            self.mean = self.params.get_constant(
                'mean', mx.nd.array(mean).reshape((1, 3, 1, 1)) * 255)
            self.std = self.params.get_constant(
                'std', mx.nd.array(std).reshape((1, 3, 1, 1)) * 255)

    def hybrid_forward(self, F, x, mean, std):
        return F.broadcast_div(F.broadcast_sub(x, mean), std)


def export_block(path, block, data_shape, epoch=0, preprocess=None, layout='CHW', ctx=None):
    """GluonCV's ``export_block`` (``path-symbol.json`` and ``path-%04d.params`` of ``block``
    with the ``preprocess`` block before it, for NCHW inputs of ``data_shape`` ``(3, H, W)``)
    that leaves ``block`` as it was: GluonCV's hybridizes it and moves its parameters to
    ``ctx``; this one traces the graph without touching its state (``ctx`` is unused: the
    parameters stay where they are).  The graph is the formulation in force: call it under
    :func:`~ini_gluon.layers.portable_graph`."""
    if layout != 'CHW':
        raise ValueError('layout CHW only, not %r' % (layout,))
    wrapper = nn.HybridSequential(prefix='')
    where = next(iter(block.collect_params().values())).list_ctx()[0]
    if preprocess is not None:
        preprocess.initialize(ctx=where)
        wrapper.add(preprocess)
    wrapper.add(block)
    try:
        wrapper._build_cache(mx.nd.zeros((1,) + tuple(data_shape), ctx=where))
        HybridBlock.export(wrapper, path, epoch)
    finally:
        wrapper._clear_cached_op()


def import_symbol(symbol_file, param_file, ctx=None):
    """An exported network as a ``SymbolBlock`` (``SymbolBlock.imports`` without its warning
    that it "cannot decide type" of the input): the input ``data`` is float32."""
    net = mx.gluon.SymbolBlock.imports(symbol_file, ['data'])     # the input typed float32
    net.load_parameters(param_file, ctx=ctx or mx.cpu())
    return net


def _flat(outputs):
    """The values of a network's output (an array, or a list of them: a feature network's) as
    one flat float64 numpy vector."""
    if isinstance(outputs, (list, tuple)):
        return np.concatenate([_flat(o) for o in outputs])
    return np.asarray(outputs.asnumpy() if hasattr(outputs, 'asnumpy') else outputs,
                      np.float64).ravel()


def _relative(ours, theirs):
    return float(np.abs(ours - theirs).max() / max(float(np.abs(ours).max()), 1e-12))


def _check(what, reference, output):
    error = _relative(reference, output)
    if not error <= TOLERANCE:
        raise ExportError('%s differs from the live network by %.3g relative (more than %g): '
                          'nothing written' % (what, error, TOLERANCE))
    return error


@contextmanager
def _onnx_opset(version):
    """MXNet's exporter (and onnx's checker inside it) at ``version``; see :data:`ONNX_OPSET`."""
    import onnx.checker
    import onnx.defs
    newest, context = onnx.defs.onnx_opset_version, onnx.checker.DEFAULT_CONTEXT
    imports = dict(context.opset_imports)
    onnx.defs.onnx_opset_version = lambda: version
    context.opset_imports = dict(imports, **{'': version})
    try:
        yield
    finally:
        onnx.defs.onnx_opset_version = newest
        context.opset_imports = imports


def check_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise RunError('--onnx needs onnx==1.14.1 and onnxruntime (%s): pip install -e '
                       '\'.[onnx]\'' % err)


def _write_onnx(prefix, path, shape, dynamic):
    import onnx
    with _onnx_opset(ONNX_OPSET):
        mx.onnx.export_model(prefix + '-symbol.json', prefix + '-0000.params', [shape],
                             [np.float32], path, dynamic=dynamic,
                             dynamic_input_shapes=[(None,) + shape[1:]] if dynamic else None)
    model = onnx.load(path)
    _constant_initializers(model.graph)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _constant_initializers(graph):
    """The graph's initializers (the weights) no longer listed among its inputs, and those no
    node reads removed: MXNet's exporter lists every initializer as an input, as ONNX before IR
    version 4 required (a caller could override them: onnxruntime warns once per weight that it
    cannot fold them), and leaves the ``axis`` constants of its ``Split`` nodes, which opset 13
    takes as an attribute (onnxruntime warns once for each)."""
    read = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in read]
    weights = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.input[:]
    graph.input.extend(inputs)


def _run_onnx(path, batch):
    """The outputs of the ONNX file ``path`` (onnxruntime) on ``batch``, one flat vector."""
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    return _flat(session.run(None, {session.get_inputs()[0].name: batch}))


def _model_json(trained, shape, batch, files, errors):
    p = trained.preprocessing
    raw = {'color': 'RGB', 'range': [0, 255],
           'note': 'raw images: the normalisation is inside the graph'} if p else {
        'note': "the network's own input (normalised as it was trained)"}
    return {
        'model': trained.model, 'classes': trained.classes,
        'input': dict({'name': 'data', 'shape': [None if batch == 'dynamic' else batch] +
                       list(shape[1:]), 'layout': 'NCHW', 'dtype': 'float32'}, **raw),
        'output': {'shape': ['batch', trained.classes], 'values': 'logits (softmax: the '
                                                                 'probabilities)'},
        'preprocessing': dict(p.describe(), size=p.size, inside_graph='normalisation')
        if p else None,
        'source': trained.source, 'files': files, 'verified': errors,
    }


def export(trained, out, onnx=False, batch='dynamic', seed=0):
    """Export the :class:`~ini_gluon.run.trained.Trained` network ``trained`` into the folder
    ``out`` (see the module's description); returns the ``model.json`` dict.

    Parameters
    ----------
    batch : 'dynamic' or int
        The ONNX file's batch dimension (and the verification batch: 2 for dynamic).
    """
    name = trained.model
    size = trained.preprocessing.size
    n = 2 if batch == 'dynamic' else int(batch)
    shape = (n, 3, size, size)
    check_utf8_path(out, 'the export folder')
    out = os.path.realpath(out)          # through a link: into the folder it names
    _check_out(out)
    _check_class_names(trained)
    parent, base = os.path.split(out)
    os.makedirs(parent, exist_ok=True)
    clean_temporaries(parent, 'export-%s' % base)     # left by an export that was killed
    tmp = tempfile.mkdtemp(prefix=tmp_prefix('export-%s-' % base), dir=parent)
    old = os.path.join(parent, old_name('export-%s' % base))
    try:
        _export_into(tmp, trained, name, shape, onnx, batch, seed)
        # the whole folder is swapped in: never a mix of two exports, nothing of an earlier one
        # left (its .onnx beside new weights)
        if os.path.isdir(out):
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    with open(os.path.join(out, 'model.json')) as f:
        return json.load(f)


def _check_out(out):
    """``out`` is new, empty, or an earlier export (its files are what its ``model.json``
    lists): a folder holding anything else is the user's, and is not replaced."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunError('--out %s is a file, not a folder' % out)
    if not os.path.isdir(out) or not os.listdir(out):
        return
    try:
        ours = set(read_json(os.path.join(out, 'model.json'), 'export description')['files']
                   .values())
    except (ValueError, KeyError, TypeError, AttributeError):     # not an export's
        ours = set()
    others = sorted(set(os.listdir(out)) - ours)
    if others:
        raise RunError('--out %s holds files that are not an earlier export (%s): give a new or '
                       'empty folder, or the folder of an earlier export, which is replaced'
                       % (out, ', '.join(others[:3]) + (', ...' if len(others) > 3 else '')))


def _check_class_names(trained):
    """Class names ``classes.txt`` can hold one per line, as many as the network's outputs."""
    problem = class_names_problem(trained.class_names)
    if problem or len(trained.class_names) != trained.classes:
        raise RunError('%s cannot be exported: %s' % (trained.model, problem or '%d class '
                       'names for %d classes' % (len(trained.class_names), trained.classes)))


def _export_into(tmp, trained, name, shape, onnx, batch, seed):
    trained.net.collect_params().reset_ctx(mx.cpu())     # exported from the CPU
    files = {'symbol': name + '-symbol.json', 'params': name + '-0000.params',
             'classes': 'classes.txt', 'model': 'model.json'}
    if onnx:
        files['onnx'] = name + '.onnx'
    errors = _write_verified(os.path.join(tmp, name), trained, shape, onnx, batch == 'dynamic',
                             seed)
    with open(os.path.join(tmp, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write(''.join('%s\n' % c for c in trained.class_names))
    with open(os.path.join(tmp, 'model.json'), 'w') as f:
        json.dump(_model_json(trained, shape, batch, files, errors), f, indent=1)
    return files


def _params_ctx(net):
    return next(iter(net.collect_params().values())).list_ctx()[0]


def _write_verified(prefix, trained, shape, onnx, dynamic, seed):
    """Write ``prefix-symbol.json``, ``prefix-0000.params`` and with ``onnx`` ``prefix.onnx``
    of ``trained.net`` (the portable graph, its preprocessing inside: raw images in; ``None``:
    the network's own input) and check them against the live network on one random batch of
    ``shape``; returns the relative differences, ``{'mxnet': ..., 'onnx': ...}``."""
    net, p = trained.net, trained.preprocessing
    ctx = _params_ctx(net)
    rng = np.random.RandomState(seed)
    if p is None:
        raw = rng.normal(size=shape).astype(np.float32)
        data = mx.nd.array(raw, ctx=ctx)
    else:
        raw = rng.uniform(0, 255, size=shape).astype(np.float32)
        data = p.normalise(mx.nd.array(raw)).as_in_context(ctx)
    outputs = net(data)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    check_finite_output(trained, np.concatenate([o.asnumpy().reshape(shape[0], -1)
                                                 for o in outputs], axis=1),
                        'the output on the verification batch')
    reference = _flat(outputs)
    # a graph every runtime converts and any device runs
    with portable_graph(), writing(prefix + '-0000.params'):    # a failed write: OSError
        export_block(prefix, net, data_shape=shape[1:], epoch=0, ctx=ctx,
                     preprocess=None if p is None else RawInput(p.mean, p.std))
    imported = import_symbol(prefix + '-symbol.json', prefix + '-0000.params')
    errors = {'mxnet': _check('the exported symbol', reference,
                              _flat(imported(mx.nd.array(raw))))}
    if onnx:
        path = prefix + '.onnx'
        _write_onnx(prefix, path, shape, dynamic)
        errors['onnx'] = _check('the ONNX file (onnxruntime)', reference, _run_onnx(path, raw))
    return errors


def _exportable(model, mean, std):
    """``model`` (a network or a :class:`~ini_gluon.run.trained.Trained`) as a ``Trained``
    whose preprocessing is ``mean`` and ``std`` (``None``: the run's for a ``Trained``, none
    for a network)."""
    if isinstance(model, Trained):
        if mean is not None or std is not None:
            raise ValueError('%s carries its run\'s normalisation: give no mean or std'
                             % model.model)
        return model
    if not isinstance(model, HybridBlock):
        raise ValueError('expected a network (a HybridBlock) or a Trained, not %s'
                         % type(model).__name__)
    name = getattr(model, 'model_name', model.name)
    check_initialised(model)
    if (mean is None) != (std is None):
        raise ValueError('give both mean and std (the normalisation put inside the graph), or '
                         'neither')
    side = getattr(model, 'input_shape', (1, 3, 32, 32))[-1]
    p = None
    if mean is not None:
        p = Preprocessing(side, None, _channels('mean', mean), _channels('std', std))
        if not all(v > 0 for v in p.std):
            raise ValueError('std must be 3 positive numbers, not %s' % (list(std),))
    cfg = getattr(model, 'default_cfg', {})
    return Trained(model, name, cfg.get('num_classes'), None, p, None,
                   {'run': None, 'which': None, 'epoch': None,
                    'params': 'of the network %s as given' % name})


def _channels(what, values):
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        values = []
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ValueError('%s must be 3 numbers (R, G, B, in [0, 1] units)' % what)
    return values


def export_network(model, prefix, onnx=False, mean=None, std=None, batch='dynamic', seed=0):
    """Export a network for deployment, verified: ``ini_gluon.export(net, prefix, ...)``.

    Writes ``<prefix>-symbol.json`` and ``<prefix>-0000.params`` (and, with ``onnx``,
    ``<prefix>.onnx``, ONNX opset 13): the portable graph of the network, with the
    normalisation inside where one is given, checked on one random batch through the exported
    MXNet files and onnxruntime against the live network (more than 1e-4 relative difference:
    :class:`ExportError`, nothing written).  Files of those names are replaced; the network is
    left as it was (its device, its hybridization).

    Parameters
    ----------
    model : HybridBlock or Trained
        A network (``get_model``'s, initialised, or any Gluon ``HybridBlock`` with
        ``input_shape``), or a trained one (:func:`~ini_gluon.run.trained.open_run`), whose
        run's normalisation goes inside the graph.
    prefix : str
        ``'out/model'``: the folder (created if absent) and the files' stem.
    onnx : bool, default False
        Also write the ONNX file (needs ``onnx==1.14.1`` and ``onnxruntime``).
    mean, std : sequence of 3 floats, optional
        For a network: the normalisation ``(x / 255 - mean) / std`` to put inside the graph,
        in [0, 1] units per RGB channel, so that the export takes raw [0, 255] images (the
        network's ``default_cfg['mean']``, ``['std']`` are its paper's data set's); without,
        the export takes what the network takes.
    batch : 'dynamic' or int
        The ONNX file's batch dimension (and the verification batch: 2 for dynamic).

    Returns
    -------
    dict
        What the command's ``model.json`` holds: ``model``, ``input`` (name, shape, layout,
        range), ``preprocessing``, ``files`` (the paths written), ``verified`` (the relative
        differences), ``source``.
    """
    trained = _exportable(model, mean, std)
    if batch != 'dynamic' and not (isinstance(batch, int) and 1 <= batch <= MAX_BATCH):
        raise ValueError("batch must be 'dynamic' or a batch size from 1 to %d, not %r"
                         % (MAX_BATCH, batch))
    folder, name = os.path.split(os.path.abspath(prefix))
    if not name or str(prefix).endswith(os.sep):
        raise ValueError('prefix %r names a folder: give the files\' stem too, as in '
                         '\'out/model\'' % (prefix,))
    if onnx:
        check_onnx()
    n = 2 if batch == 'dynamic' else batch
    side = trained.preprocessing.size if trained.preprocessing else \
        getattr(trained.net, 'input_shape', (1, 3, 32, 32))[-1]
    shape = (n, 3, side, side)
    os.makedirs(folder, exist_ok=True)
    clean_temporaries(folder, 'export-%s' % name)
    tmp = tempfile.mkdtemp(prefix=tmp_prefix('export-%s-' % name), dir=folder)
    try:
        errors = _write_verified(os.path.join(tmp, name), trained, shape, onnx,
                                 batch == 'dynamic', seed)
        files = {'symbol': name + '-symbol.json', 'params': name + '-0000.params'}
        if onnx:
            files['onnx'] = name + '.onnx'
        for key, f in sorted(files.items()):
            os.replace(os.path.join(tmp, f), os.path.join(folder, f))
            files[key] = os.path.join(folder, f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _model_json(trained, shape, batch, files, errors)
