"""Start a parameter-server job on this machine: 1 scheduler, S servers and N workers.

``python -m ini_gluon.training.launch -n 2 -s 1 -- python train_cifar.py ... --kvstore dist_sync``

Each process gets MXNet's variables (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``,
``DMLC_NUM_SERVER``, ``DMLC_NUM_WORKER``); the scheduler and servers are ``python -c "import
mxnet"`` (MXNet serves when ``DMLC_ROLE`` says so).  Across machines, set the same variables on
each node by hand.  (MXNet's own ``tools/launch.py`` local launcher fails on Python >= 3.9.)
"""
import argparse
import os
import socket
import subprocess
import sys

__all__ = ['free_port', 'launch_local', 'main']


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def launch_local(command, num_workers=2, num_servers=1, port=None, timeout=None, **popen):
    """Run ``command`` (a list) as ``num_workers`` workers on 127.0.0.1.

    Returns
    -------
    list of subprocess.CompletedProcess-like (returncode, stdout) tuples, one per worker.
    """
    env = dict(os.environ, DMLC_PS_ROOT_URI='127.0.0.1', DMLC_PS_ROOT_PORT=str(port or free_port()),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers),
               DMLC_NODE_HOST='127.0.0.1', DMLC_INTERFACE='lo')
    serve = [sys.executable, '-c', 'import mxnet']
    nodes = [subprocess.Popen(serve, env=dict(env, DMLC_ROLE='scheduler'))]
    nodes += [subprocess.Popen(serve, env=dict(env, DMLC_ROLE='server'))
              for _ in range(num_servers)]
    workers = [subprocess.Popen(command, env=dict(env, DMLC_ROLE='worker'), **popen)
               for _ in range(num_workers)]
    try:
        results = [(w.returncode, out) for w in workers
                   for out in [w.communicate(timeout=timeout)[0]]]
        for node in nodes:
            node.wait(timeout=60)
        return results
    finally:
        for proc in workers + nodes:
            if proc.poll() is None:
                proc.kill()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--num-workers', type=int, default=2)
    parser.add_argument('-s', '--num-servers', type=int, default=1)
    parser.add_argument('command', nargs=argparse.REMAINDER, help='the worker command')
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('give the worker command after --')
    codes = [code for code, _ in launch_local(command, args.num_workers, args.num_servers)]
    return max(codes, key=abs)


if __name__ == '__main__':
    sys.exit(main())
