"""Inputs that cannot crash or silently mislead: the strict reader of a run folder's JSON, the
checks of a RecordIO file, class names one per line, and the machine out of memory as one
line (the commands' cases are in test_catalogue.py)."""
import json
import os
import pickle
import struct

import mxnet as mx
import pytest

import datasets
from ini_gluon._argparse import allocation_failure, run_command
from ini_gluon.data import DataError, class_names
from ini_gluon.data import test_split as split_of
from ini_gluon.data.datasets import CIFAR10_NAMES, class_name_problem
from ini_gluon.data.imagenet import scan_records
from ini_gluon.run.checkpoint import checked_meta
from ini_gluon.run.files import JSONFileError, read_json, read_json_lines
from ini_gluon.run.settings import Settings
from ini_gluon.training import cli


@pytest.mark.parametrize('text, fragment', [
    ('{"epoch": NaN}', 'NaN is not a number JSON allows'),
    ('{"epoch": -Infinity}', '-Infinity is not a number JSON allows'),
    ('{"epoch": 1e999}', '1e999 is too large a number'),
    ('{"epoch": %s}' % ('9' * 40), 'a number of 40 digits'),
    ('[' * 100000 + ']' * 100000, 'nested too deeply'),
    ('[1, 2]', 'holds a JSON array, expected a JSON object'),
    ('{"epoch": ', 'is not valid JSON'),
])
def test_the_json_reader_refuses_what_the_project_never_writes(tmp_path, text, fragment):
    path = tmp_path / 'meta.json'
    path.write_text(text)
    with pytest.raises(JSONFileError) as err:
        read_json(str(path), 'checkpoint meta')
    assert fragment in str(err.value) and str(path) in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_the_json_reader_refuses_bytes_and_sizes(tmp_path, monkeypatch):
    path = tmp_path / 'settings.json'
    path.write_bytes(b'{"model": "\xff\xfe"}')
    with pytest.raises(JSONFileError, match='is not UTF-8 text'):
        read_json(str(path), 'run settings')
    path.write_text('{"a": "%s"}' % ('x' * 200))
    monkeypatch.setattr('ini_gluon.run.files.MAX_JSON_BYTES', 100)
    with pytest.raises(JSONFileError, match='more than the'):
        read_json(str(path), 'run settings')
    lines = tmp_path / 'metrics.jsonl'
    lines.write_text('{"epoch": 0}\n\n[0]\n')
    with pytest.raises(JSONFileError, match='line 3: not a row'):
        read_json_lines(str(lines), 'a row')


@pytest.mark.parametrize('meta, fragment', [
    ({'epoch': True}, 'its epoch is true'), ({'epoch': -1}, 'its epoch is -1'),
    ({'epoch': '3'}, 'its epoch is "3"'), ({'epoch': 2, 'best_val_error': 1.5},
                                           'best_val_error is 1.5'),
    ({'epoch': 2, 'metrics': [{'epoch': 0, 'val_error': None}]}, 'val_error is null'),
    ({'epoch': 2, 'metrics': {}}, 'metrics are not a list'),
])
def test_a_checkpoint_meta_holds_what_the_project_writes(meta, fragment):
    with pytest.raises(ValueError, match=fragment.replace('"', '.')):
        checked_meta(meta)
    assert checked_meta({'epoch': 3, 'best_val_error': 0.25,
                         'metrics': [{'epoch': 0, 'val_error': 1}]})['epoch'] == 3


@pytest.mark.parametrize('name, ok', [
    ('n01440764', True), ('chien de berger', True), ('über', True), ('dog\nbird', False),
    ('dog\rbird', False), ('dog\tbird', False), ('dog\x0bbird', False), ('dog\x1cbird', False),
    ('dog\x85bird', False), ('dog\u2028bird', False), ('', False), (' dog', False),
    ('dog ', False), ('dog\udcffbird', False), ('dog\x00', False),
])
def test_class_names_are_those_one_line_holds(name, ok):
    assert (class_name_problem(name) is None) == ok
    if ok:       # what an export writes, read back as a user reads it
        assert ('%s\n' % name).splitlines() == [name]


