"""Parameter counts and a per-block summary of a model, without initialising it.

Shapes come from the symbolic graph (``infer_shape``), so a model straight from
:func:`ini_gluon.get_model` can be counted and summarised before ``initialize()``.  Counts are
over every parameter Gluon holds, BatchNorm running statistics included.
"""
import re

import mxnet as mx
import numpy as np
from gluoncv.model_zoo.resnet import BasicBlockV1, BasicBlockV2, BottleneckV1, BottleneckV2
from mxnet.gluon import nn

from ..layers.g_filters import DILATED
from ..models import DEFAULT_INPUT_SHAPE, network_or_name
from ..models.residual import AttentionBlock

__all__ = ['param_shapes', 'named_shapes', 'count_params', 'residual_blocks', 'interaction_units',
           'summary']


def param_shapes(net, input_shape=None):
    """``{parameter name: shape}`` of every parameter of ``net`` (auxiliary states included).

    Parameters
    ----------
    net : HybridBlock
    input_shape : tuple, optional
        Defaults to ``net.input_shape`` or ``(1, 3, 32, 32)``.
    """
    input_shape = input_shape or getattr(net, 'input_shape', DEFAULT_INPUT_SHAPE)
    out = net(mx.sym.var('data'))
    if isinstance(out, (list, tuple)):        # a feature network's maps
        out = mx.sym.Group(list(out))
    return named_shapes(out, input_shape)[0]


def named_shapes(symbol, input_shape):
    """``({parameter name: shape}, output shapes)`` of ``symbol`` on ``data`` of
    ``input_shape``, from one ``infer_shape`` (auxiliary states among the parameters)."""
    arg_shapes, out_shapes, aux_shapes = symbol.infer_shape(data=tuple(input_shape))
    shapes = dict(zip(symbol.list_arguments(), arg_shapes))
    shapes.update(zip(symbol.list_auxiliary_states(), aux_shapes))
    shapes.pop('data')
    return shapes, out_shapes


def count_params(block, shapes=None, input_shape=None, classes=None):
    """Number of parameters of ``block`` (BatchNorm running statistics included).

    ``block`` is a network or a model name (built with ``classes``, by default 1000 for an
    ImageNet network, else 10, as :func:`~ini_gluon.analysis.throughput.count_flops`);
    ``shapes`` (from :func:`param_shapes` of the whole network) lets a sub-block be counted.
    """
    block = network_or_name(block, classes)
    shapes = param_shapes(block, input_shape) if shapes is None else shapes
    return int(sum(np.prod(shapes[name]) for name in block.collect_params().keys()))


def residual_blocks(net, kinds=(AttentionBlock,)):
    """``[(label, block)]`` of every residual block of ``net`` (an instance of ``kinds``, by
    default the project's blocks) in order; labels are ``stage<i>.<j>`` where the block's
    prefix names its stage."""
    found, counters = [], {}

    def walk(block):
        for child in block._children.values():
            if isinstance(child, kinds):
                stage = re.search(r'(stage\d+)_', child.prefix)
                key = stage.group(1) if stage else 'block'
                counters[key] = counters.get(key, -1) + 1
                found.append(('%s.%d' % (key, counters[key]), child))
            else:
                walk(child)
    walk(net)
    return found


# GluonCV's own residual blocks (its plain and SE ImageNet ResNets: resnet50_v2, se_resnet50_v2)
GLUONCV_BLOCKS = (BasicBlockV1, BasicBlockV2, BottleneckV1, BottleneckV2)


def _gluoncv_row(label, block, shapes):
    """The summary row of a GluonCV residual block: its width, its SE (GluonCV's own, the SE
    paper's: two dense layers on the pooled output) and its parameters."""
    convs = []
    block.apply(lambda b: convs.append(b) if isinstance(b, nn.Conv2D) else None)
    shortcut = set()
    if block.downsample is not None:
        block.downsample.apply(shortcut.add)
    channels = [c._channels for c in convs if c not in shortcut][-1]
    se = block.se
    return [label, str(channels), 'se_gluoncv' if se is not None else '-'] + ['-'] * 6 + [
        '{:,}'.format(count_params(block, shapes)),
        '{:,}'.format(count_params(se, shapes)) if se is not None else '0']


def _row(label, block, shapes):
    if not isinstance(block, AttentionBlock):          # (ours derive from GluonCV's blocks)
        return _gluoncv_row(label, block, shapes)
    attn = block.attn
    info = attn.describe() if attn is not None else {'kind': '-'}
    kept = ' '.join('%s>%dx%d' % (g, s[0], s[1]) for g, s in info.get('kept', ()))
    return [label, str(block.out_channels), info['kind'], info.get('layout', '-'),
            '%dx%d' % info['map_shape'] if 'map_shape' in info else '-',
            str(info.get('num_filters', '-')), kept or '-',
            ' '.join(info.get('discarded', ())) or '-', str(info.get('group_signals', '-')),
            '{:,}'.format(count_params(block, shapes)),
            '{:,}'.format(count_params(attn, shapes)) if attn is not None else '0']


