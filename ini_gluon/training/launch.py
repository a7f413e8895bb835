"""Start a parameter-server job: 1 scheduler, S servers and N workers, on this machine or, with a
hosts file, over ssh on the machines it lists.

``python -m ini_gluon.training.launch -n 2 -s 1 -- python train_cifar.py ... --kvstore dist_sync``
``python -m ini_gluon.training.launch -H hosts -n 4 -s 2 -- python train_cifar.py ...``

Each process gets MXNet's variables (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``,
``DMLC_NUM_SERVER``, ``DMLC_NUM_WORKER``, ``DMLC_NODE_HOST``); the scheduler and servers are
``python -c "import mxnet"`` (MXNet serves when ``DMLC_ROLE`` says so).  MXNet's own
``tools/launch.py`` local launcher fails on Python >= 3.9, and the ssh mode of its dmlc tracker
(the ``dmlc_tracker`` package of the mxnet wheel) starts each node with ``ssh ... 'export
DMLC_...; cd dir; cmd'`` on a thread and watches none of them: a dead node leaves the others
waiting, and the launcher's death leaves the job running.  The hosts mode here starts the nodes
the same way (:mod:`ini_gluon.training.hosts`) under the guarantees below.

The job fails whole: when a worker exits with an error, or the scheduler or a server ends while
workers still run, the others get ``--fail-timeout`` seconds to end by themselves (a
``dist_sync`` worker waits for the dead one forever), then every process of the job is stopped
and the launcher exits non-zero naming the node that died.  A job that makes no progress for
``--stall-timeout`` seconds (default 600; 0: never) is stopped too, naming the node: a node
stopped all that time (state T: SIGSTOP, a debugger), or no process of the job using CPU time
(a worker that ended while the others wait for it).  SIGINT, SIGTERM and SIGHUP stop the whole
job (SIGKILL after 5 s, or at once on a second signal; exit 128 + the signal), and so does the
launcher's death by SIGKILL, which no handler sees: each node, in a process group of its own,
gets SIGKILL from the kernel when the launcher dies, and a guard process kills what the nodes
started (:mod:`ini_gluon.training.processes`).  Ctrl-Z suspends the whole job.

Over ssh (``-H``), each node is an ``ssh`` process here: a node that exits with an error ends
the job as above (ssh exits with the remote command's status, 255 where it could not connect),
and an ssh process that ends -- stopped with the job, or killed with the launcher -- closes the
remote command's standard input, on which the remote side stops the node's whole process group
(SIGTERM, SIGKILL 5 s later).  The stall watch reads this machine's processes only, so it is off
over ssh; Ctrl-Z suspends the ssh processes, not the remote nodes.
"""
import errno
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time

from .._argparse import OneLineParser, first_paragraph
from .hosts import HostsError, read_hosts, remote_nodes
from .processes import Children, Interrupted, group_usage, stop_signals

__all__ = ['free_port', 'launch_local', 'launch_hosts', 'JobResults', 'main', 'SERVE',
           'MAX_NODES', 'STALL_TIMEOUT']

# the command of the scheduler and of each server: MXNet serves when DMLC_ROLE says so
SERVE = [sys.executable, '-c', 'import mxnet']
MAX_NODES = 64              # workers, and servers, of one job on one machine
STALL_TIMEOUT = 600         # seconds without progress before a job is stopped (--stall-timeout)
# what the worker command's program running not at all says of it: bad input (exit 2)
BAD_PROGRAM = {errno.ENOENT, errno.EACCES, errno.ENOEXEC, errno.ENOTDIR, errno.EISDIR}


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class JobResults(list):
    """``[(returncode, output), ...]`` per worker; ``failure`` names the node that ended the job
    (``None`` when every worker finished), ``pids`` every process the job started."""
    failure = None
    pids = ()


def _read(stream, into):
    into.append(stream.read())


