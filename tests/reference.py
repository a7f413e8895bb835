"""NumPy re-implementations of the attention layers, written from the paper's equations, to
check the Gluon layers against."""
import numpy as np

BN_EPS = 1e-5


def bn_inference(y, bn):
    """BatchNorm over axis 1 with running statistics."""
    gamma, beta, mean, var = (p.data().asnumpy() for p in
                              (bn.gamma, bn.beta, bn.running_mean, bn.running_var))
    shape = (1, -1) + (1,) * (y.ndim - 2)
    return (y - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + BN_EPS) \
        * gamma.reshape(shape) + beta.reshape(shape)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def encoder(v, enc):
    """eq. 14 without the outer product: sigmoid(w2 . relu(w1 . v))."""
    w1 = enc.fc1.weight.data().asnumpy()
    w2 = enc.fc2.weight.data().asnumpy()
    return sigmoid(np.maximum(v @ w1.T, 0) @ w2.T)


def layout_map(u_hat, x_hat, layout, rows, cols):
    """eq. 4 / eq. 19 / eq. 24, element by element."""
    n, c = u_hat.shape
    if layout == 'stack':
        return np.stack([u_hat, x_hat], axis=1)
    v = np.zeros((n, rows, cols))
    for r in range(rows):
        for k in range(cols):
            if layout == 'fold':
                v[:, r, k] = u_hat[:, r * cols + k]
            else:  # alt: even rows residual, odd rows identity of the same channel range
                src = u_hat if r % 2 == 0 else x_hat
                v[:, r, k] = src[:, (r // 2) * cols + k]
    return v


def valid_conv(v, w, dilation):
    """Valid cross-correlation of (N, R, C) with filters (E, 1, a, b) -> (N, E, n, m)."""
    e, _, a, b = w.shape
    fr, fc = (a - 1) * dilation + 1, (b - 1) * dilation + 1
    n, m = v.shape[1] - fr + 1, v.shape[2] - fc + 1
    out = np.zeros((v.shape[0], e, n, m))
    for i in range(n):
        for j in range(m):
            patch = v[:, i:i + fr:dilation, j:j + fc:dilation]
            out[:, :, i, j] = np.einsum('nab,eab->ne', patch, w[:, 0])
    return out


def inner_imaging(u, x, attn):
    """The InI module (eq. 2-15, 17-27) on numpy arrays, with the parameters of ``attn``."""
    plan = attn.plan
    u_hat, x_hat = u.mean(axis=(2, 3)), x.mean(axis=(2, 3))
    v = layout_map(u_hat, x_hat, plan.layout, *plan.map_shape)
    maps = []
    for bank, (g, (n, m)) in zip(attn.g_filters, plan.kept):
        y = bn_inference(valid_conv(v, bank.conv.weight.data().asnumpy(), g.dilation), bank.bn)
        maps.append(y.mean(axis=1))
        assert maps[-1].shape[1:] == (n, m)
    n_max, width = plan.group_shape
    if plan.aggregation == 'sum':
        grouped = np.zeros((u.shape[0], n_max, width))
        for y in maps:
            grouped[:, :y.shape[1], :y.shape[2]] += y
        grouped /= len(maps)
    else:
        grouped = np.concatenate(
            [np.pad(y, ((0, 0), (0, n_max - y.shape[1]), (0, 0))) for y in maps], axis=2)
    s = encoder(grouped.reshape(u.shape[0], -1), attn.encoder)
    return u * s[:, :, None, None]


def squeeze_excite(u, attn):
    return u * encoder(u.mean(axis=(2, 3)), attn.encoder)[:, :, None, None]


def double_fc(u, x, attn):
    w_r, w_i, w_e = (d.weight.data().asnumpy() for d in
                     (attn.fc_residual, attn.fc_identity, attn.fc_excite))
    h = np.concatenate([np.maximum(u.mean(axis=(2, 3)) @ w_r.T, 0),
                        np.maximum(x.mean(axis=(2, 3)) @ w_i.T, 0)], axis=1)
    return u * sigmoid(h @ w_e.T)[:, :, None, None]


def spatial(u, layer):
    """eq. 50-51 with CBAM's map: per group mean and max over channels, 7x7 conv, BN, sigmoid."""
    n, c, h, w = u.shape
    tau = layer._groups
    g = u.reshape(n, tau, c // tau, h, w)
    stats = np.stack([g.mean(axis=2), g.max(axis=2)], axis=2)          # (N, τ, 2, H, W)
    weight = layer.conv.weight.data().asnumpy()                       # (τ, 2, k, k)
    k = weight.shape[-1]
    padded = np.pad(stats, ((0, 0), (0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    maps = np.zeros((n, tau, h, w))
    for i in range(h):
        for j in range(w):
            maps[:, :, i, j] = np.einsum('ntcab,tcab->nt', padded[:, :, :, i:i + k, j:j + k],
                                         weight)
    xi = sigmoid(bn_inference(maps, layer.bn))
    return (g * xi[:, :, None]).reshape(n, c, h, w)
