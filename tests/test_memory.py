"""The peak memory the benchmark reports is the measured model's, not the measuring process's."""
import numpy as np
import pytest

from ini_gluon.analysis.throughput import own_peak_mib, peak_training_memory
from ini_gluon.memory import main


def _resident_mib():
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:')) / 1024.0


@pytest.mark.slow
def test_peak_memory_ranks_models_and_ignores_the_parent():
    # the parent's high-water mark is over 640 MiB while it measures (it touches what it lacks):
    # a child whose figure carried it (getrusage's ru_maxrss after fork + exec) would report more
    held = np.ones(int(max(700 - _resident_mib(), 0) * 2 ** 17))       # float64: 2**17 a MiB
    assert own_peak_mib() > 640
    small = peak_training_memory('resnet8', (3, 32, 32), batch=1, steps=1)
    large = peak_training_memory('wrn10_4', (3, 32, 32), batch=32, steps=1)
    assert held.sum() == held.size
    # the small model, a batch of 1: a Python with MXNet loaded is about 250 MiB
    assert 100 < small < large < 640
    # WRN-10-4's activations for 32 images alone are over 100 MiB more than ResNet-8's for 1
    # (397 against 276 MiB here)
    assert large - small > 100


def test_peak_memory_of_an_unknown_model_is_one_line_and_exit_2(capsys):
    assert main(['resnet9']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'resnet9' in err


def test_a_bad_argument_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(['resnet8', '--batch', 'x'])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and '--batch' in err[0]
