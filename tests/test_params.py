"""Parameter counts: the original CMPE-SE code's exact counts, the papers' counts within 1 %,
and counts worked out by hand."""
import pytest
from gluoncv.model_zoo import get_model as gluoncv_model

import ini_gluon as ig
from ini_gluon.analysis.summary import residual_blocks

# the authors' open-source MXNet code of the CMPE-SE blocks (CMPE-SE paper Section 4.1,
# footnote 1), 10 classes, exactly
ORIGINAL = {
    'se_wrn28_10': 36766022,
    'cmpe_se_doublefc_wrn28_10': 37034822,
    'cmpe_se_1x1_wrn28_10': 36901822,
    'cmpe_se_2x1_wrn28_10': 36767702,
    'cmpe_se_3x3_wrn28_10': 36867102,
}
# InI paper Tables II-IV and CMPE-SE paper Table 3 (M)
PAPER = {
    'se_wrn28_10': 36.80,
    'cmpe_se_doublefc_wrn28_10': 37.04, 'cmpe_se_1x1_wrn28_10': 36.92,
    'cmpe_se_2x1_wrn28_10': 36.80, 'cmpe_se_3x3_wrn28_10': 36.90,
    'ini_wrn28_10_square1': 36.82, 'ini_wrn28_10_square3': 36.88,
    'ini_wrn28_10_mix5': 36.90, 'ini_wrn28_10_mix5d': 36.90,
    'ini_wrn22_10_square3': 27.12, 'ini_wrn22_10_mix5d': 27.16,
    'ini_wrn16_8_square3': 11.14, 'ini_wrn16_8_mix5d': 11.20,
    'ini_resnet164_square1': 1.99, 'ini_resnet164_square3': 2.02, 'ini_resnet164_mix5d': 2.04,
}


def count(name, **kwargs):
    return ig.count_params(ig.get_model(name, classes=10, **kwargs))


@pytest.mark.parametrize('name', sorted(ORIGINAL))
def test_original_code_counts_exactly(name):
    assert count(name) == ORIGINAL[name]


def test_original_names_are_aliases():
    assert count('cmpe_se_resnet164') == count('se_resnet164')
    net = ig.get_model('cmpe_se_resnet164')
    assert {b.attn.describe()['kind'] for _, b in residual_blocks(net)} \
        == {'se'}


@pytest.mark.parametrize('name', sorted(PAPER))
def test_paper_counts_within_one_percent(name):
    assert count(name) == pytest.approx(PAPER[name] * 1e6, rel=0.01)


def test_plain_backbones_are_gluoncvs():
    for ours, theirs in [('wrn28_10', 'cifar_wideresnet28_10'),
                         ('resnet110', 'cifar_resnet110_v2')]:
        assert count(ours) == ig.count_params(gluoncv_model(theirs, classes=10))


def test_se_adds_c_squared_over_eight_per_block():
    # ResNet-164: 18 bottlenecks per stage of C = 64, 128, 256; SE adds C*C/16 twice
    added = 18 * sum(c * c // 8 for c in (64, 128, 256))
    assert added == 193536
    assert count('se_resnet164') - count('resnet164') == added


def test_concat_aggregation_count_by_hand():
    # WRN-28-10, mix-5-d, 20-row maps: concat widens C^g; the encoder's first layer grows by
    # (C^g_concat - C^g_sum) * C/16 per block, 4 blocks per stage.
    extra = 0
    for c, cols in [(160, 16), (320, 32), (640, 64)]:
        widths = [cols, cols - 4, cols - 2, cols, cols - 4, cols - 4]   # 1x1 1x5 3x3 5x1 5x5 d
        extra += 4 * (20 * sum(widths) - 20 * cols) * (c // 16)
    assert count('ini_wrn28_10_mix5d_concat') - count('ini_wrn28_10_mix5d') == extra == 1265600


@pytest.mark.parametrize('backbone, blocks', [
    # (stage width C, bottleneck width, map rows, blocks in the stage): map 2C/16 x 16 (ResNet),
    # 20 x C/10 (WRN); ε = bottleneck width // 16
    ('resnet20', [(16, 16, 2, 3), (32, 32, 4, 3), (64, 64, 8, 3)]),
    ('resnet110', [(16, 16, 2, 18), (32, 32, 4, 18), (64, 64, 8, 18)]),
    ('resnet164', [(64, 16, 8, 18), (128, 32, 16, 18), (256, 64, 32, 18)]),
    ('wrn28_10', [(160, 160, 20, 4), (320, 320, 20, 4), (640, 640, 20, 4)]),
])
def test_square3d_differs_from_square3_wherever_a_5x5_field_fits(backbone, blocks):
    # the dilated G-filter (3x3 kernel, dilation 2, 5x5 field) is kept where the map has >= 5
    # rows (all maps have >= 16 columns): ε 3x3 kernels and BatchNorm's 4 values per filter
    extra = sum(n * (eps // 16) * (9 + 4) for c, width, rows, n in blocks for eps in [width]
                if rows >= 5)
    assert count('ini_%s_square3d' % backbone) - count('ini_%s_square3' % backbone) == extra > 0
    net = ig.get_model('ini_%s_square3d' % backbone)
    for _, block in residual_blocks(net):
        kept = [str(g) for g, _ in block.attn.plan.kept]
        fits = block.attn.plan.map_shape[0] >= 5
        assert ('3x3/d2' in kept) == fits and ('5x5' in kept) == fits


def test_square1_equals_cmpe_se_3x3_on_wrn():
    # both are one 3x3 G-filter on the alternating 20-row fold
    assert count('ini_wrn28_10_square1') == ORIGINAL['cmpe_se_3x3_wrn28_10']


def test_custom_g_filters_override():
    # {1x1, 3x3} on WRN-28-10: C^g = 2C as square3, G-filters 10 fewer weights per filter
    diff = count('ini_wrn28_10_square3') - count('ini_wrn28_10_mix5d', g_filters=[(1, 1), (3, 3)])
    # dropped 5x5 bank: ε*25 weights + 4ε BatchNorm values, ε = 10, 20, 40, 4 blocks each
    assert diff == 4 * sum(e * 25 + 4 * e for e in (10, 20, 40))