def interaction_units(net):
    """``[(path, unit, feeds the decision)]`` of every unit of ``net`` with SINet's interaction
    attributes (``groups``, ``exchange``: the SI Units and the ablation networks' units), in
    order; ``path`` is the structural name (``features.4.1``, as ``save_parameters``), and the
    last flag says whether its output is one the joint decision (eq. 2-4) takes."""
    points = set(getattr(net, 'decision_points', ()))
    found = []

    def visit(block, path, feeds):
        """``block`` at ``path``: a unit, or a container whose last child ``feeds`` the
        decision where it does."""
        if hasattr(block, 'exchange') and hasattr(block, 'groups'):
            found.append((path, block, feeds))
            return
        children = list(block._children.items())
        for i, (key, child) in enumerate(children):
            visit(child, '%s.%s' % (path, key), feeds and i == len(children) - 1)

    for key, child in net._children.items():
        if key == 'features':                  # the decision points index its children
            for i, (k, sub) in enumerate(child._children.items()):
                visit(sub, 'features.%s' % k, i in points)
        elif key != 'decision':
            visit(child, key, False)
    return found


def _interaction_table(net, shapes):
    units = interaction_units(net)
    if not units:
        return []
    rows = [['unit', 'C in -> out', 'stride', 'groups', 'exchange', 'funnel', 'decision',
             'params']]
    for path, unit, feeds in units:
        shortcut = getattr(unit, 'shortcut', False)
        rows.append([path, '%d -> %d' % (unit.in_channels, unit.out_channels), str(unit.stride),
                     str(unit.groups), ('yes' if unit.exchange else 'no') if shortcut else '-',
                     'yes' if getattr(unit, 'funnel', False) else '-',
                     'yes' if feeds else '-', '{:,}'.format(count_params(unit, shapes))])
    lines = _table(rows)
    decision = getattr(net, 'decision', None)
    if decision is not None:
        lines.append('joint decision (eq. 2-4) over %d blocks, %s channels, hidden %s: the '
                     'classifier takes %d' % (len(decision.channels),
                                              ' + '.join(map(str, decision.channels)),
                                              '/'.join(map(str, decision.hidden)),
                                              decision.out_channels))
    return lines


def _table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, '-' * len(lines[0]))
    return lines


def summary(net, input_shape=None):
    """A table, one row per residual block: attention, map layout and shape, ε, G-filter shapes
    kept (with their output shapes) and discarded, ``C^g``, parameters of the block and of its
    attention; for SINet and its ablation networks a table of their units: groups, exchanged
    shortcut, dense funnel, whether the joint decision takes the unit's output; then the total.

    Returns
    -------
    str
    """
    shapes = param_shapes(net, input_shape)
    header = ['block', 'C', 'attention', 'layout', 'map', 'eps', 'G-filters kept (-> output)',
              'discarded', 'C^g', 'params', 'attn params']
    blocks = residual_blocks(net, (AttentionBlock,) + GLUONCV_BLOCKS)
    interaction = _interaction_table(net, shapes)
    lines = _table([header] + [_row(label, block, shapes) for label, block in blocks]) \
        if blocks else [] if interaction else ['no residual block (no block with an attention '
                                               'slot)']
    lines += interaction
    total = int(sum(np.prod(s) for s in shapes.values()))
    name = getattr(net, 'model_name', net.name)
    shape = input_shape or getattr(net, 'input_shape', DEFAULT_INPUT_SHAPE)
    lines.insert(0, '%s (input %s)' % (name, 'x'.join(map(str, shape))))
    lines.append('total parameters: {:,}'.format(total))
    plans = [p for p in (getattr(getattr(b, 'attn', None), 'plan', None) for _, b in blocks)
             if p is not None]                  # the InI modules' plans, block by block
    lines += _dilated_legend(plans) + _aggregation_legend(plans)
    return '\n'.join(lines)


def _aggregation_legend(plans):
    """A line saying how the maps of several kept G-filter shapes become one (eq. 10-12)."""
    found = {plan.aggregation for plan in plans if len(plan.kept) > 1}
    return [{'sum': "the kept shapes' maps averaged, each zero-filled to n_max x m_max "
                    "(aggregation 'sum', the default: the paper's counts; eq. 10-11 "
                    "concatenate them, '_concat')",
             'concat': "the kept shapes' maps concatenated along the columns (eq. 10-11, "
                       "'_concat')"}[a] for a in sorted(found)]


def _dilated_legend(plans):
    """A line per dilated G-filter shape in the ``plans``, saying what ``a x b/dN`` is."""
    dilated = {g for plan in plans for g in list(plan.discarded) + [g for g, _ in plan.kept]
               if g.dilation > 1}
    return ['%s: %dx%d kernel with dilation %d, %dx%d receptive field%s'
            % ((g, g.rows, g.cols, g.dilation) + g.field +
               ((" (Table I's dilated G-filter 'd', (5 x 5, s = 2))" if g == DILATED else ''),))
            for g in sorted(dilated)]
