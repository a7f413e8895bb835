"""What Inner-Imaging costs over SE and the plain backbone: throughput, memory, module share.

``python benchmarks/throughput.py`` (about 70 minutes on 2 cores) writes ``docs/benchmarks.md``
(``--quick``: the targets on ResNet-164 and WRN-16-8 alone, printed, in under 4 minutes):

* backbones ``wrn16_8`` at 32x32, batch 64, ``resnet164`` at 32x32, batch 32 (64 does not fit
  in 24 GiB with five models alive); ``resnet50_v2`` at 224x224, batch 8; each plain, ``se_``,
  ``cmpe_se_3x3_``, ``ini_*_square3``, ``ini_*_mix5d``;
* results are saved to ``docs/benchmarks.json`` after each backbone; a second run measures
  only the backbones missing there (delete it to measure afresh);
* training throughput (forward + backward + Nesterov SGD update, hybridized with static
  allocation) and inference throughput (hybridized), medians of models interleaved and
  repeated in one process (``ini_gluon.analysis.throughput.measure``);
* hybridized over imperative training throughput, the two timed alternately;
* peak resident memory (``VmHWM``) of 2 training steps, each model in a fresh process of its
  own (``python -m ini_gluon.memory``);
* the attention's share of the training step: ``1 - plain / model`` step time;
* a per-operator profile (MXNet's profiler, bulk execution off) of one training and one
  inference step of the plain, SE and InI mix-5-d models of ``resnet164`` and ``wrn16_8``:
  where the time goes;
* the formulations the fast ones replaced, version by version, on ResNet-56 and WRN-16-8.

Timings are wall-clock on whatever machine runs it; the ratios are what the targets are about.
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import mxnet as mx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ini_gluon._argparse import positive_int  # noqa: E402
from ini_gluon.analysis.throughput import (Bench, interleaved, measure,  # noqa: E402
                                           peak_training_memory)
from ini_gluon.analysis.inspect import attention_layers  # noqa: E402
from ini_gluon.layers import formulation, portable_graph  # noqa: E402
from ini_gluon.models import get_model  # noqa: E402

# ResNet-164 at batch 32, not 64: five ResNet-164 held at once for interleaving, each with its
# static training buffers, exceed this machine's 24 GiB at batch 64 (the kernel's OOM killer
# ended the first run).
BACKBONES = [('wrn16_8', 32, 64), ('resnet164', 32, 32), ('resnet50_v2', 224, 8)]


def variants(backbone):
    return [backbone, 'se_' + backbone, 'cmpe_se_3x3_' + backbone,
            _ini(backbone, 'square3'), _ini(backbone, 'mix5d')]


def _ini(backbone, g_set):
    return 'ini_%s_%s' % (backbone, g_set)


def _setting(backbone, table=None):
    """``(size, batch)`` of ``backbone`` in ``table`` (default ``BACKBONES``)."""
    return [(sz, b) for name, sz, b in (table or BACKBONES) if name == backbone][0]


def _trio(backbone):
    """The plain, SE and InI mix-5-d models of ``backbone``."""
    return [backbone, 'se_' + backbone, _ini(backbone, 'mix5d')]


def _classes(size):
    return 1000 if size >= 224 else 10


def peak_memory(name, size, batch):
    """Peak resident memory (MiB) of a fresh process that builds ``name`` and runs 2 training
    steps (its own ``VmHWM``: :mod:`ini_gluon.memory`)."""
    return peak_training_memory(name, (3, size, size), batch, _classes(size))


def hybrid_over_imperative(name, size, batch, repeats, iters):
    """Training img/s of ``name`` hybridized over imperative: a hybridized and an imperative
    copy timed alternately, ``repeats`` times, medians (as the other ratios, measured side by
    side so that the machine's drift cancels)."""
    benches = [Bench(name, (3, size, size), batch, _classes(size), mx.cpu(), hybrid=h)
               for h in (True, False)]
    rates = [[], []]
    for _ in range(repeats):
        for bench, got in zip(benches, rates):
            got.append(bench.rate(bench.train_step, iters))
    return statistics.median(rates[0]) / statistics.median(rates[1])


def _load(path):
    if not os.path.exists(path):
        return {'results': []}
    with open(path) as f:
        return json.load(f)


def _save(path, saved):
    """Write the JSON cache atomically: an interrupted run leaves the previous file."""
    with open(path + '.tmp', 'w') as f:
        json.dump(saved, f, indent=1)
    os.replace(path + '.tmp', path)


def run(repeats, iters, path):
    """Measure every backbone not yet in the JSON file ``path``, saving after each one."""
    saved = _load(path)
    for backbone, size, batch in BACKBONES:
        if any(r['backbone'] == backbone for r in saved['results']):
            continue
        # one process per backbone: MXNet's memory pool never returns what a backbone used
        tic = time.time()
        out = subprocess.run([sys.executable, __file__, '--backbone-child', backbone,
                              '--repeats', str(repeats), '--iters', str(iters)],
                             capture_output=True, text=True)
        if out.returncode:
            print('%s failed (exit %d): %s' % (backbone, out.returncode, out.stderr[-500:]),
                  file=sys.stderr, flush=True)
            continue
        saved['results'] += json.loads(out.stdout.strip().splitlines()[-1])
        saved.update(machine=machine(), repeats=repeats, iters=iters)
        _save(path, saved)
        print('%s done in %.0f s' % (backbone, time.time() - tic), file=sys.stderr, flush=True)
    return saved['results']


def _backbone_child(backbone, repeats, iters, quick=False):
    """The rows of ``backbone``'s models; ``quick``: the plain, SE and InI mix-5-d models
    only, without the imperative timing."""
    size, batch = _setting(backbone)
    names = _trio(backbone) if quick else variants(backbone)
    train, infer = measure(names, (3, size, size), batch, _classes(size), repeats, iters)
    rows = [{'backbone': backbone, 'model': name, 'size': size, 'batch': batch,
             'train': train[name], 'infer': infer[name],
             'hybrid_over_imperative': None if quick else hybrid_over_imperative(
                 name, size, batch, repeats, iters),
             'memory_mib': peak_memory(name, size, batch)} for name in names]
    print(json.dumps(rows))


QUICK = [row for row in BACKBONES if row[0] in ('resnet164', 'wrn16_8')]


def quick(repeats, iters):
    """The targets on ResNet-164 and WRN-16-8 (plain, SE, InI mix-5-d), printed: for iterating.
    Writes nothing; the full run is the source of docs/benchmarks.md."""
    results = [row for rows in per_backbone('--backbone-child', QUICK, repeats, iters,
                                            ['--quick-child']).values() for row in rows]
    lines = ['Quick check on %s: medians of %d interleaved repeats of %d steps' % (
        machine(), repeats, iters), '', '| model | train img/s | infer img/s | peak MiB |',
        '|---|---:|---:|---:|']
    lines += ['| `%s` | %.1f | %.1f | %.0f |' % (r['model'], r['train'], r['infer'],
                                              r['memory_mib']) for r in results]
    print('\n'.join(lines + [''] + targets(results)))


PROFILED = [('resnet164', 32, 32), ('wrn16_8', 32, 64)]


def profile(backbone, steps=3):
    """Milliseconds per step of each operator, for the plain, SE and InI mix-5-d models."""
    size, batch = _setting(backbone)
    rows = {}
    # bulk execution off: otherwise MXNet reports fused segments, not operators
    env = dict(os.environ, MXNET_EXEC_BULK_EXEC_TRAIN='0', MXNET_EXEC_BULK_EXEC_INFERENCE='0')
    for name in _trio(backbone):
        out = subprocess.run([sys.executable, __file__, '--profile-of', name, '--size',
                              str(size), '--batch', str(batch), '--iters', str(steps)],
                             capture_output=True, text=True, check=True, env=env)
        rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def _profile_child(name, size, batch, steps):
    bench = Bench(name, (3, size, size), batch, _classes(size), mx.cpu())
    result = {}
    for mode, step in (('train', bench.train_step), ('infer', bench.infer_step)):
        step()
        mx.profiler.set_config(profile_all=True, aggregate_stats=True,
                               filename=os.devnull)
        mx.profiler.set_state('run')
        tic = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - tic) / steps
        mx.profiler.set_state('stop')
        stats = json.loads(mx.profiler.dumps(format='json', reset=True))['Time']
        result[mode] = {'wall_ms': 1e3 * wall, 'ops': {
            op: v['Total'] / steps for op, v in stats.get('operator', {}).items()}}
    print(json.dumps(result))


