"""Jobs end whole: the job of ``ini_gluon.training.launch`` and the run of ``ini_gluon.seeds
launch`` stop with their launcher (SIGINT, SIGTERM, SIGHUP, SIGKILL), a frozen or abandoned job
is stopped after ``--stall-timeout``, and no process of theirs (nor one those started) is left.

The nodes and runs here are stand-ins (a Python script that starts a child of its own, writes
both pids and waits): what is tested is the launchers, not the training.  Most cases run the
launchers' ``main`` in this process and signal it; SIGKILL, which this process would not
survive, and Ctrl-Z go to a launcher in a process of its own.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

import ini_gluon.training.launch as launch
from ini_gluon.training.hosts import placement, read_hosts, remote_nodes
import ini_gluon.training.processes as processes
from ini_gluon import seeds
from ini_gluon.run.folder import in_use

PACKAGE = os.path.dirname(os.path.abspath(seeds.__file__))
SSH_STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ssh_stub.py')
LAUNCH = 'python -m ini_gluon.training.launch'
SEEDS = 'python -m ini_gluon.seeds launch'

# a node or run: starts a child (`sleep 300`), writes "<its pid> <the child's pid>" into
# $STAND_IN_DIR/<role>-<pid> (and, as a training run, its pid into the run folder's lock), then
# as $STAND_IN says: sleep; spin (a worker uses CPU time); first-exits (the first worker exits
# 0 at once); first-fails (the first worker exits 3 at once); ignore-term (SIGTERM ignored);
# done (a worker exits 0 after 1.5 s)
STAND_IN = r'''
import os, signal, subprocess, sys, time
mode, out = os.environ.get('STAND_IN', 'sleep'), os.environ['STAND_IN_DIR']
role = os.environ.get('DMLC_ROLE', 'run')
if mode == 'ignore-term':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(['sleep', '300'])
if '--save-dir' in sys.argv:
    folder = sys.argv[sys.argv.index('--save-dir') + 1]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, '.ini-gluon-rank0.lock'), 'w') as f:
        f.write('%d\n' % os.getpid())
os.makedirs(out, exist_ok=True)
path = os.path.join(out, '%s-%d' % (role, os.getpid()))
with open(path + '.tmp', 'w') as f:
    f.write('%d %d' % (os.getpid(), child.pid))
os.rename(path + '.tmp', path)
if role == 'worker' and mode in ('first-exits', 'first-fails'):
    try:
        os.close(os.open(os.path.join(out, 'first'), os.O_CREAT | os.O_EXCL))
        sys.exit(0 if mode == 'first-exits' else 3)
    except FileExistsError:
        pass
end = time.time() + (1.5 if role == 'worker' and mode == 'done' else 300)
while time.time() < end:
    if role == 'worker' and mode == 'spin':
        sum(range(100000))
        time.sleep(0.02)
    else:
        time.sleep(max(0, min(1, end - time.time())))
'''

# the launcher without the package's __init__, which imports MXNet (seconds of CPU time): the
# launcher imports nothing of the project but _argparse and processes
NO_INIT = r'''
import os, signal, sys, time, types
for name, path in (('ini_gluon', sys.argv[1]), ('ini_gluon.training',
                                                os.path.join(sys.argv[1], 'training'))):
    sys.modules[name] = types.ModuleType(name)
    sys.modules[name].__path__ = [path]
'''
LAUNCH_DRIVER = NO_INIT + r'''
import ini_gluon.training.launch as launch
from ini_gluon.training.hosts import placement, read_hosts, remote_nodes
launch.SERVE = [sys.executable, sys.argv[2]]
sys.exit(launch.main(sys.argv[3:]))
'''
# a child, and its guard killed: the kernel's death signal alone
GUARDLESS_DRIVER = NO_INIT + r'''
from ini_gluon.training.processes import Children
children = Children()
children.start([sys.executable, sys.argv[2]])
os.kill(children._guard.pid, signal.SIGKILL)
children._guard.wait()
os.makedirs(os.environ['STAND_IN_DIR'], exist_ok=True)
open(os.path.join(os.environ['STAND_IN_DIR'], 'guardless'), 'w').close()
time.sleep(300)
'''

SEEDS_DRIVER = r'''
import sys
import ini_gluon.seeds as seeds
seeds.train_command = lambda argv, script='cifar': [sys.executable, sys.argv[1]] + list(argv)
sys.exit(seeds.main(sys.argv[2:]))
'''


@pytest.fixture(scope='module')
def stand_in(tmp_path_factory):
    """The process cases' shared setup: the stand-in script and a folder for each case; and
    ``driver(kind, case, *argv)`` starting a launcher (``'launch'``, ``'seeds'``, or
    ``'guardless'``: a child without its guard) in a process
    (and a process group) of its own, killed at the end if a case left it running."""
    root = tmp_path_factory.mktemp('jobs')
    script = root / 'stand_in.py'
    script.write_text(STAND_IN)
    started = []

    def driver(kind, case, *argv):
        env = dict(os.environ, STAND_IN_DIR=str(root / case))
        code, first = {'launch': (LAUNCH_DRIVER, [PACKAGE, str(script)]),
                       'guardless': (GUARDLESS_DRIVER, [PACKAGE, str(script)]),
                       'seeds': (SEEDS_DRIVER, [str(script)])}[kind]
        started.append(subprocess.Popen([sys.executable, '-c', code] + first + list(argv),
                                        env=env, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=_own_group))
        return started[-1]
    yield SimpleNamespace(script=str(script), folder=lambda case: str(root / case),
                          driver=driver)
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _default_signals():
    """The stop signals and Ctrl-Z as a terminal's foreground command has them (a test run in
    the background of a shell, or under nohup, may have been started ignoring them)."""
    previous = {s: signal.getsignal(s) for s in processes.STOP_SIGNALS + (signal.SIGTSTP,)}
    for s in previous:
        signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    return previous


def _own_group():
    """A driver's process group of its own, with the signals of a foreground command."""
    os.setpgrp()
    _default_signals()


