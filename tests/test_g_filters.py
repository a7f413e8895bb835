"""G-filter sets (Table I), the discard rule, map shapes and C^g, checked against values worked
out by hand."""
import mxnet as mx
import pytest

from ini_gluon.layers import (GFilter, GFilterBank, parse_g_filters, plan_inner_imaging,
                              closest_divisor)


def shapes(spec):
    return [tuple(g) for g in parse_g_filters(spec)]


def test_table_one_sets():
    assert shapes('square1') == [(3, 3, 1)]
    assert shapes('square3') == [(1, 1, 1), (3, 3, 1), (5, 5, 1)]
    assert shapes('square5') == [(1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 4, 1), (5, 5, 1)]
    assert shapes('mix3') == [(1, 5, 1), (3, 3, 1), (5, 1, 1)]
    assert shapes('mix5') == [(1, 1, 1), (1, 5, 1), (3, 3, 1), (5, 1, 1), (5, 5, 1)]
    assert shapes('horizon4') == [(1, 1, 1), (1, 2, 1), (1, 3, 1), (1, 4, 1)]
    assert shapes('vertical3') == [(1, 1, 1), (2, 1, 1), (3, 1, 1)]
    assert shapes('simple1') == [(2, 1, 1)]
    assert shapes('simple3') == [(1, 1, 1), (2, 1, 1), (2, 2, 1)]
    assert shapes('square3d') == [(1, 1, 1), (3, 3, 1), (5, 5, 1), (3, 3, 2)]
    assert shapes('mix-5-d') == shapes('mix5d')
    assert shapes([(1, 1), (3, 3), (5, 5, 2)]) == [(1, 1, 1), (3, 3, 1), (5, 5, 2)]


def test_receptive_field_and_output_shape():
    dilated = GFilter(3, 3, 2)
    assert dilated.field == (5, 5)
    assert dilated.output_shape(20, 16) == (16, 12)
    assert GFilter(5, 5, 2).field == (9, 9)
    assert GFilter(1, 5, 1).output_shape(20, 16) == (20, 12)
    assert GFilter(2, 1, 1).output_shape(2, 64) == (1, 64)


def test_dilated_g_filter_is_a_3x3_kernel_with_dilation_2():
    """Table I's ``(5 x 5, s = 2)``; Section V-C: "5x5 receptive field, dilated rate = 2", with
    fewer parameters than a square 5x5: 9 weights."""
    (dilated,) = [g for g in parse_g_filters('mix5d') if g.dilation > 1]
    assert (dilated.rows, dilated.cols, dilated.dilation, dilated.field) == (3, 3, 2, (5, 5))
    assert parse_g_filters('square3d') == parse_g_filters('square3') + (dilated,)
    bank = GFilterBank(dilated, 2)
    bank.initialize()
    v = mx.nd.arange(25).reshape((1, 1, 5, 5))
    bank.conv.weight.set_data(mx.nd.ones((2, 1, 3, 3)))
    assert bank.conv.weight.shape == (2, 1, 3, 3)
    assert bank.conv._kwargs['dilate'] == (2, 2)
    # a 5x5 map has one 5x5 field; the kernel reads its rows and columns 0, 2, 4
    out = bank.conv(v).asnumpy()
    assert out.shape == (1, 2, 1, 1)
    assert out[0, 0, 0, 0] == sum(r * 5 + c for r in (0, 2, 4) for c in (0, 2, 4)) == 108

@pytest.mark.parametrize('bad', ['square6', 'mix0', 'd', 'mix5dd', 'horizon0', 'triangle3', [],
                                 [(3,)], [(1, 1), (1, 1)], [(1.5, 2)], [(0, 3)], [(3, 3, 0)], 7])
def test_malformed_sets_raise(bad):
    with pytest.raises(ValueError, match='G-filter'):
        parse_g_filters(bad)


