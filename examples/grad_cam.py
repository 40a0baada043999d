"""Grad-CAM heat maps of the digits CNN: where in each image the evidence for its class lies.

Trains the CNN of ``examples/digits_cnn.py`` (imported from the file beside this one) for
a few epochs without augmentation, then asks ``stax.grad_cam`` for the heat map of each
predicted class at the last convolutional block (its ReLU, a 4x4 feature map, upsampled
to the 8x8 image): the gradient of the class score with respect to that block's output,
averaged over positions, weights its channels (Selvaraju et al. 2017). ``stax.summary``
shows the key paths (``"[6]"``) that ``at=`` takes. The grid of digits, each beside its
heat map laid over it with the predicted and true labels, is saved as a PNG.

    python examples/grad_cam.py [--epochs 6] [--num 20] [--out runs/grad_cam.png]

Expect a test accuracy of about 0.97-0.98.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib

import numpy as np

import funcgrad
import stax
import transforms
from funcgrad import random
from funcgrad.tree_util import tree_map
from stax import data, losses, metrics

LAST_CONV_BLOCK = "[6]"  # the ReLU after the third Conv: (N, 4, 4, 64)


def digits_cnn():
    """examples/digits_cnn.py as a module (examples are scripts, not a package)."""
    path = pathlib.Path(__file__).with_name("digits_cnn.py")
    spec = importlib.util.spec_from_file_location("digits_cnn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_grid(images, cams, predicted, labels, path: pathlib.Path) -> pathlib.Path:
    """Each digit and, beside it, its heat map over it, titled with the predicted and true
    labels (in red when they differ): one mosaic image, so that it draws fast."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    per_row, (n, h, w) = 5, images.shape[:3]
    rows = -(-n // per_row)
    cell_h, cell_w = h + 4, 2 * w + 3  # two tiles, a gap between them, room for the title
    mosaic = np.ones((rows * cell_h, per_row * cell_w, 3))
    ink = 1.0 - images[..., 0]  # dark ink on white
    overlay = 0.5 * ink[..., None] + 0.5 * matplotlib.colormaps["jet"](cams)[..., :3]
    fig, ax = plt.subplots(figsize=(per_row * 2.2, rows * 1.5))
    for i, (p, y) in enumerate(zip(predicted, labels)):
        top, left = (i // per_row) * cell_h + 3, (i % per_row) * cell_w + 1
        mosaic[top : top + h, left : left + w] = ink[i, ..., None]
        mosaic[top : top + h, left + w + 1 : left + 2 * w + 1] = overlay[i]
        ax.text(left + w, top - 1, f"pred {p} / true {y}", ha="center", va="bottom",
                fontsize=8, color="black" if p == y else "red")  # fmt: skip
    ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    ax.set_title("digits and their Grad-CAM heat maps (last conv block)", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--num", type=int, default=20, help="test digits in the grid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/grad_cam.png", help="the PNG grid")
    args = parser.parse_args(argv)

    digits = data.load_digits(images=True)
    x = digits.x / np.float32(16)
    key_split, key_init, key_run = random.split(random.key(args.seed), 3)
    train, test = data.train_test_split(key_split, (x, digits.y), test_size=0.25, stratify=digits.y)

    net = digits_cnn().network()
    _, params = net.init_fun(key_init, (-1, 8, 8, 1))
    params = tree_map(lambda p: p.astype(np.float32), params)
    print(stax.summary(net, (-1, 8, 8, 1)))
    optimizer = transforms.adam(args.lr)
    opt_state = optimizer.init(params)

    @funcgrad.jit
    def train_step(params, opt_state, xb, yb, key):
        loss, grads = funcgrad.value_and_grad(
            lambda p: losses.cross_entropy(net.apply_fun(p, xb, key=key), yb)
        )(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state, loss

    @funcgrad.jit
    def predict(params, xb):
        return net.apply_fun(params, xb, is_training=False)

    history = []
    for epoch in range(args.epochs):
        key_order, key_dropout = random.split(random.fold_in(key_run, epoch))
        batches = data.batches(train, args.batch_size, key=key_order, drop_last=True)
        epoch_losses = []
        for i, (xb, yb) in enumerate(batches):
            params, opt_state, loss = train_step(
                params, opt_state, xb, yb, random.fold_in(key_dropout, i)
            )
            epoch_losses.append(float(loss))
        history.append(float(np.mean(epoch_losses)))
        accuracy = float(metrics.accuracy(predict(params, test[0]), test[1]))
        print(f"epoch {epoch + 1:2d}  train loss {history[-1]:.4f}  "
              f"test accuracy {accuracy:.4f}")  # fmt: skip

    # The first test digits of each class in turn (0, 1, ..., 9, 0, 1, ...).
    by_class = [np.flatnonzero(test[1] == c) for c in range(10)]
    chosen = np.array([by_class[i % 10][i // 10] for i in range(args.num)])
    images, labels = test[0][chosen], test[1][chosen]
    predicted = np.asarray(np.argmax(predict(params, images), axis=-1))
    cams = funcgrad.jit(
        lambda params, xb, cls: stax.grad_cam(
            net, params, xb, cls, at=LAST_CONV_BLOCK, upsample=True
        )
    )(params, images, predicted)
    out = save_grid(np.asarray(images), np.asarray(cams), predicted, np.asarray(labels),
                    pathlib.Path(args.out))  # fmt: skip
    print(f"test accuracy {accuracy:.4f}; Grad-CAM grid of {args.num} digits in {out}")
    return {"train_loss": history, "test_accuracy": accuracy, "cams": np.asarray(cams), "out": out}


if __name__ == "__main__":
    main()
