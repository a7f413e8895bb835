"""Start a parameter-server job on this machine: 1 scheduler, S servers and N workers.

``python -m ini_gluon.training.launch -n 2 -s 1 -- python train_cifar.py ... --kvstore dist_sync``

Each process gets MXNet's variables (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``,
``DMLC_NUM_SERVER``, ``DMLC_NUM_WORKER``); the scheduler and servers are ``python -c "import
mxnet"`` (MXNet serves when ``DMLC_ROLE`` says so).  Across machines, set the same variables on
each node by hand.  (MXNet's own ``tools/launch.py`` local launcher fails on Python >= 3.9.)

The job fails whole: when a worker exits with an error, or the scheduler or a server ends while
workers still run, the others get ``--fail-timeout`` seconds to end by themselves (a
``dist_sync`` worker waits for the dead one forever), then every process of the job is stopped
and the launcher exits non-zero naming the node that died.  SIGINT and SIGTERM stop the whole
job too; no process of it is left behind.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from .._argparse import OneLineParser

__all__ = ['free_port', 'launch_local', 'JobResults', 'main']


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
                 fail_timeout=60, **popen):
    """Run ``command`` (a list) as ``num_workers`` workers on 127.0.0.1.

    Parameters
    ----------
    timeout : float, optional
        Seconds the whole job may take; then it is stopped.
    fail_timeout : float
        Seconds the other processes get to end once a node has died.
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
    serve = [sys.executable, '-c', 'import mxnet']
    nodes, workers, outputs, readers = [], [], [], []
    try:
        nodes.append(('scheduler', subprocess.Popen(serve, env=dict(env, DMLC_ROLE='scheduler'))))
        nodes += [('server %d' % i, subprocess.Popen(serve, env=dict(env, DMLC_ROLE='server')))
                  for i in range(num_servers)]
        for _ in range(num_workers):
            worker = subprocess.Popen(command, env=dict(env, DMLC_ROLE='worker'), **popen)
            workers.append(worker)
            outputs.append([])
            if worker.stdout is not None:       # drained on a thread: a full pipe blocks
                readers.append(threading.Thread(target=_read, args=(worker.stdout,
                                                                     outputs[-1]), daemon=True))
                readers[-1].start()
        failure = _watch(workers, nodes, timeout, fail_timeout)
    finally:
        _stop([w for w in workers] + [p for _, p in nodes])
    for reader in readers:
        reader.join(timeout=10)
    results = JobResults((w.returncode, out[0] if out else None)
                         for w, out in zip(workers, outputs))
    results.failure = failure
    results.pids = tuple(p.pid for p in workers + [p for _, p in nodes])
    return results


def _watch(workers, nodes, timeout, fail_timeout):
    """Wait until every worker has ended, or a node died and ``fail_timeout`` passed, or the
    job's ``timeout``; returns what failed, or ``None``."""
    start, failure, failed_at = time.time(), None, None
    while not all(w.poll() is not None for w in workers):
        if failure is None:
            failure = _first_failure(workers, nodes)
            failed_at = time.time()
        elif time.time() - failed_at > fail_timeout:
            break
        if timeout is not None and time.time() - start > timeout:
            return failure or 'the job took longer than %g s' % timeout
        time.sleep(0.2)
    return failure or _first_failure(workers, [])


def _first_failure(workers, nodes):
    for rank, worker in enumerate(workers):
        code = worker.poll()
        if code not in (None, 0):
            return 'worker %d (pid %d) exited with code %d' % (rank, worker.pid, code)
    for name, node in nodes:              # ending cleanly as the workers finalise is no failure
        if node.poll() not in (None, 0):
            return '%s (pid %d) ended with code %d while workers still ran' % (
                name, node.pid, node.returncode)
    return None


def _stop(procs, grace=5):
    """Terminate what still runs, then kill what does not end within ``grace`` seconds."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)        # unwinds through launch_local, which stops the job


def main(argv=None):
    parser = OneLineParser(prog='python -m ini_gluon.training.launch',
                           description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--num-workers', type=int, default=2)
    parser.add_argument('-s', '--num-servers', type=int, default=1)
    parser.add_argument('--fail-timeout', type=float, default=60,
                        help='seconds the job gets to end once a node died (default 60)')
    parser.add_argument('command', nargs='...', help='the worker command')
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('give the worker command after --')
    for flag, value in (('-n', args.num_workers), ('-s', args.num_servers)):
        if value < 1:
            parser.error('%s must be >= 1, not %d' % (flag, value))
    if not args.fail_timeout >= 0:
        parser.error('--fail-timeout must be >= 0, not %r' % args.fail_timeout)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        results = launch_local(command, args.num_workers, args.num_servers,
                               fail_timeout=args.fail_timeout)
    except KeyboardInterrupt:
        print('%s: interrupted: the job was stopped' % parser.prog, file=sys.stderr)
        return 130
    if results.failure:
        print('%s: error: %s; the job was stopped' % (parser.prog, results.failure),
              file=sys.stderr)
        return 1
    return max((code for code, _ in results), key=abs)


if __name__ == '__main__':
    sys.exit(main())