def _overhead(rows, mode, base, model, top=4):
    """``model``'s extra milliseconds per step over ``base``, and the operators that add most."""
    a, b = rows[base][mode]['ops'], rows[model][mode]['ops']
    extra = sorted(((b.get(op, 0.0) - a.get(op, 0.0), op) for op in set(a) | set(b)),
                   reverse=True)
    total = rows[model][mode]['wall_ms'] - rows[base][mode]['wall_ms']
    return '+%.0f ms, of which %s' % (total, ', '.join(
        '`%s` %+.0f' % (op, ms) for ms, op in extra[:top]))


def where_the_time_goes(profiles):
    lines = ['## Where the time goes', '',
             'One step of each model under MXNet\'s profiler (`mx.profiler`, aggregate '
             'statistics, bulk execution off so that operators are timed one by one; the wall '
             'times are therefore a little longer than in the tables above).  What each model '
             'adds to the one before it, per step:', '']
    for backbone, _, _ in PROFILED:
        rows = profiles[backbone]
        plain, se, ini = list(rows)
        for mode, label in (('train', 'training'), ('infer', 'inference')):
            lines.append('- `%s` %s: SE over plain %s; InI over SE %s.' % (
                backbone, label, _overhead(rows, mode, plain, se),
                _overhead(rows, mode, se, ini)))
    lines += ['', 'Reading these, for the CPU formulation (`ini_gluon.layers.formulation.CPU`): '
              '`Reshape` is the one reorder of U out of MKL-DNN\'s blocked layout into plain '
              '(N, C, H*W) columns, `batch_dot` the rescaling (one per block) and its backward '
              '(two per block), `dot` / `_backward_dot` the squeeze; `BatchNorm`, '
              '`_backward_BatchNorm`, the convolutions and `add_n` of the next block are slower '
              'on the plain-layout tensor the rescaling hands on than on the MKL-DNN-layout '
              'output of a convolution.  These are full-tensor passes over every block\'s '
              'output, the same for SE and InI: on ResNet-164\'s 54 thin bottleneck blocks they '
              'cost about as much as the blocks\' convolutions, which is why SE and InI stay '
              'short of 0.6x the plain ResNet-164 on this CPU; on WRN-16-8, whose step is '
              'mostly convolutions, they are a tenth of it.', '',
              'Not built: a fused squeeze-and-rescale operator loaded with `mx.library.load`.  '
              'MXNet 1.9 gives the backward pass of a library operator the forward inputs and '
              'outputs, so a fused `s o U` would keep its output alive besides U: one full '
              'tensor per block more than the columns formulation, which keeps the columns '
              'alone, against the memory target; it would still receive U in the plain layout, '
              'after the same reorder, and so save only the passes of `batch_dot`\'s backward.  '
              'Tried and not adopted: the identity first in the residual sum (MKL-DNN\'s sum '
              'takes the layout of its first operand, so the next block reads the blocked '
              'layout): faster SE-ResNet-164 inference and less memory on WRN-16-8, but a third '
              'slower SE-ResNet-8 training (the digits demo\'s size), whose last BatchNorm and '
              'pooling run their backward passes slower on the blocked layout.', '',
              'What InI adds over SE: the G-filter convolutions and their BatchNorm on the '
              'small maps (`Convolution`, `_backward_Convolution`, `BatchNorm`, '
              '`_backward_BatchNorm` in the lists above), the padding and aggregation of the '
              'shapes, and the squeeze of the identity where it cannot be handed on (the first '
              'block of a stage, after a projection; half the blocks of WRN-16-8, 3 of 54 in '
              'ResNet-164).  These are many small operators on maps of a few hundred values, so '
              'their cost is per operator, not per multiply-add.  In memory, InI keeps the ε '
              'maps of every G-filter shape for its BatchNorm\'s backward pass (eq. 5-7): the '
              'memory section below counts them.', '',
              'Hybridizing: on ResNet-164 the plain network gains most (its many cheap '
              'operators lose their Python dispatch), the attention models less, because the '
              'full-tensor passes above cost the same hybridized or not and dominate their '
              'step.  On WRN-16-8 the training step is mostly convolutions, so hybridizing has '
              'little to save there, and the ratios of its models scatter from run to run.', '']
    for backbone, _, _ in PROFILED:
        lines += render_profile(backbone, profiles[backbone])
    return lines


