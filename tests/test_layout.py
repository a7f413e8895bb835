"""The layout shows the architecture: libraries in packages, each importing only those below it;
commands at the package root, importing libraries and no other command; no function-local
import of the project's own modules (which would hide an arrow running up); no function longer
than 60 lines of code."""
import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ini_gluon')

# each library package and what it may import of the project (besides itself)
BELOW = {
    '_argparse': set(),
    'layers': set(),
    'models': {'layers'},
    'data': set(),
    'run': {'layers', 'models', 'data'},
    'training': {'_argparse', 'layers', 'models', 'data', 'run'},
    'analysis': {'_argparse', 'layers', 'models', 'data', 'run', 'training'},
}
LIBRARIES = set(BELOW)
# the function-local imports of project modules: the launcher, imported when asked for so
# that `python -m ini_gluon.training.launch` does not find it imported already (runpy warns);
# the package's Python API names that are commands (the same) or bring in the training and the
# run folders, which `import ini_gluon` does not load
LAZY = {('training/__init__', 'training/launch'), ('__init__', 'export'), ('__init__', 'predict'),
        ('__init__', 'run/trained'), ('__init__', 'analysis/throughput')}


def _modules():
    for folder, _, files in os.walk(ROOT):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, ROOT), ast.parse(open(path).read())


def _group(relative):
    """The library package of a module (``'run'``), ``'<command>'`` for a command module at the
    root, ``''`` for the root package's ``__init__``."""
    parts = relative.replace('.py', '').split(os.sep)
    if len(parts) == 1 and parts[0] == '__init__':
        return ''
    return parts[0] if parts[0] in LIBRARIES else '<command>'


def _targets(relative, node):
    """The project modules an import statement imports, as paths relative to the package
    (``['run/settings', 'models']``)."""
    package = os.path.dirname(relative).split(os.sep) if os.path.dirname(relative) else []
    if isinstance(node, ast.Import):
        return ['/'.join(a.name.split('.')[1:]) or '' for a in node.names
                if a.name.split('.')[0] == 'ini_gluon']
    if node.level == 0:
        if (node.module or '').split('.')[0] != 'ini_gluon':
            return []
        base = node.module.split('.')[1:]
    else:
        base = package[:len(package) - node.level + 1] + (node.module or '').split('.')
    base = [b for b in base if b]
    if node.module is None or not base:
        return ['/'.join(base + [a.name]) for a in node.names]
    return ['/'.join(base)]


def _imports():
    """``[(module, target, function or None)]`` of every import of a project module."""
    found = []
    for relative, tree in _modules():
        functions = {}
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for n in ast.walk(f):
                    functions.setdefault(id(n), f.name)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [(relative, t, functions.get(id(node)))
                          for t in _targets(relative, node)]
    return found


def test_the_libraries_import_only_what_lies_below_them():
    upward = []
    for module, target, _ in _imports():
        group, theirs = _group(module), target.split('/')[0]
        if group in LIBRARIES and theirs != group and theirs not in BELOW[group]:
            upward.append('%s imports %s' % (module, target or 'ini_gluon'))
    assert upward == []


def test_a_command_imports_libraries_and_no_other_command():
    commands = {m.replace('.py', '') for m, _ in _modules() if _group(m) == '<command>'}
    assert {'export', 'evaluate', 'predict', 'seeds', 'compare', 'visualize'} <= commands
    crossing = ['%s imports %s' % (module, target) for module, target, _ in _imports()
                if _group(module) == '<command>' and target in commands]
    assert crossing == []


def test_no_function_imports_a_project_module():
    local = [(m.replace('.py', ''), t) for m, t, function in _imports() if function]
    assert [(m, t) for m, t in local if (m, t) not in LAZY] == []


def test_imports_resolve_to_the_modules_they_name():
    tree = ast.parse('from ..training.loop import fit\nfrom .files import TMP\n'
                     'from . import settings\nimport ini_gluon.models\nimport numpy\n')
    targets = [t for n in tree.body for t in _targets(os.path.join('run', 'x.py'), n)]
    assert targets == ['training/loop', 'run/files', 'run/settings', 'models']


def _code_lines(function, lines):
    """Lines of code of a function: without its docstring, blank lines and comment lines."""
    body = function.body
    skip = set()
    if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], 'value', None),
                                                    ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for n in range(function.lineno, function.end_lineno + 1)
               if n not in skip and lines[n - 1].strip()
               and not lines[n - 1].strip().startswith('#'))


@pytest.mark.parametrize('limit', [60])
def test_no_function_is_longer_than_60_lines_of_code(limit):
    long = []
    for relative, tree in _modules():
        lines = open(os.path.join(ROOT, relative)).read().splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node, lines)
                if n > limit:
                    long.append('%s:%s %d' % (relative, node.name, n))
    assert long == []