def launch_local(command, num_workers=2, num_servers=1, port=None, timeout=None,
                 fail_timeout=60, stall_timeout=None, **popen):
    """Run ``command`` (a list) as ``num_workers`` workers on 127.0.0.1.

    Every process of the job is a child of :class:`~ini_gluon.training.processes.Children`:
    it ends with the job, and with the calling process, even when that is killed.

    Parameters
    ----------
    timeout : float, optional
        Seconds the whole job may take; then it is stopped.
    fail_timeout : float
        Seconds the other processes get to end once a node has died.
    stall_timeout : float, optional
        Seconds without progress (a node stopped, or no CPU time used by the job) before the
        job is stopped; ``None`` or 0: never.
    **popen
        Passed to the workers' ``subprocess.Popen`` (``stdout=subprocess.PIPE`` collects each
        worker's output).

    Returns
    -------
    JobResults
    """
    env = dict(os.environ, DMLC_PS_ROOT_URI='127.0.0.1', DMLC_PS_ROOT_PORT=str(port or free_port()),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers),
               DMLC_NODE_HOST='127.0.0.1', DMLC_INTERFACE='lo')
    nodes = [('scheduler', SERVE, dict(env, DMLC_ROLE='scheduler'))]
    nodes += [('server %d' % i, SERVE, dict(env, DMLC_ROLE='server')) for i in range(num_servers)]
    nodes += [('worker %d' % r, command, dict(env, DMLC_ROLE='worker'))
              for r in range(num_workers)]
    return _run_job(nodes, timeout, fail_timeout, stall_timeout, popen)


def launch_hosts(command, hosts, num_workers=2, num_servers=1, ssh=('ssh',), workdir=None,
                 port=None, timeout=None, fail_timeout=60, **popen):
    """Run ``command`` (a list) as ``num_workers`` workers on the machines ``hosts``
    (``[(host, slots)]``, :func:`~ini_gluon.training.hosts.read_hosts`), each node started
    with ``ssh`` (a list: the program and its options) and its folder ``workdir`` (default:
    this one); the scheduler on the first host, the servers one a host in turn, the workers
    filling each host's slots in order (:func:`~ini_gluon.training.hosts.remote_nodes`).  The
    job ends whole as :func:`launch_local`'s; every node's ssh keeps its standard input open
    from here, whose end stops the node on its machine.  Returns :class:`JobResults`."""
    nodes = remote_nodes(command, SERVE, hosts, num_workers, num_servers, list(ssh),
                         workdir or os.getcwd(), port or free_port(), os.environ)
    return _run_job([(name, argv, None) for name, argv in nodes], timeout, fail_timeout, None,
                    popen, stdin=subprocess.PIPE)


def _run_job(nodes, timeout, fail_timeout, stall_timeout, popen, **every):
    """Start ``nodes`` (``[(name, command, environment)]``: the scheduler, the servers, then
    the workers), the workers with ``popen`` (their outputs collected where piped), every node
    with ``every``; watch them (:func:`_watch`) and stop them all.  Returns
    :class:`JobResults`."""
    started, workers, outputs, readers = [], [], [], []
    with Children() as children:
        for name, command, env in nodes:
            options = dict(every, **(popen if name.startswith('worker') else {}))
            proc = children.start(command, env=env, **options)
            started.append((name, proc))
            if not name.startswith('worker'):
                continue
            workers.append(proc)
            outputs.append([])
            if proc.stdout is not None:         # drained on a thread: a full pipe blocks
                readers.append(threading.Thread(target=_read, args=(proc.stdout,
                                                                     outputs[-1]), daemon=True))
                readers[-1].start()
        failure = _watch(children, started, timeout, fail_timeout, stall_timeout)
    for reader in readers:
        reader.join(timeout=10)
    for _, proc in started:
        if proc.stdin is not None:
            proc.stdin.close()
    results = JobResults((w.returncode, out[0] if out else None)
                         for w, out in zip(workers, outputs))
    results.failure = failure
    results.pids = tuple(p.pid for _, p in started)
    return results