def render_profile(backbone, rows, top=12):
    batch = _setting(backbone)[1]
    names = list(rows)
    lines = []
    for mode, label in (('train', 'training step'), ('infer', 'inference step')):
        ops = {}
        for name in names:
            for op, ms in rows[name][mode]['ops'].items():
                ops.setdefault(op, {})[name] = ms
        order = sorted(ops, key=lambda op: -max(ops[op].values()))
        lines += ['### `%s`, batch %d: one %s, ms per operator' % (backbone, batch, label), '',
                  '| operator | ' + ' | '.join('`%s`' % n for n in names) + ' |',
                  '|---|' + '---:|' * len(names)]
        for op in order[:top]:
            lines.append('| `%s` | ' % op + ' | '.join(
                '%.1f' % ops[op].get(n, 0.0) for n in names) + ' |')
        lines.append('| other operators | ' + ' | '.join('%.1f' % sum(
            ops[op].get(n, 0.0) for op in order[top:]) for n in names) + ' |')
        lines.append('| **all operators** | ' + ' | '.join(
            '%.1f' % sum(rows[n][mode]['ops'].values()) for n in names) + ' |')
        lines.append('| wall time of the step | ' + ' | '.join(
            '%.1f' % rows[n][mode]['wall_ms'] for n in names) + ' |')
        lines.append('')
    return lines


