"""Start a parameter-server job on this machine: 1 scheduler, S servers and N workers.

``python -m ini_gluon.training.launch -n 2 -s 1 -- python train_cifar.py ... --kvstore dist_sync``

Each process gets MXNet's variables (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``,
``DMLC_NUM_SERVER``, ``DMLC_NUM_WORKER``); the scheduler and servers are ``python -c "import
mxnet"`` (MXNet serves when ``DMLC_ROLE`` says so).  Across machines, set the same variables on
each node by hand.  (MXNet's own ``tools/launch.py`` local launcher fails on Python >= 3.9, and
its dmlc tracker is not shipped in the mxnet wheel.)

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
"""
import errno
import os
import shutil
import socket
import sys
import threading
import time

from .._argparse import OneLineParser
from .processes import Children, Interrupted, group_usage, stop_signals

__all__ = ['free_port', 'launch_local', 'JobResults', 'main', 'SERVE', 'MAX_NODES',
           'STALL_TIMEOUT']

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
    nodes, workers, outputs, readers = [], [], [], []
    with Children() as children:
        nodes.append(('scheduler', children.start(SERVE, env=dict(env, DMLC_ROLE='scheduler'))))
        nodes += [('server %d' % i, children.start(SERVE, env=dict(env, DMLC_ROLE='server')))
                  for i in range(num_servers)]
        for _ in range(num_workers):
            worker = children.start(command, env=dict(env, DMLC_ROLE='worker'), **popen)
            workers.append(worker)
            outputs.append([])
            if worker.stdout is not None:       # drained on a thread: a full pipe blocks
                readers.append(threading.Thread(target=_read, args=(worker.stdout,
                                                                     outputs[-1]), daemon=True))
                readers[-1].start()
        job = nodes + [('worker %d' % rank, w) for rank, w in enumerate(workers)]
        failure = _watch(children, job, timeout, fail_timeout, stall_timeout)
    for reader in readers:
        reader.join(timeout=10)
    results = JobResults((w.returncode, out[0] if out else None)
                         for w, out in zip(workers, outputs))
    results.failure = failure
    results.pids = tuple(p.pid for p in workers + [p for _, p in nodes])
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
                           description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--num-workers', type=int, default=2)
    parser.add_argument('-s', '--num-servers', type=int, default=1)
    parser.add_argument('--fail-timeout', type=float, default=60,
                        help='seconds the job gets to end once a node died (default 60)')
    parser.add_argument('--stall-timeout', type=float, default=STALL_TIMEOUT,
                        help='seconds a node may stay stopped, or the whole job use no CPU '
                             'time, before the job is stopped; 0: never (default %d)'
                             % STALL_TIMEOUT)
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
        if not value >= 0:
            parser.error('%s must be >= 0 seconds, not %r' % (flag, value))
    why = _program_error(args.command[0])
    if why:
        parser.error('the worker command %s: %s' % (args.command[0], why))
    return parser.prog, args


def main(argv=None):
    """``python -m ini_gluon.training.launch``; returns the exit status (0 done, 1 the job
    failed, 2 bad input, 128 + the signal that stopped it)."""
    prog, args = _parse(argv)
    try:
        with stop_signals():
            results = launch_local(args.command, args.num_workers, args.num_servers,
                                   fail_timeout=args.fail_timeout,
                                   stall_timeout=args.stall_timeout)
    except Interrupted as stop:
        _say('%s: %s received: the job was stopped' % (prog, stop))
        return stop.code
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