def _watch(children, job, timeout, fail_timeout, stall_timeout):
    """Wait until every worker has ended, or a node died and ``fail_timeout`` passed, or the job
    stalled, or the job's ``timeout``; returns what failed, or ``None``."""
    start, failure, failed_at = time.monotonic(), None, None
    stall = _Stall(children, job, stall_timeout) if stall_timeout else None
    workers = [proc for name, proc in job if name.startswith('worker')]
    while not all(children.ended(w) is not None for w in workers):
        now = time.monotonic()
        stalled = stall.check(now) if stall is not None else None
        if stalled:
            return failure or stalled
        if failure is None:
            failure = _first_failure(children, job)
            failed_at = now
        elif now - failed_at > fail_timeout:
            break
        if timeout is not None and now - start > timeout:
            return failure or 'the job took longer than %g s' % timeout
        time.sleep(0.2)
    return failure or _first_failure(children, [(n, p) for n, p in job if p in workers])


def _first_failure(children, job):
    """The first worker that exited with an error, else the first scheduler or server that
    ended with one while workers still ran (ending cleanly as they finalise is no failure)."""
    for name, proc in sorted(job, key=lambda node: not node[0].startswith('worker')):
        code = children.ended(proc)
        if code not in (None, 0):
            if name.startswith('worker'):
                return '%s (pid %d) exited with code %d' % (name, proc.pid, code)
            return '%s (pid %d) ended with code %d while workers still ran' % (
                name, proc.pid, code)
    return None


class _Stall(object):
    """Whether a job makes progress, read from ``/proc`` every second (no change to the
    training loop): a node's process group holding a stopped process (state ``T``/``t``) for
    ``timeout`` seconds, or the CPU time of every group unchanged for ``timeout`` seconds.
    A check more than a second late (the launcher itself was suspended) starts the count
    again."""

    def __init__(self, children, job, timeout):
        self.children, self.job, self.timeout = children, job, timeout
        self.interval = min(1.0, timeout / 4.0)
        self.checked_at = None

    def check(self, now):
        """What stalled (one line), or ``None``."""
        if self.checked_at is not None and now - self.checked_at < self.interval:
            return None
        usage = group_usage([proc.pid for _, proc in self.job])
        if self.checked_at is None or now - self.checked_at > self.interval + 1:
            # the first check, or the launcher was not watching (itself suspended by Ctrl-Z or
            # SIGSTOP, or starved): the time it did not see is no one's stall
            self.cpu, self.progress_at, self.stopped_since = None, now, {}
        self.checked_at = now
        for name, proc in self.job:
            stopped = usage.get(proc.pid, (0, None))[1]
            if stopped is None:
                self.stopped_since.pop(name, None)
            elif now - self.stopped_since.setdefault(name, now) >= self.timeout:
                return '%s (pid %d) made no progress for %g s (%s)' % (
                    name, proc.pid, self.timeout, 'stopped' if stopped == proc.pid
                    else 'its process %d is stopped' % stopped)
        cpu = tuple(usage.get(proc.pid, (0, None))[0] for _, proc in self.job)
        if cpu != self.cpu:
            self.cpu, self.progress_at = cpu, now
        elif now - self.progress_at >= self.timeout:
            return 'the job made no progress for %g s (none of its processes used CPU time%s)' % (
                self.timeout, self._ended())
        return None

    def _ended(self):
        ended = ['%s (pid %d) had exited with code %d' % (name, proc.pid,
                                                           self.children.ended(proc))
                 for name, proc in self.job if self.children.ended(proc) is not None]
        return '; ' + ', '.join(ended) if ended else ''


def _program_error(program):
    """Why the worker command's ``program`` cannot run, or ``None``."""
    if os.sep in program:
        if not os.path.isfile(program):
            return 'not a file' if os.path.exists(program) else 'no such file'
        return None if os.access(program, os.X_OK) else 'not executable'
    return None if shutil.which(program) else 'not found on PATH'


def _say(line):
    """One line on stderr, which may be gone (SIGHUP: the terminal was closed)."""
    try:
        print(line, file=sys.stderr)
    except OSError:
        pass