ABLATIONS = [('resnet56', 32, 64), ('wrn16_8', 32, 64)]
VERSIONS = formulation.VERSIONS


def ablation(repeats, iters):
    """Training / inference img/s of plain, SE and InI models with each version of the
    formulations, each version in its own process."""
    rows = {}
    for backbone, _, _ in ABLATIONS:
        for v in VERSIONS:
            out = subprocess.run([sys.executable, __file__, '--ablation-child', v.name,
                                  '--backbone', backbone, '--repeats', str(repeats),
                                  '--iters', str(iters)],
                                 capture_output=True, text=True, check=True)
            rows['%s/%s' % (backbone, v.name)] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def _ablation_child(version, backbone, repeats, iters):
    size, batch = _setting(backbone, ABLATIONS)
    names = _trio(backbone)
    with formulation.use(version) as reached:
        train, infer = measure(names, (3, size, size), batch, _classes(size), repeats, iters)
    unused = reached.unused()
    if unused:    # the InI model uses every part of a formulation
        raise SystemExit('version %r: %s never called by %s' % (version, ', '.join(unused),
                                                                ', '.join(names)))
    print(json.dumps({'rates': {n: [train[n], infer[n]] for n in names},
                      'calls': reached.calls}))


# The previous formulation against the current one, interleaved in one process per backbone
PREVIOUS = 'squeeze hand-on'
REGRESSION = [('wrn16_8', 32, 64), ('resnet50_v2', 224, 8), ('resnet164', 32, 32)]


def _regression_child(backbone, repeats, iters):
    size, batch = _setting(backbone, REGRESSION)
    benches = []
    for name in _trio(backbone)[1:]:
        for label in ('current', PREVIOUS):
            # a graph keeps the functions it was traced with: Bench traces in its constructor
            with contextlib.nullcontext() if label == 'current' else formulation.use(label):
                bench = Bench(name, (3, size, size), batch, _classes(size), mx.cpu())
            benches.append(('%s/%s' % (name, label), bench))
    print(json.dumps(interleaved(benches, repeats, iters)))


