"""The targets table of ``benchmarks/throughput.py`` on fabricated measurements: each ratio and
its verdict worked out by hand."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def throughput():
    spec = importlib.util.spec_from_file_location(
        'throughput', os.path.join(ROOT, 'benchmarks', 'throughput.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(model, train, infer, memory):
    return {'model': model, 'train': train, 'infer': infer, 'memory_mib': memory}


def test_every_target_with_its_ratio_and_verdict(throughput):
    results = [_row('resnet164', 40.0, 100.0, 1000.0),
               _row('se_resnet164', 24.0, 59.0, 1300.0),         # 0.60 met, 0.59 missed
               _row('ini_resnet164_mix5d', 21.6, 59.0, 1366.0),  # / SE: 0.90, 1.00; 1.0508
               _row('wrn16_8', 10.0, 30.0, 800.0),
               _row('se_wrn16_8', 7.5, 30.0, 1048.0),            # 1.31 missed
               _row('ini_wrn16_8_mix5d', 7.0, 28.5, 1100.4)]     # 0.70; 0.933; 1.05
    got = {text: (round(value, 4), ok) for text, value, ok in throughput.target_rows(results)}
    assert got == {
        '`se_resnet164` peak training memory / plain <= 1.30': (1.3, True),
        '`ini_resnet164_mix5d` peak training memory / SE <= 1.05': (1.0508, False),
        '`se_resnet164` train / plain >= 0.60': (0.6, True),
        '`ini_resnet164_mix5d` train / plain >= 0.60': (0.54, False),
        '`ini_resnet164_mix5d` train / SE >= 0.90': (0.9, True),
        '`se_resnet164` infer / plain >= 0.60': (0.59, False),
        '`ini_resnet164_mix5d` infer / plain >= 0.60': (0.59, False),
        '`ini_resnet164_mix5d` infer / SE >= 0.90': (1.0, True),
        '`se_wrn16_8` peak training memory / plain <= 1.30': (1.31, False),
        '`ini_wrn16_8_mix5d` peak training memory / SE <= 1.05': (1.05, True),
        '`se_wrn16_8` train / plain >= 0.75': (0.75, True),
        '`ini_wrn16_8_mix5d` train / plain >= 0.75': (0.7, False),
        '`ini_wrn16_8_mix5d` train / SE >= 0.95': (0.9333, False),
        '`se_wrn16_8` infer / plain >= 0.75': (1.0, True),
        '`ini_wrn16_8_mix5d` infer / plain >= 0.75': (0.95, True),
        '`ini_wrn16_8_mix5d` infer / SE >= 0.95': (0.95, True)}


def test_a_backbone_not_measured_has_no_targets(throughput):
    results = [_row('wrn16_8', 10.0, 30.0, 800.0), _row('se_wrn16_8', 7.5, 30.0, 1048.0),
               _row('ini_wrn16_8_mix5d', 7.0, 28.5, 1100.4)]
    assert all('wrn16_8' in text for text, _, _ in throughput.target_rows(results))