def test_a_cifar_meta_file_with_a_newline_in_a_name_is_not_used(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    names = [b'plane\nbird'] + [n.encode() for n in CIFAR10_NAMES[1:]]
    with open(str(folder / 'batches.meta'), 'wb') as f:
        pickle.dump({b'label_names': names}, f, protocol=2)
    assert class_names('cifar10', str(tmp_path)) == CIFAR10_NAMES


def _offsets(idx):
    with open(idx) as f:
        return [int(line.split('\t')[1]) for line in f]


def test_a_record_file_is_checked_record_by_record(tmp_path):
    rec, idx = datasets.write_records(tmp_path / 'val', [0, 1, 1])
    offsets = _offsets(idx)
    scan_records(rec, offsets, 'val', 2)
    with pytest.raises(DataError, match='record 1 .* does not start a RecordIO record'):
        scan_records(rec, [offsets[0], offsets[1] + 4], 'val', 2)
    with pytest.raises(DataError, match='record 0 .* lies past the end of the file'):
        scan_records(rec, [os.path.getsize(rec) + 8], 'val', 2)
    with open(rec, 'r+b') as f:       # record 2 announces 3 labels per image
        f.seek(offsets[2] + 8)
        f.write(struct.pack('<I', 3))
    with pytest.raises(DataError, match='record 2 .* holds 3 labels per image'):
        scan_records(rec, offsets, 'val', 2)
    nan, _ = datasets.write_records(tmp_path / 'nan', [0, float('nan')])
    with pytest.raises(DataError, match='label nan, which is not a class number'):
        scan_records(nan, _offsets(str(tmp_path / 'nan.idx')), 'val', 2)


def test_the_test_split_of_a_recordio_run_checks_its_labels(tmp_path):
    rec, idx = datasets.write_records(tmp_path / 'val', [0, 1, 3])
    s = Settings(model='ini_resnet18_v2_mix5d_spa', dataset='imagenet', use_rec=True,
                 rec_val=rec, rec_val_idx=idx, num_classes=3, input_size=32, num_workers=1,
                 mean=[0.5] * 3, std=[0.2] * 3)
    with pytest.raises(DataError, match="val RecordIO file '%s': record 2 .* label 3, outside "
                       "0..2" % rec):
        split_of(s, 2)
    with open(rec, 'r+b') as f:
        f.truncate(os.path.getsize(rec) - 64)
    with pytest.raises(DataError, match='record 2 .* the file is truncated'):
        split_of(s.replace(num_classes=4), 2)


def test_the_machine_out_of_memory_is_one_line(capsys, monkeypatch):
    assert allocation_failure(MemoryError()) == 'out of memory'
    trace = mx.base.MXNetError('Traceback (most recent call last):\n  File "x.cc", line 3\n'
                               'MXNetError: std::bad_alloc\n')
    assert allocation_failure(trace) == 'MXNetError: std::bad_alloc'
    assert allocation_failure(mx.base.MXNetError('Check failed: shape mismatch')) is None
    assert allocation_failure(ValueError('bad_alloc')) is None

    def body():
        raise trace
    assert run_command('prog', False, body) == 1
    assert capsys.readouterr().err == 'prog: out of memory: MXNetError: std::bad_alloc\n'

    def fit(s, make_data):
        raise MemoryError()
    monkeypatch.setattr(cli, 'fit', fit)
    assert cli.main(['--model', 'resnet8', '--dataset', 'digits', '--num-epochs', '1']) == 1
    assert capsys.readouterr().err == 'train_cifar.py: out of memory\n'
    # another error of MXNet is one line too (its last line; --debug shows the trace)
    assert run_command('prog', False, lambda: (_ for _ in ()).throw(
        mx.base.MXNetError('Traceback:\n  File "y.cc"\nCheck failed: shape mismatch'))) == 1
    assert capsys.readouterr().err == 'prog: MXNet failed: Check failed: shape mismatch\n'


def test_seeds_table_leaves_out_a_run_with_damaged_json(tmp_path, capsys):
    from ini_gluon import seeds
    run = tmp_path / 'runs' / 'resnet8' / 'seed-1'
    run.mkdir(parents=True)
    (run / 'metrics.jsonl').write_text('{"epoch": 0, "val_error": 0.5}\n')
    (run / 'settings.json').write_text('[' * 100000 + ']' * 100000)
    for name in ('export-final', 'export-best'):
        (run / name).mkdir()
    assert seeds.main(['table', str(tmp_path / 'runs')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and 'nested too deeply' in err[0] and 'no finished run' in err[1]


def test_an_export_writes_only_class_names_one_line_holds(tmp_path):
    from ini_gluon.run.export import export
    from ini_gluon.run.trained import RunError, open_params
    from ini_gluon import get_model
    net = get_model('resnet8', classes=2)
    net.initialize()
    net(mx.nd.zeros((1, 3, 32, 32)))
    net.save_parameters(str(tmp_path / 'w.params'))
    trained = open_params('resnet8', str(tmp_path / 'w.params'), 2, 'cifar10', [0.5] * 3,
                          [0.2] * 3, names=['cat', 'dog\nbird'])
    with pytest.raises(RunError, match="class name 'dog\\\\nbird' holds a line break"):
        export(trained, str(tmp_path / 'out'))
    assert not os.path.exists(str(tmp_path / 'out'))
    export(trained._replace(class_names=['cat', 'über']), str(tmp_path / 'out'))
    with open(str(tmp_path / 'out' / 'classes.txt'), encoding='utf-8') as f:
        assert f.read().splitlines() == ['cat', 'über']
    with open(str(tmp_path / 'out' / 'model.json')) as f:
        assert json.load(f)['classes'] == 2
