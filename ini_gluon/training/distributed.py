"""Data parallelism across machines through MXNet's parameter-server KVStore (``dist_*``)."""
import mxnet as mx

__all__ = ['ParameterServer']


class ParameterServer(object):
    """Data parallelism across machines through MXNet's parameter-server KVStore (``dist_*``).

    Worker 0's parameters are pushed to the servers and pulled by every worker before any
    gradient is pushed (Gluon's Trainer initialises the keys lazily inside its first ``step``,
    where a fast worker's first gradient can reach the server before a slow worker pulled the
    initial weights, and is then pulled as its weights).

    ``dist_sync`` / ``dist_device_sync``: the servers sum the gradients of all workers (and of
    all devices of a worker); every worker applies the same update locally, so each holds the
    optimizer state its checkpoints need.  ``dist_async``: the servers hold the optimizer and
    apply each worker's gradients as they come; workers pull the weights.
    """

    def __init__(self, kv, net, optimizer):
        self.kv = kv
        self.params = [p for p in net.collect_params().values() if p.grad_req != 'null']
        self.asynchronous = 'async' in kv.type
        if self.asynchronous:
            kv.set_optimizer(optimizer)
        keys = list(range(len(self.params)))
        # plain-layout copies: MKL-DNN may hold weights in a blocked layout the KVStore rejects
        values = self._plain([p.data(p.list_ctx()[0]) for p in self.params])
        kv.init(keys, values)
        kv.pull(keys, out=values)
        self._assign(values)

    @staticmethod
    def _plain(arrays):
        return [mx.nd.array(a.asnumpy(), dtype=a.dtype) for a in arrays]

    def _assign(self, values):
        mx.nd.waitall()
        for p, v in zip(self.params, values):
            p.set_data(v)

    def step(self, trainer, batch_size):
        """Aggregate this step's gradients over workers and devices, then update."""
        for i, p in enumerate(self.params):
            self.kv.push(i, p.list_grad(), priority=-i)
        if self.asynchronous:        # the servers updated the weights
            weights = [mx.nd.zeros(p.shape, dtype=p.dtype) for p in self.params]
            for i, w in enumerate(weights):
                self.kv.pull(i, w, priority=-i)
            self._assign(weights)
        else:                        # every worker applies the summed gradients
            for i, p in enumerate(self.params):
                self.kv.pull(i, p.list_grad(), priority=-i)
            trainer.update(batch_size)