def _parse(argv):
    parser = OneLineParser(prog='python -m ini_gluon.training.launch',
                           description=first_paragraph(__doc__))
    parser.add_argument('-n', '--num-workers', type=int, default=2)
    parser.add_argument('-s', '--num-servers', type=int, default=1)
    parser.add_argument('-H', '--hostfile', metavar='FILE',
                        help='start the nodes over ssh on the machines of FILE, one host or '
                             'host:slots a line (default: all on this machine)')
    parser.add_argument('--ssh', default='ssh', metavar='CMD',
                        help='the ssh command of -H, with its options (default: ssh)')
    parser.add_argument('--workdir', metavar='DIR',
                        help='the folder the nodes of -H start in (default: this one; the same '
                             'path on every machine)')
    parser.add_argument('--port', type=int, default=None,
                        help='the scheduler\'s port (default: one free on this machine)')
    parser.add_argument('--fail-timeout', type=float, default=60,
                        help='seconds the job gets to end once a node died (default 60)')
    parser.add_argument('--stall-timeout', type=float, default=None,
                        help='seconds a node may stay stopped, or the whole job use no CPU '
                             'time, before the job is stopped; 0: never (default %d; off with '
                             '-H, whose nodes this machine does not see)' % STALL_TIMEOUT)
    parser.add_argument('command', nargs='...', help='the worker command')
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not args.command:
        parser.error('give the worker command after --')
    for flag, value in (('-n', args.num_workers), ('-s', args.num_servers)):
        if not 1 <= value <= MAX_NODES:
            parser.error('%s must be between 1 and %d (processes on this machine), not %d'
                         % (flag, MAX_NODES, value))
    for flag, value in (('--fail-timeout', args.fail_timeout),
                        ('--stall-timeout', args.stall_timeout)):
        if value is not None and not value >= 0:
            parser.error('%s must be >= 0 seconds, not %r' % (flag, value))
    if args.port is not None and not 1 <= args.port <= 65535:
        parser.error('--port must be between 1 and 65535, not %d' % args.port)
    if args.hostfile:
        _check_hosts_options(parser, args)
    else:
        why = _program_error(args.command[0])
        if why:
            parser.error('the worker command %s: %s' % (args.command[0], why))
        if args.stall_timeout is None:
            args.stall_timeout = STALL_TIMEOUT
    return parser.prog, args


def _check_hosts_options(parser, args):
    """``-H``: the hosts file read, the ssh command's program found here; the worker command
    runs elsewhere (not looked for here), and no stall watch (this machine does not see the
    remote nodes' processes)."""
    if args.stall_timeout:
        parser.error('--stall-timeout watches this machine\'s processes; the nodes of -H run '
                     'elsewhere: leave it out or give 0')
    try:
        args.hosts = read_hosts(args.hostfile)
        args.ssh = shlex.split(args.ssh)
    except (HostsError, ValueError) as err:
        parser.error(str(err) if isinstance(err, HostsError) else '--ssh %r: %s'
                     % (args.ssh, err))
    why = _program_error(args.ssh[0]) if args.ssh else 'empty'
    if why:
        parser.error('the ssh command %s: %s' % (args.ssh[0] if args.ssh else '', why))


def _launch(args):
    """The job of the parsed command line ``args``: on this machine, or over ssh (``-H``)."""
    if args.hostfile:
        return launch_hosts(args.command, args.hosts, args.num_workers, args.num_servers,
                            args.ssh, args.workdir, args.port, fail_timeout=args.fail_timeout)
    return launch_local(args.command, args.num_workers, args.num_servers, port=args.port,
                        fail_timeout=args.fail_timeout, stall_timeout=args.stall_timeout)


def main(argv=None):
    """``python -m ini_gluon.training.launch``; returns the exit status (0 done, 1 the job
    failed, 2 bad input, 128 + the signal that stopped it)."""
    prog, args = _parse(argv)
    try:
        with stop_signals():
            results = _launch(args)
    except Interrupted as stop:
        _say('%s: %s received: the job was stopped' % (prog, stop))
        return stop.code
    except HostsError as err:
        _say('%s: error: %s' % (prog, err))
        return 2
    except OSError as err:
        if err.errno in BAD_PROGRAM:        # the worker command's program would not run
            _say('%s: error: the worker command %s: %s' % (prog, args.command[0],
                                                           err.strerror))
            return 2
        _say('%s: error: the job could not start: %s' % (prog, err))
        return 1
    if results.failure:
        _say('%s: error: %s; the job was stopped' % (prog, results.failure))
        return 1
    return max((code for code, _ in results), key=abs)


if __name__ == '__main__':
    sys.exit(main())