@pytest.fixture
def case(stand_in, monkeypatch, request):
    """A case run here: the stand-in's folder, its mode in the environment, the launcher's
    scheduler and servers stand-ins too; the signals as a foreground command has them."""
    folder = stand_in.folder(re.sub(r'\W', '_', request.node.name))
    monkeypatch.setenv('STAND_IN_DIR', folder)
    monkeypatch.setattr(launch, 'SERVE', [sys.executable, stand_in.script])
    previous = _default_signals()
    yield SimpleNamespace(folder=folder, script=stand_in.script,
                          mode=lambda mode: monkeypatch.setenv('STAND_IN', mode))
    for s, handler in previous.items():
        signal.signal(s, signal.SIG_DFL if handler is None else handler)


def _started(folder, count, timeout=20):
    """``{name: (pid, its child's pid)}`` once ``count`` stand-ins have written theirs."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        names = [n for n in os.listdir(folder) if '-' in n and not n.endswith('.tmp')] \
            if os.path.isdir(folder) else []
        if len(names) >= count:
            return {n: tuple(int(p) for p in open(os.path.join(folder, n)).read().split())
                    for n in names}
        time.sleep(0.05)
    raise AssertionError('%d stand-ins did not start in %s' % (count, folder))


def _state(pid):
    """The state letter of ``pid`` in ``/proc``, ``None`` when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _all_gone(pids, timeout=5):
    """Whether every process of ``pids`` is gone (or a zombie: dead, where the first process
    reaps no orphans) within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while any(_state(p) not in (None, 'Z') for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _state(p) not in (None, 'Z')] == []


def _pids(started):
    return [pid for pair in started.values() for pid in pair]


def _after_start(folder, count, *actions, limit=20):
    """On a thread: once ``count`` stand-ins started, each ``(delay, callable)`` in turn; the
    thread holds what they started in ``.started``.  Run the launcher with :func:`_main`: one
    that has not returned ``limit`` seconds later gets SIGTERM, so that a launcher that hangs
    fails its test rather than hanging the suite."""
    def run():
        thread.started = _started(folder, count)
        for delay, action in actions:
            time.sleep(delay)
            action(thread.started)
        if not thread.done.wait(limit):
            os.kill(os.getpid(), signal.SIGTERM)
    thread = threading.Thread(target=run, daemon=True)
    thread.started, thread.done = {}, threading.Event()
    thread.start()
    return thread


def _main(thread, main, argv):
    """``main(argv)``, the launcher run here while ``thread`` acts; then the thread ends."""
    try:
        return main(argv)
    finally:
        thread.done.set()
        thread.join(5)


def _to_me(signum):
    return lambda started: os.kill(os.getpid(), signum)


def _one_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ---------------------------------------------------------------- the job launcher
def _launch(thread, case, *options):
    """The launcher's exit status: 2 stand-in workers (1 scheduler, 1 server) with
    ``options``."""
    return _main(thread, launch.main, ['-n', '2'] + list(options) +
                 ['--', sys.executable, case.script])


@pytest.mark.parametrize('signum', [signal.SIGHUP, signal.SIGTERM], ids=['HUP', 'TERM'])
def test_sighup_or_sigterm_to_the_launcher_stops_the_job_and_what_it_started(signum, case,
                                                                             capsys):
    thread = _after_start(case.folder, 4, (0.2, _to_me(signum)))
    assert _launch(thread, case) == 128 + signum
    assert _one_line(capsys) == '%s: %s received: the job was stopped' % (
        LAUNCH, signal.Signals(signum).name)
    assert len(thread.started) == 4 and _all_gone(_pids(thread.started))   # and their sleeps


def test_a_second_ctrl_c_kills_at_once_what_ignores_sigterm(case, capsys):
    case.mode('ignore-term')
    thread = _after_start(case.folder, 4, (0.2, _to_me(signal.SIGINT)),
                          (0.5, _to_me(signal.SIGINT)))
    start = time.time()
    assert _launch(thread, case) == 130
    assert time.time() - start < processes.Children().grace     # not after the grace
    assert _one_line(capsys) == '%s: SIGINT received: the job was stopped' % LAUNCH
    assert _all_gone(_pids(thread.started))


def test_under_nohup_a_sighup_leaves_the_job_running(case, capsys):
    case.mode('done')                                   # the workers end after 1.5 s
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        thread = _after_start(case.folder, 4, (0.2, _to_me(signal.SIGHUP)))
        assert _launch(thread, case, '--stall-timeout', '0') == 0
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert capsys.readouterr().err == ''
    assert _all_gone(_pids(thread.started))        # the scheduler and server, once done


def _signal_a_worker(case, capsys, signum, option):
    """Launch 2 stand-in workers with ``option`` (``('--stall-timeout', '1')``), send one of
    them ``signum`` once they run; returns its pid and the launcher's one line, after checking
    that the job ended within 15 s with status 1 and left no process."""
    signalled = []

    def send(started):
        signalled.append(min(p for n, (p, _) in started.items() if n.startswith('worker')))
        os.kill(signalled[0], signum)
    thread = _after_start(case.folder, 4, (0.1, send))
    start = time.time()
    assert _launch(thread, case, *option) == 1
    assert time.time() - start < 15
    line = _one_line(capsys)
    assert _all_gone(_pids(thread.started))
    return signalled[0], line


def test_a_frozen_worker_ends_the_job_after_the_stall_timeout(case, capsys):
    case.mode('spin')                                    # the other worker uses CPU time
    frozen, line = _signal_a_worker(case, capsys, signal.SIGSTOP, ('--stall-timeout', '1'))
    assert re.fullmatch(r'%s: error: worker [01] \(pid %d\) made no progress for 1 s '
                        r'\(stopped\); the job was stopped' % (LAUNCH, frozen), line)


def test_a_worker_killed_by_a_signal_ends_the_job_within_the_fail_timeout(case, capsys):
    """SIGKILL of one worker: the launcher names it and its signal, gives the others
    --fail-timeout (1 s) to end, then stops them and the scheduler and server."""
    killed, line = _signal_a_worker(case, capsys, signal.SIGKILL, ('--fail-timeout', '1'))
    assert re.fullmatch(r'%s: error: worker [01] \(pid %d\) exited with code -9; the job was '
                        r'stopped' % (LAUNCH, killed), line)


def test_a_worker_that_ends_while_the_others_wait_ends_the_job(case, capsys):
    case.mode('first-exits')                # its sleep, in its process group, goes too
    thread = _after_start(case.folder, 4)
    assert _launch(thread, case, '--stall-timeout', '1') == 1
    assert re.fullmatch(r'%s: error: the job made no progress for 1 s \(none of its '
                        r'processes used CPU time; worker [01] \(pid \d+\) had exited with '
                        r'code 0\); the job was stopped' % LAUNCH, _one_line(capsys))
    assert _all_gone(_pids(thread.started))


def test_a_signal_while_the_nodes_start_stops_those_started(case, capsys, monkeypatch):
    real, seen = subprocess.Popen, []

    def popen(command, **kwargs):
        seen.append(real(command, **kwargs))
        if len(seen) == 3:                  # the guard, the scheduler, the server: then SIGTERM
            os.kill(os.getpid(), signal.SIGTERM)
        return seen[-1]
    monkeypatch.setattr(processes.subprocess, 'Popen', popen)
    assert launch.main(['-n', '2', '--', sys.executable, case.script]) == 143
    assert _one_line(capsys) == '%s: SIGTERM received: the job was stopped' % LAUNCH
    assert len(seen) == 3 and all(p.returncode is not None for p in seen)   # no worker
    assert _all_gone([p.pid for p in seen])


def test_a_worker_command_that_cannot_run_is_bad_input_and_stops_what_started(case, capsys,
                                                                              monkeypatch):
    script = os.path.join(case.folder, 'noshebang.sh')
    os.makedirs(case.folder)
    with open(script, 'w') as f:
        f.write('echo trained\n')
    os.chmod(script, 0o755)
    real, seen = subprocess.Popen, []
    monkeypatch.setattr(processes.subprocess, 'Popen',
                        lambda *args, **kwargs: seen.append(real(*args, **kwargs)) or seen[-1])
    assert launch.main(['-n', '2', '--', script]) == 2
    assert _one_line(capsys) == '%s: error: the worker command %s: Exec format error' % (
        LAUNCH, script)
    assert len(seen) == 3 and _all_gone([p.pid for p in seen])   # the guard, scheduler, server


def test_a_job_launched_from_another_thread_runs_to_its_end(case):
    case.mode('done')                                    # the workers end after 1.5 s
    results = []
    thread = threading.Thread(target=lambda: results.append(launch.launch_local(
        [sys.executable, case.script], stall_timeout=0)))
    thread.start()
    thread.join(30)
    assert [code for code, _ in results[0]] == [0, 0] and results[0].failure is None
    assert _all_gone(_pids(_started(case.folder, 4)))


@pytest.mark.parametrize('argv, message', [
    (['-n', '100000', '--', 'true'], '-n must be between 1 and 64 (processes on this '
                                     'machine), not 100000'),
    (['-s', '65', '--', 'true'], '-s must be between 1 and 64 (processes on this machine), '
                                 'not 65'),
    (['--', 'no-such-program-here', '--kvstore', 'dist_sync'],
     'the worker command no-such-program-here: not found on PATH'),
    (['--', '/no/such/train.py'], 'the worker command /no/such/train.py: no such file'),
    (['--', PACKAGE], 'the worker command %s: not a file' % PACKAGE),
    (['--', PACKAGE + '/seeds.py'], 'the worker command %s/seeds.py: not executable' % PACKAGE),
    (['--stall-timeout', 'nan', '--', 'true'], '--stall-timeout must be >= 0 seconds, not nan'),
    (['--fail-timeout', '-1', '--', 'true'], '--fail-timeout must be >= 0 seconds, not -1.0'),
], ids=['n-huge', 's-65', 'not-on-path', 'no-file', 'a-folder', 'not-executable', 'stall-nan',
        'fail-negative'])
def test_the_launchers_bad_input_is_one_line_and_starts_nothing(argv, message, capsys,
                                                                monkeypatch):
    monkeypatch.setattr(processes.Children, 'start', None)       # nothing may start
    with pytest.raises(SystemExit) as exit_:
        launch.main(argv)
    assert exit_.value.code == 2
    assert _one_line(capsys) == '%s: error: %s' % (LAUNCH, message)


@pytest.mark.slow
def test_ctrl_z_suspends_the_job_and_sigkill_of_the_launcher_ends_it(stand_in):
    driver = stand_in.driver('launch', 'sigkill-launch', '-n', '2', '--',
                             sys.executable, stand_in.script)
    started = _started(stand_in.folder('sigkill-launch'), 4)
    nodes = [pid for pid, _ in started.values()]

    def states(pids, wanted, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline and any(_state(p) not in wanted for p in pids):
            time.sleep(0.05)
        return [_state(p) for p in pids]
    driver.send_signal(signal.SIGTSTP)                   # Ctrl-Z: the whole job stops
    assert set(states(nodes + [driver.pid], 'T')) == {'T'}
    driver.send_signal(signal.SIGCONT)                   # fg / bg: it goes on
    assert set(states(nodes, 'SR')) <= set('SR')
    driver.kill()
    assert driver.wait(5) == -signal.SIGKILL
    assert _all_gone(_pids(started))                     # the nodes, and what they started


def test_without_its_guard_a_child_still_dies_with_its_parent(stand_in):
    folder = stand_in.folder('guardless')
    driver = stand_in.driver('guardless', 'guardless')
    (child, its_sleep), = _started(folder, 1).values()
    deadline = time.time() + 10
    while not os.path.exists(os.path.join(folder, 'guardless')) and time.time() < deadline:
        time.sleep(0.05)
    driver.kill()
    assert driver.wait(5) == -signal.SIGKILL
    assert _all_gone([child])
    os.kill(its_sleep, signal.SIGKILL)      # the death signal reaches the child alone


# ---------------------------------------------------------------- the launcher over ssh
def _hosts(folder, *lines):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, 'hosts')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def _over_ssh(case, *lines):
    """The launcher's options of a job over the stub ssh (the nodes run here, each in a session
    of its own, as sshd runs them) on the hosts ``lines``."""
    return ['-H', _hosts(case.folder, *lines), '--ssh', '%s %s' % (sys.executable, SSH_STUB),
            '--fail-timeout', '1']


def test_a_hosts_file_places_the_nodes_as_it_says(tmp_path):
    path = _hosts(str(tmp_path), '# the cluster', 'alpha:2', '', 'beta  # one slot', 'gamma:1')
    hosts = read_hosts(path)
    assert hosts == [('alpha', 2), ('beta', 1), ('gamma', 1)]
    # the scheduler on the first host, the servers one a host, the workers by slots, again
    # from the first when there are more workers than slots
    assert placement(hosts, 6, 2) == [
        ('scheduler', 'alpha'), ('server 0', 'alpha'), ('server 1', 'beta'),
        ('worker 0', 'alpha'), ('worker 1', 'alpha'), ('worker 2', 'beta'), ('worker 3', 'gamma'),
        ('worker 4', 'alpha'), ('worker 5', 'alpha')]
    nodes = remote_nodes(['python', 'train cifar.py'], ['python', '-c', 'import mxnet'],
                         [('localhost', 1)], 1, 1, ['ssh', '-p', '22'], '/the job', 9000,
                         {'OMP_NUM_THREADS': '1', 'HOME': '/root'})
    assert [name for name, _ in nodes] == ['scheduler on localhost', 'server 0 on localhost',
                                           'worker 0 on localhost']
    argv = nodes[2][1]
    assert argv[:4] == ['ssh', '-p', '22', 'localhost'] and argv[4].startswith('exec sh -c ')
    script = shlex.split(argv[4])[3]
    assert script.startswith("export DMLC_INTERFACE=lo DMLC_NODE_HOST=127.0.0.1 "
                             "DMLC_NUM_SERVER=1 DMLC_NUM_WORKER=1 DMLC_PS_ROOT_PORT=9000 "
                             "DMLC_PS_ROOT_URI=127.0.0.1 DMLC_ROLE=worker OMP_NUM_THREADS=1\n"
                             "cd '/the job' || exit 2\n")
    assert "python 'train cifar.py' </dev/null &" in script and 'HOME' not in script


@pytest.mark.parametrize('lines, message', [
    (['alpha:0'], "line 1: 'alpha:0' is not host or host:slots"),
    (['# none'], 'lists no host'),
    (['alpha', 'be ta'], "line 2: 'be ta' is not host or host:slots"),
], ids=['no-slots', 'empty', 'space'])
def test_a_bad_hosts_file_is_one_line_and_starts_nothing(lines, message, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(processes.Children, 'start', None)       # nothing may start
    path = _hosts(str(tmp_path), *lines)
    with pytest.raises(SystemExit) as exit_:
        launch.main(['-H', path, '--', 'python', 'train.py'])
    line = _one_line(capsys)
    assert exit_.value.code == 2 and line.startswith('%s: error: hosts file %s' % (LAUNCH, path))
    assert message in line


def test_over_ssh_a_signal_to_the_launcher_stops_the_nodes_on_their_hosts(case, capsys):
    thread = _after_start(case.folder, 4, (0.2, _to_me(signal.SIGTERM)))
    assert _launch(thread, case, *_over_ssh(case, 'localhost:2')) == 143
    assert _one_line(capsys) == '%s: SIGTERM received: the job was stopped' % LAUNCH
    # each node and its sleep, ended on their side when their ssh ended
    assert len(thread.started) == 4 and _all_gone(_pids(thread.started))
    roles = sorted(name.split('-')[0] for name in thread.started)
    assert roles == ['scheduler', 'server', 'worker', 'worker']


def test_over_ssh_a_failing_worker_ends_the_job_whole(case, capsys):
    case.mode('first-fails')
    thread = _after_start(case.folder, 4)
    assert _launch(thread, case, *_over_ssh(case, 'localhost', '127.0.0.1')) == 1
    assert re.fullmatch(r'%s: error: worker 0 on localhost \(pid \d+\) exited with code 3; '
                        r'the job was stopped|%s: error: worker 1 on 127\.0\.0\.1 \(pid \d+\) '
                        r'exited with code 3; the job was stopped' % (LAUNCH, LAUNCH),
                        _one_line(capsys))
    assert _all_gone(_pids(thread.started))


@pytest.mark.parametrize('extra, message', [
    (['--stall-timeout', '5'], '--stall-timeout watches this machine\'s processes; the nodes of '
                               '-H run elsewhere: leave it out or give 0'),
    (['--ssh', 'no-such-ssh -p 22'], 'the ssh command no-such-ssh: not found on PATH'),
], ids=['stall', 'no-ssh'])
def test_the_ssh_options_bad_input_is_one_line(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(processes.Children, 'start', None)
    with pytest.raises(SystemExit) as exit_:
        launch.main(['-H', _hosts(str(tmp_path), 'localhost')] + extra + ['--', 'train.py'])
    assert exit_.value.code == 2 and _one_line(capsys) == '%s: error: %s' % (LAUNCH, message)


def test_sigkill_of_the_launcher_ends_the_nodes_it_started_over_ssh(stand_in):
    folder = stand_in.folder('sigkill-ssh')
    hosts = _hosts(folder + '-hosts', 'localhost:2')
    driver = stand_in.driver('launch', 'sigkill-ssh', '-H', hosts, '--ssh', '%s %s' % (
        sys.executable, SSH_STUB), '-n', '2', '--', sys.executable, stand_in.script)
    started = _started(folder, 4)
    driver.kill()
    assert driver.wait(5) == -signal.SIGKILL
    assert _all_gone(_pids(started))            # ssh died with it: each node ended on its side


# ---------------------------------------------------------------- seeds launch
@pytest.fixture
def seeds_case(case, monkeypatch):
    monkeypatch.setattr(seeds, 'train_command',
                        lambda argv, script='cifar': [sys.executable, case.script] + list(argv))
    case.argv = ['launch', '--models', 'resnet8', '--seeds', '1,2', '--out',
                 os.path.join(case.folder, 'runs'), '--dataset', 'digits']
    case.run = os.path.join(case.folder, 'runs', 'resnet8', 'seed-1')
    return case


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=['TERM', 'HUP', 'INT'])
def test_a_signal_to_seeds_launch_stops_its_run(signum, seeds_case, capsys):
    thread = _after_start(seeds_case.folder, 1, (0.2, _to_me(signum)))
    assert _main(thread, seeds.main, seeds_case.argv) == 128 + signum
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        '%s: %s received: the run in %s was stopped; the same command again continues it'
        % (SEEDS, signal.Signals(signum).name, seeds_case.run)]
    assert '[2/2]' not in captured.out                  # the next run did not start
    assert len(thread.started) == 1 and _all_gone(_pids(thread.started))
    assert in_use(seeds_case.run) is None


def test_a_run_killed_by_a_signal_stops_seeds_launch_in_one_line(seeds_case, capsys,
                                                                 monkeypatch):
    monkeypatch.setattr(seeds, 'train_command', lambda argv, script='cifar': [
        sys.executable, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'])
    assert seeds.main(seeds_case.argv) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        '%s: run %s failed (killed by signal SIGKILL): the runs before it are kept; the same '
        'command again continues from it' % (SEEDS, seeds_case.run)]


@pytest.mark.slow
def test_sigkill_of_seeds_launch_takes_its_run_with_it(stand_in):
    runs = os.path.join(stand_in.folder('sigkill-seeds'), 'runs')
    driver = stand_in.driver('seeds', 'sigkill-seeds', 'launch', '--models', 'resnet8',
                             '--seeds', '1', '--out', runs, '--dataset', 'digits')
    started = _started(stand_in.folder('sigkill-seeds'), 1, timeout=60)
    run = os.path.join(runs, 'resnet8', 'seed-1')
    assert in_use(run) == list(started.values())[0][0]
    driver.kill()
    assert driver.wait(5) == -signal.SIGKILL
    assert _all_gone(_pids(started))                     # the run, and what it started
    assert in_use(run) is None                           # its lock is free


# ---------------------------------------------------------------- the lock of a stopped run
def test_a_dead_process_not_yet_reaped_holds_no_lock(tmp_path):
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    deadline = time.time() + 10
    while _state(child.pid) != 'Z' and time.time() < deadline:   # dead, not reaped: a zombie
        time.sleep(0.02)
    (tmp_path / '.ini-gluon-rank0.lock').write_text('%d\n' % child.pid)
    try:
        assert _state(child.pid) == 'Z' and in_use(str(tmp_path)) is None
        (tmp_path / '.ini-gluon-rank1.lock').write_text('%d\n' % os.getpid())
        assert in_use(str(tmp_path)) == os.getpid()
    finally:
        child.wait()


# ---------------------------------------------------------------- what a stall is
def test_a_stall_is_counted_while_the_launcher_watches(monkeypatch):
    usage = {11: (5, None), 12: (7, None)}
    monkeypatch.setattr(launch, 'group_usage', lambda groups: dict(usage))
    children = SimpleNamespace(ended=lambda proc: None)
    job = [('scheduler', SimpleNamespace(pid=11)), ('worker 0', SimpleNamespace(pid=12))]
    stall = launch._Stall(children, job, 2)
    assert [stall.check(t) for t in (0, 0.5, 1, 1.5)] == [None] * 4
    assert stall.check(2) == ('the job made no progress for 2 s (none of its processes used '
                              'CPU time)')
    stall = launch._Stall(children, job, 2)
    assert [stall.check(t) for t in (0, 1, 8)] == [None] * 3    # Ctrl-Z from 1 s to 8 s
    assert [stall.check(t) for t in (9, 9.5)] == [None] * 2
    usage[12] = (8, 12)                                          # it used CPU time, then stopped
    assert [stall.check(t) for t in (10, 11, 11.5)] == [None] * 3
    assert stall.check(12) == 'worker 0 (pid 12) made no progress for 2 s (stopped)'
    usage[12] = (8, 13)
    stall = launch._Stall(children, job, 2)
    assert [stall.check(t) for t in (0, 1)] == [None] * 2
    assert stall.check(2) == ('worker 0 (pid 12) made no progress for 2 s (its process 13 is '
                              'stopped)')
