"""A trained network for deployment (the code of ``python -m ini_gluon.export`` and of the
training scripts' ``export-final/`` and ``export-best/``).

An export folder (``--out DIR``) receives

* ``<model>-symbol.json`` + ``<model>-0000.params`` (MXNet; ``SymbolBlock.imports(...,
  ['data'], ...)``), whose input is **raw images**: NCHW float32 RGB in [0, 255], resized /
  cropped as ``model.json`` says.  The normalisation of the training, ``(x / 255 - mean) /
  std``, is inside the graph (a ``rawinput_`` block before the network); the output is the
  logits, ``(N, classes)`` (softmax: the probabilities);
* ``classes.txt`` (one class name per line, in label order) and ``model.json`` (model name,
  input size and layout, preprocessing, class count, source checkpoint, files);
* with ``onnx``, ``<model>.onnx``, written by MXNet's own exporter (``mx.onnx``, for ONNX
  opset 13) and verified on the spot: one random batch of raw images through the exported
  MXNet files, through onnxruntime, and through the live network with the training's
  normalisation applied outside; more than 1e-4 relative difference fails and writes nothing.

Everything is written into a temporary folder beside the target and, once verified, swapped in
whole: an earlier export there is replaced entirely, a folder holding anything else is refused.
"""
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager

import mxnet as mx
import numpy as np
from mxnet.gluon.block import HybridBlock
from gluoncv.utils import export_block

from ..data.datasets import class_names_problem
from ..layers import portable_graph
from .files import (check_utf8_path, clean_temporaries, old_name, read_json, tmp_prefix,
                    write_failure, writing)
from .trained import EXPORT_PREFIX, RunError, check_finite_output

__all__ = ['RawInput', 'export', 'ExportError', 'ONNX_OPSET', 'MAX_BATCH', 'check_onnx']

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
        with self.name_scope():
            self.mean = self.params.get_constant(
                'mean', mx.nd.array(mean).reshape((1, 3, 1, 1)) * 255)
            self.std = self.params.get_constant(
                'std', mx.nd.array(std).reshape((1, 3, 1, 1)) * 255)

    def hybrid_forward(self, F, x, mean, std):
        return F.broadcast_div(F.broadcast_sub(x, mean), std)


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
    onnx.checker.check_model(onnx.load(path))


def _run_onnx(path, batch):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3      # not the initializer-as-input notes of every parameter
    session = onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def _model_json(trained, shape, batch, files, errors):
    p = trained.preprocessing
    return {
        'model': trained.model, 'classes': trained.classes,
        'input': {'name': 'data', 'shape': [None if batch == 'dynamic' else batch] +
                  list(shape[1:]), 'layout': 'NCHW',
                  'dtype': 'float32', 'color': 'RGB', 'range': [0, 255],
                  'note': 'raw images: the normalisation is inside the graph'},
        'output': {'shape': ['batch', trained.classes], 'values': 'logits (softmax: the '
                                                                 'probabilities)'},
        'preprocessing': dict(p.describe(), size=p.size, inside_graph='normalisation'),
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
    prefix = os.path.join(tmp, name)
    trained.net.collect_params().reset_ctx(mx.cpu())     # export_block exports from the CPU
    raw = np.random.RandomState(seed).uniform(0, 255, size=shape).astype(np.float32)
    reference = check_finite_output(trained, trained.net(trained.preprocessing.normalise(
        mx.nd.array(raw))).asnumpy(), 'the output on the verification batch')
    raw_input = RawInput(trained.preprocessing.mean, trained.preprocessing.std)
    # a graph every runtime converts and any device runs
    with portable_graph(), writing(prefix + '-0000.params'):
        try:
            export_block(prefix, trained.net, data_shape=shape[1:], epoch=0,
                         preprocess=raw_input, layout='CHW', ctx=mx.cpu())
        except RuntimeError as err:     # GluonCV re-raises MXNet's failed write as this
            raise write_failure(prefix + '-0000.params', err) from err
    files = {'symbol': name + '-symbol.json', 'params': name + '-0000.params',
             'classes': 'classes.txt', 'model': 'model.json'}
    with warnings.catch_warnings():     # imports cannot infer the type of 'data': float32
        warnings.simplefilter('ignore', UserWarning)
        imported = mx.gluon.SymbolBlock.imports(prefix + '-symbol.json', ['data'],
                                                prefix + '-0000.params', ctx=mx.cpu())
    errors = {'mxnet': _check('the exported symbol', reference,
                              imported(mx.nd.array(raw)).asnumpy())}
    if onnx:
        files['onnx'] = name + '.onnx'
        path = os.path.join(tmp, files['onnx'])
        _write_onnx(prefix, path, shape, batch == 'dynamic')
        errors['onnx'] = _check('the ONNX file (onnxruntime)', reference, _run_onnx(path, raw))
    with open(os.path.join(tmp, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write(''.join('%s\n' % c for c in trained.class_names))
    with open(os.path.join(tmp, 'model.json'), 'w') as f:
        json.dump(_model_json(trained, shape, batch, files, errors), f, indent=1)
    return files