def per_backbone(child_flag, table, repeats, iters, extra=()):
    """``{backbone: JSON}`` of a child process ``child_flag BACKBONE [extra]`` per row of
    ``table`` (one process each: MXNet's memory pool never returns what a backbone used)."""
    rows = {}
    for backbone, _, _ in table:
        out = subprocess.run([sys.executable, __file__, child_flag, backbone,
                              '--repeats', str(repeats), '--iters', str(iters)] + list(extra),
                             capture_output=True, text=True, check=True)
        rows[backbone] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def render_regression(rows):
    lines = ['## The current formulation against the previous one', '',
             'The SE and InI mix-5-d models of each backbone built with the current code and '
             'with version `%s` (the code before the columns formulation, below), all four '
             'timed interleaved in one process; the ratio is current / previous img/s.  '
             '`se_resnet50_v2` is GluonCV\'s own SE-ResNet, which neither version changes: '
             'its ratio is the size of this machine\'s scatter.' % PREVIOUS, '',
             '| backbone | model | train current / previous | infer current / previous |',
             '|---|---|---:|---:|']
    for backbone, size, batch in REGRESSION:
        got = rows[backbone]
        for name in _trio(backbone)[1:]:
            (t1, i1), (t0, i0) = got[name + '/current'], got['%s/%s' % (name, PREVIOUS)]
            lines.append('| `%s` %dx%d, batch %d | `%s` | %.2f | %.2f |' % (
                backbone, size, size, batch, name, t1 / t0, i1 / i0))
    return lines + ['']


# Deploying: MXNet (each formulation) and onnxruntime on the exported graph, side by side
DEPLOYED = [('resnet164', 32, 32), ('wrn16_8', 32, 64)]


def _deploy_child(backbone, repeats, iters):
    import tempfile
    import onnxruntime
    from ini_gluon.run.export import _write_onnx
    size, batch = _setting(backbone, DEPLOYED)
    data = mx.nd.random.uniform(-1, 1, shape=(batch, 3, size, size))
    steps, tmp = [], tempfile.mkdtemp()
    for name in _trio(backbone):
        nets = {}
        for label in ('cpu', 'portable'):
            net = get_model(name, classes=_classes(size))
            net.initialize(mx.init.Xavier())
            net.hybridize(static_alloc=True, static_shape=True)
            if label == 'cpu':
                net(data).wait_to_read()
            else:
                with portable_graph():
                    net(data).wait_to_read()
            nets[label] = net
        prefix = os.path.join(tmp, name)
        nets['portable'].export(prefix)
        _write_onnx(prefix, prefix + '.onnx', data.shape, False)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(prefix + '.onnx', options,
                                               providers=['CPUExecutionProvider'])
        feed = {session.get_inputs()[0].name: data.asnumpy()}
        for label, net in nets.items():
            steps.append(('%s/mxnet-%s' % (name, label),
                          lambda net=net: net(data).wait_to_read()))
        steps.append(('%s/onnxruntime' % name, lambda s=session, f=feed: s.run(None, f)))
    got = {key: [] for key, _ in steps}
    for _ in range(repeats):
        for key, step in steps:
            step()
            tic = time.perf_counter()
            for _ in range(iters):
                step()
            got[key].append(batch * iters / (time.perf_counter() - tic))
    print(json.dumps({key: statistics.median(v) for key, v in got.items()}))


def render_deployment(rows):
    lines = ['## Inference: which runtime and which formulation', '',
             'Inference img/s of each model in MXNet with the CPU formulation (what a model '
             'runs on the CPU), in MXNet with the portable one (what GPUs run and what '
             '`python -m ini_gluon.export` writes), and in onnxruntime 1.x on the exported ONNX '
             'file (CPU execution provider), all timed interleaved in one process per '
             'backbone.  Each column also as a ratio to the plain network in the same runtime.',
             '', '| backbone | model | MXNet, CPU formulation | / plain | MXNet, portable | '
             '/ plain | onnxruntime | / plain |', '|---|---|---:|---:|---:|---:|---:|---:|']
    for backbone, size, batch in DEPLOYED:
        got = rows[backbone]
        base = _trio(backbone)[0]
        for name in _trio(backbone):
            cells = []
            for runtime in ('mxnet-cpu', 'mxnet-portable', 'onnxruntime'):
                rate = got['%s/%s' % (name, runtime)]
                cells.append('%.1f | %.2f' % (rate, rate / got['%s/%s' % (base, runtime)]))
            lines.append('| `%s` %dx%d, batch %d | `%s` | %s |' % (
                backbone, size, size, batch, name, ' | '.join(cells)))
    return lines + ['']


