"""The model summary and the command-line entry points."""
import io
import os
from contextlib import redirect_stdout

import mxnet as mx
import pytest

import ini_gluon as ig
from ini_gluon import tables
from ini_gluon.__main__ import main

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'docs')


def _rows(text):
    return {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith('stage')}


def test_summary_reports_maps_filters_and_group_signals():
    net = ig.get_model('ini_resnet164_mix5d')
    rows = _rows(ig.summary(net))
    assert len(rows) == 54
    # stage 1: C = 64, map 8 x 16, ε = 1; every shape fits, the dilated 3x3 (5x5 field) too
    assert rows['stage1.0'][1:6] == ['64', 'ini_mix5d', 'alt', '8x16', '1']
    assert rows['stage1.0'][6:12] == ['1x1>8x16', '1x5>8x12', '3x3>6x14', '5x1>4x16', '5x5>4x12',
                                      '3x3/d2>4x12']
    assert rows['stage1.0'][12:14] == ['-', '128']
    # stage 3: C = 256, map 32 x 16, ε = 4, every shape kept, C^g = 512
    assert rows['stage3.17'][1:6] == ['256', 'ini_mix5d', 'alt', '32x16', '4']
    assert rows['stage3.17'][12:14] == ['-', '512']
    assert ig.summary(net).splitlines()[-2:] == [
        "3x3/d2: 3x3 kernel with dilation 2, 5x5 receptive field (Table I's dilated G-filter "
        "'d', (5 x 5, s = 2))",
        "the kept shapes' maps averaged, each zero-filled to n_max x m_max (aggregation 'sum', "
        "the default: the paper's counts; eq. 10-11 concatenate them, '_concat')"]


def test_summary_says_how_the_shapes_maps_are_aggregated():
    """C^g: averaged, n_max x m_max = 8 x 16 = 128 in stage 1 of ResNet-164 mix-5-d;
    concatenated, 8 x (16 + 12 + 14 + 16 + 12 + 12) = 656."""
    rows = _rows(ig.summary(ig.get_model('ini_resnet164_mix5d_concat')))
    assert rows['stage1.0'][13] == '656'
    assert ig.summary(ig.get_model('ini_resnet164_mix5d_concat')).splitlines()[-1] == (
        "the kept shapes' maps concatenated along the columns (eq. 10-11, '_concat')")
    one_shape = ig.summary(ig.get_model('ini_wrn16_4_square1'))    # one shape: the 3x3
    assert 'zero-filled' not in one_shape and 'concatenated' not in one_shape


def test_summary_total_and_attention_params():
    net = ig.get_model('se_wrn16_4')
    text = ig.summary(net)
    assert text.splitlines()[0] == 'se_wrn16_4 (input 1x3x32x32)'
    assert text.splitlines()[-1] == 'total parameters: {:,}'.format(ig.count_params(net))
    rows = _rows(text)
    # SE on C = 64: two 64x4 dense layers without bias
    assert rows['stage1.0'][-1] == '{:,}'.format(2 * 64 * 4)


def test_summary_shows_nearest_divisor_map_for_wrn16_8():
    rows = _rows(ig.summary(ig.get_model('ini_wrn16_8_square3')))
    assert [rows['stage%d.0' % i][4] for i in (1, 2, 3)] == ['16x16', '16x32', '16x64']


def test_summary_does_not_initialise():
    net = ig.get_model('ini_wrn10_2_mix5d')
    ig.summary(net)
    param = next(iter(net.collect_params().values()))
    try:
        param.data()
        initialised = True
    except RuntimeError:
        initialised = False
    assert not initialised
    net.initialize()
    assert net(mx.nd.zeros((1, 3, 32, 32))).shape == (1, 10)


def test_main_prints_registry_and_default_summary():
    out = io.StringIO()
    with redirect_stdout(out):
        main([])
    text = out.getvalue()
    assert text.startswith('registry: %d models' % len(ig.list_models()))
    assert 'ini_wrn28_10_mix5d (input 1x3x32x32)' in text
    # the mix-5-d count before the dilated G-filter was read right (5x5 kernels, 36,926,742),
    # less 16 weights per dilated filter: ε = 10, 20, 40 in 4 blocks per stage
    assert 'total parameters: {:,}'.format(36926742 - 4 * 16 * (10 + 20 + 40)) in text


@pytest.mark.parametrize('argv, fragment', [(['ini_pyramidnet272'], 'needs a G-filter set'),
                                             (['--list', 'nothing*'], 'no registered model')])
def test_main_says_what_is_wrong_in_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and fragment in err[0]


def test_main_lists_a_pattern():
    out = io.StringIO()
    with redirect_stdout(out):
        main(['--list', 'cmpe_se_*_wrn28_10'])
    assert out.getvalue().split() == ['cmpe_se_1x1_wrn28_10', 'cmpe_se_2x1_wrn28_10',
                                      'cmpe_se_3x3_wrn28_10', 'cmpe_se_doublefc_wrn28_10']


def test_averaging_the_shapes_maps_gives_the_papers_counts_and_concatenating_does_not():
    """Tables II-III: WRN-28-10 square-3 36.88M, ResNet-164 mix-5-d 2.04M; eq. 10-11 taken
    literally gives 37.42M and 2.83M."""
    rows = {name: row for name, *row in tables.aggregation_rows()}
    assert round(rows['ini_wrn28_10_square3'][1] / 1e6, 2) == 36.91      # 36.88: +0.09 %
    assert round(rows['ini_wrn28_10_square3'][2] / 1e6, 2) == 37.42
    assert round(rows['ini_resnet164_mix5d'][1] / 1e6, 2) == 2.03        # 2.04: -0.61 %
    assert round(rows['ini_resnet164_mix5d'][2] / 1e6, 2) == 2.83


def test_over_se_column_is_what_each_attention_adds_to_se():
    """36,867,102 - 36,766,022 (the table's own rows) and 36.82M - 36.80M."""
    params = [('se_wrn28_10', 36766022, 36.80, None, 0.0, None),
              ('ini_wrn28_10_square1', 36867102, 36.82, None, 0.0, None),
              ('wrn28_10', 36479194, 36.50, None, 0.0, None),
              ('ini_wrn16_8_mix5d', 11106406, 11.20, None, 0.0, None)]
    ours = {row[0]: row[1] for row in params}
    paper = {row[0]: row[2] * 1e6 for row in params}
    assert tables._over_se('ini_wrn28_10_square1', ours, paper) == '+101,080 / +0.02M'
    assert tables._over_se('se_wrn28_10', ours, paper) == ''
    assert tables._over_se('wrn28_10', ours, paper) == ''
    assert tables._over_se('ini_wrn16_8_mix5d', ours, paper) == ''      # no SE-WRN-16-8 row


@pytest.mark.slow
def test_fidelity_doc_is_the_current_output():
    """docs/fidelity.md must be what `python -m ini_gluon.tables` prints now."""
    expected = tables.render(tables.param_rows(), tables.flops_rows(), tables.imagenet_rows(),
                             tables.sinet_rows(), tables.ablation_rows(),
                             tables.aggregation_rows())
    with open(os.path.join(DOCS, 'fidelity.md')) as f:
        assert f.read() == expected
    assert '(DIFFERS)' not in expected