def test_closest_divisor():
    assert closest_divisor(160, 16.0) == 16
    assert closest_divisor(128, 12.8) == 16   # WRN-16-8: 8 is 4.8 away, 16 is 3.2 away
    assert closest_divisor(256, 25.6) == 32
    assert closest_divisor(512, 51.2) == 64
    assert closest_divisor(12, 5) == 6        # tie between 4 and 6: the larger


def test_alt_plan_resnet164_stage1_keeps_dilated():
    # C = 64, 16 columns -> alternating map 2C/16 x 16 = 8 x 16; the dilated 5x5 field fits
    plan = plan_inner_imaging(64, parse_g_filters('mix5d'), 'alt', 16)
    assert plan.map_shape == (8, 16)
    assert [(str(g), s) for g, s in plan.kept] == [
        ('1x1', (8, 16)), ('1x5', (8, 12)), ('3x3', (6, 14)), ('5x1', (4, 16)),
        ('5x5', (4, 12)), ('3x3/d2', (4, 12))]
    assert plan.discarded == ()
    assert plan.group_signals == 8 * 16
    # a 4-row map (ResNet-110, C = 32) has no room for a 5x5 field: 5x1, 5x5 and d go
    small = plan_inner_imaging(32, parse_g_filters('mix5d'), 'alt', 16)
    assert [str(g) for g in small.discarded] == ['5x1', '5x5', '3x3/d2']


def test_alt_plan_wrn_and_both_aggregations():
    gf = parse_g_filters('mix5d')
    plan = plan_inner_imaging(160, gf, 'alt', 160 / 10.)
    assert plan.map_shape == (20, 16)
    assert not plan.discarded
    assert plan.group_shape == (20, 16)
    concat = plan_inner_imaging(160, gf, 'alt', 16, aggregation='concat')
    # columns 16 + 12 + 14 + 16 + 12 + 12, padded to 20 rows
    assert concat.group_shape == (20, 82)
    assert concat.group_signals == 1640


def test_wrn16_8_gets_nearest_divisor_shape():
    assert plan_inner_imaging(128, parse_g_filters('square3'), 'alt', 12.8).map_shape == (16, 16)
    assert plan_inner_imaging(256, parse_g_filters('square3'), 'alt', 25.6).map_shape == (16, 32)


def test_stack_and_fold_plans():
    plan = plan_inner_imaging(64, parse_g_filters('simple3'), 'stack', 16)
    assert plan.map_shape == (2, 64)
    assert [s for _, s in plan.kept] == [(2, 64), (1, 64), (1, 63)]
    assert plan.group_signals == 128
    assert plan_inner_imaging(64, parse_g_filters('simple3'), 'stack', 16,
                              aggregation='concat').group_signals == 2 * (64 + 64 + 63)
    fold = plan_inner_imaging(64, parse_g_filters('square1'), 'fold', 16)
    assert fold.map_shape == (4, 16)
    assert fold.kept[0][1] == (2, 14)


def test_no_fitting_filter_is_an_error():
    with pytest.raises(ValueError, match=r'no G-filter of the set \{3x3\} fits the alt map 2x16'):
        plan_inner_imaging(16, parse_g_filters('square1'), 'alt', 16)


def test_exact_columns_must_divide():
    with pytest.raises(ValueError, match=r'C=160 channels with map_cols=7.*divisors near it: 5, 8'):
        plan_inner_imaging(160, parse_g_filters('square3'), 'alt', 7, exact=True)
    assert plan_inner_imaging(160, parse_g_filters('square3'), 'alt', 8, exact=True).map_shape \
        == (40, 8)


def test_unknown_layout_and_aggregation():
    with pytest.raises(ValueError, match='layout'):
        plan_inner_imaging(64, parse_g_filters('square1'), 'spiral', 16)
    with pytest.raises(ValueError, match='aggregation'):
        plan_inner_imaging(64, parse_g_filters('square1'), 'alt', 16, aggregation='max')