def machine():
    features = mx.runtime.Features()
    enabled = [f for f in ('MKLDNN', 'OPENMP', 'CUDA', 'DIST_KVSTORE') if features.is_enabled(f)]
    return '%d cores (%s, %s), Python %s, MXNet %s (%s)' % (
        os.cpu_count(), platform.machine(), platform.processor() or 'unknown CPU',
        platform.python_version(), mx.__version__, ', '.join(enabled))


def _replaced(version, rows):
    """``squeeze -> pooling_squeeze`` for each part whose function a version replaces, with its
    calls while each backbone's three models were built, traced and timed."""
    parts = version.formulation.replaced(formulation.CPU)
    if not parts:
        return '- (the current code)'
    return '; '.join('`%s` -> `%s` (calls: %s)' % (
        part, getattr(version.formulation, part).__name__, ', '.join(
            '%s %d' % (b, rows['%s/%s' % (b, version.name)]['calls'][part])
            for b, _, _ in ABLATIONS)) for part in parts)


def _ini_over_se(version, rows, backbone):
    got = rows['%s/%s' % (backbone, version.name)]['rates']
    _, se, ini = (got[n] for n in _trio(backbone))
    return ini[0] / se[0], ini[1] / se[1]


def _change(before, version, rows):
    """How InI / SE moved, training and inference, from ``before`` to ``version``."""
    if before is None:
        return '-'
    parts = []
    for backbone, _, _ in ABLATIONS:
        (t0, i0), (t1, i1) = (_ini_over_se(v, rows, backbone) for v in (before, version))
        parts.append('`%s` training %.2f -> %.2f, inference %.2f -> %.2f'
                     % (backbone, t0, t1, i0, i1))
    return '; '.join(parts)


def render_ablation(rows):
    lines = ['## Versions of the formulation: what was predicted, what was measured', '',
             'Each version is a formulation made current by '
             '`ini_gluon.layers.formulation.use` (every layer reads the current one when it is '
             'built or traced), which counts the calls of each of its parts; the calls of each '
             'replacement while the three models of a backbone were built, traced and timed '
             'are listed (a version with a part never called fails the run).  '
             '`tests/test_fast_paths.py` checks that each version '
             'computes the same outputs and gradients as the current code.  A version that '
             'only replaces the ε average or the squeeze hand-on leaves the SE models\' code as '
             'it is (SE has neither).  Each row is measured in its own process with the three '
             'models of a backbone interleaved, 32x32, batch 64.', '',
             '| version | what changed | functions replaced | prediction | measured: InI / SE '
             'from the version before |', '|---|---|---|---|---|']
    for before, v in zip([None] + VERSIONS[:-1], VERSIONS):
        lines.append('| %s | %s | %s | %s | %s |' % (v.name, v.change, _replaced(v, rows),
                                                    v.prediction, _change(before, v, rows)))
    lines += ['', '| model | version | train img/s | / plain | / SE | infer img/s | / plain | '
              '/ SE |', '|---|---|---:|---:|---:|---:|---:|---:|']
    for backbone, _, _ in ABLATIONS:
        names = _trio(backbone)
        for v in VERSIONS:
            got = rows['%s/%s' % (backbone, v.name)]['rates']
            plain, se = got[names[0]], got[names[1]]
            for name in names:
                train, infer = got[name]
                lines.append('| `%s` | %s | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f |' % (
                    name, v.name, train, train / plain[0], train / se[0], infer,
                    infer / plain[1], infer / se[1]))
    return lines + ['']


MEMORY_TARGETS = {'se_over_plain': 1.3, 'ini_over_se': 1.05}


def target_rows(results):
    """``(target, measured, met)`` of every target of this benchmark that ``results`` hold."""
    get = {r['model']: r for r in results}
    rows = []

    def check(text, value, bound, low=True):
        rows.append((text, value, value >= bound if low else value <= bound))
    for backbone in ('resnet164', 'wrn16_8'):
        if not all(n in get for n in _trio(backbone)):
            continue
        plain, se, ini = (get[n] for n in _trio(backbone))
        check('`se_%s` peak training memory / plain <= %.2f' % (
            backbone, MEMORY_TARGETS['se_over_plain']),
            se['memory_mib'] / plain['memory_mib'], MEMORY_TARGETS['se_over_plain'], low=False)
        check('`%s` peak training memory / SE <= %.2f' % (
            ini['model'], MEMORY_TARGETS['ini_over_se']),
            ini['memory_mib'] / se['memory_mib'], MEMORY_TARGETS['ini_over_se'], low=False)
        # ResNet-164: the thin-block targets; WRN-16-8: those it met before, kept
        over_plain, over_se = (0.6, 0.9) if backbone == 'resnet164' else (0.75, 0.95)
        for kind in ('train', 'infer'):
            for r in (se, ini):
                check('`%s` %s / plain >= %.2f' % (r['model'], kind, over_plain),
                      r[kind] / plain[kind], over_plain)
            check('`%s` %s / SE >= %.2f' % (ini['model'], kind, over_se),
                  ini[kind] / se[kind], over_se)
    return rows


def targets(results):
    """The targets, each with the measured ratio, and what InI's memory holds."""
    return (['## Targets', '', '| target | measured | met |', '|---|---:|:---:|'] +
            ['| %s | %.2f | %s |' % (text, value, 'yes' if ok else 'no')
             for text, value, ok in target_rows(results)] + [''] + memory_accounting(results))


def g_filter_maps_mib(name, batch):
    """MiB of the ε G-filter maps of every kept shape, ``batch * ε * n * m`` float32 values per
    shape and block (InI eq. 5-7): what BatchNorm keeps of them for its backward pass."""
    from ini_gluon.layers.inner_imaging import InnerImaging

    values = sum(layer._num_filters * sum(n * m for _, (n, m) in layer.plan.kept)
                 for _, _, layer in attention_layers(get_model(name, classes=10))
                 if isinstance(layer, InnerImaging))
    return batch * values * 4 / 2.0 ** 20


def attention_inputs_mib(name, size, batch):
    """MiB of one float32 tensor of U's size per attention block (the floor of SE's memory
    over the plain network's), from the shapes a forward pass of one image gives."""
    net = get_model(name, classes=_classes(size))
    net.initialize()
    values = []
    hooks = [layer.register_forward_pre_hook(lambda b, args: values.append(args[0].size))
             for _, _, layer in attention_layers(net)]
    net(mx.nd.zeros((1, 3, size, size)))
    for h in hooks:
        h.detach()
    return batch * sum(values) * 4 / 2.0 ** 20


def memory_accounting(results):
    get = {r['model']: r for r in results}
    lines = ['What the memory targets are up against, per backbone: the floor of SE over the '
             'plain network is one tensor of U\'s size per block (the columns the '
             'rescaling\'s backward pass needs); InI adds the ε maps of every G-filter shape, '
             'which BatchNorm keeps for its backward pass (eq. 5-7; computed from each block\'s '
             'plan, float32).  MXNet\'s memory planner shares buffers between tensors whose '
             'lifetimes do not overlap, so the measured differences are not sums of these.', '',
             '| backbone | batch | SE - plain, MiB | one U per block, MiB | allowed by the '
             'target, MiB | InI - SE, MiB | G-filter maps, MiB | allowed by the target, MiB |',
             '|---|---:|---:|---:|---:|---:|---:|---:|']
    for backbone in ('resnet164', 'wrn16_8'):
        if not all(n in get for n in _trio(backbone)):
            continue
        plain, se, ini = (get[n] for n in _trio(backbone))
        lines.append('| `%s` | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |' % (
            backbone, se['batch'], se['memory_mib'] - plain['memory_mib'],
            attention_inputs_mib(se['model'], se['size'], se['batch']),
            (MEMORY_TARGETS['se_over_plain'] - 1) * plain['memory_mib'],
            ini['memory_mib'] - se['memory_mib'], g_filter_maps_mib(ini['model'], ini['batch']),
            (MEMORY_TARGETS['ini_over_se'] - 1) * se['memory_mib']))
    return lines + ['']


def render(results, repeats, iters):
    lines = ['# Benchmarks: what the attention costs', '',
             'Produced by `python benchmarks/throughput.py` on %s; medians of %d interleaved '
             'repeats of %d steps. Training: forward + backward + Nesterov SGD update, '
             'hybridized as training is (static allocation, not static shapes); inference: '
             'hybridized forward (static allocation and shapes). Memory: peak '
             'resident memory (`VmHWM`) of a fresh process of the model\'s own that builds it '
             'for training and runs 2 steps (`python -m ini_gluon.memory`). Attention share: the '
             'part of the '
             'model\'s training step time that the plain backbone does not spend, '
             '`1 - model img/s / plain img/s`.' % (machine(), repeats, iters), '']
    for backbone, size, batch in BACKBONES:
        rows = [r for r in results if r['backbone'] == backbone]
        if not rows:
            lines += ['## `%s`, %dx%d, batch %d' % (backbone, size, size, batch), '',
                      'Not measured: the run of this backbone failed (see the note below).', '']
            continue
        plain, se = rows[0], rows[1]
        lines += ['## `%s`, %dx%d, batch %d' % (backbone, size, size, batch), '',
                  '| model | train img/s | / plain | / SE | infer img/s | / plain | / SE | '
                  'hybrid / imperative | peak MiB | / SE | attention share of a step |',
                  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
        for r in rows:
            lines.append('| `%s` | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.0f | %.2f | '
                         '%.0f %% |' % (
                             r['model'], r['train'], r['train'] / plain['train'],
                             r['train'] / se['train'], r['infer'], r['infer'] / plain['infer'],
                             r['infer'] / se['infer'], r['hybrid_over_imperative'],
                             r['memory_mib'], r['memory_mib'] / se['memory_mib'],
                             100 * (1 - r['train'] / plain['train'])))
        lines.append('')
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true',
                   help='check the targets on ResNet-164 and WRN-16-8 (a few minutes); '
                        'prints, writes nothing')
    p.add_argument('--repeats', type=positive_int, default=None, help='default: 3 (--quick: 2)')
    p.add_argument('--iters', type=positive_int, default=None, help='default: 2 (--quick: 1)')
    p.add_argument('--out', default=os.path.join(ROOT, 'docs', 'benchmarks.md'))
    for hidden in ('--ablation-child', '--backbone-child', '--profile-of', '--backbone',
                   '--regression-child', '--deploy-child'):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    p.add_argument('--quick-child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--size', type=int, help=argparse.SUPPRESS)
    p.add_argument('--batch', type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    iters = args.iters if args.iters is not None else (1 if args.quick else 2)
    if args.backbone_child:
        return _backbone_child(args.backbone_child, repeats, iters, args.quick_child)
    if args.ablation_child:
        return _ablation_child(args.ablation_child, args.backbone, repeats, iters)
    if args.regression_child:
        return _regression_child(args.regression_child, repeats, iters)
    if args.deploy_child:
        return _deploy_child(args.deploy_child, repeats, iters)
    if args.profile_of:
        return _profile_child(args.profile_of, args.size, args.batch, iters)
    if args.quick:
        return quick(repeats, iters)
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        p.error('--out %s: its folder does not exist' % args.out)
    path = os.path.splitext(args.out)[0] + '.json'
    results = run(repeats, iters, path)
    saved = _load(path)
    for key, compute in (('versions', lambda: ablation(repeats, iters)),
                         ('profile', lambda: {b: profile(b) for b, _, _ in PROFILED}),
                         ('regression', lambda: per_backbone('--regression-child', REGRESSION,
                                                             repeats, iters)),
                         ('deployment', lambda: per_backbone('--deploy-child', DEPLOYED,
                                                             repeats, iters))):
        if key not in saved:
            saved[key] = compute()
            _save(path, saved)
            print('%s done' % key, file=sys.stderr, flush=True)
    text = '\n'.join([render(results, repeats, iters)] + targets(results) +
                      render_regression(saved['regression']) +
                      render_deployment(saved['deployment']) +
                      where_the_time_goes(saved['profile']) + render_ablation(saved['versions']))
    with open(args.out + '.tmp', 'w') as f:
        f.write(text)
    os.replace(args.out + '.tmp', args.out)
    print(text)


if __name__ == '__main__':
    sys.exit(main())
