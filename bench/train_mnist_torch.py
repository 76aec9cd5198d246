"""PyTorch running the same network and recipe as fastnn.train_mnist(), for
comparison: the same data preparation (fastnn.datasets.prepare_mnist: split
first, standardise with the training split's statistics), the same
784-64-128-512-10 sigmoid network with Glorot-uniform weights and zero
biases, Adam with the same one-cycle schedule (no momentum cycling), batch
128, the same per-epoch random shifts (fastnn.datasets.RandomShift), and one
evaluation on the test set at the end.

    pip install torch==2.13.0
    python bench/train_mnist_torch.py --data-home ../shared/data/mnist --epochs 60
"""

import argparse
import time

import numpy as np

from fastnn import datasets
from fastnn.datasets import RandomShift


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-augment", action="store_true")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = datasets.load_mnist(args.data_home, download=True, verbose=False)
    prep = datasets.prepare_mnist(data, val_fraction=1 / 12, seed=args.seed, method="standardize")
    Xtr, ytr = prep.X_train, prep.y_train
    blank = prep.normalizer.transform(np.zeros((1, 28, 28), dtype=np.uint8)).reshape(-1)[0]
    shift = None if args.no_augment else RandomShift(2, fill=float(blank))

    sizes = [784, 64, 128, 512, 10]
    layers = []
    for i in range(4):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < 3:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    steps_per_epoch = int(np.ceil(len(ytr) / args.batch_size))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps_per_epoch * args.epochs,
                                                pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                                                cycle_momentum=False)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    Xaug = np.empty_like(Xtr)
    Xval_t = torch.from_numpy(prep.X_val)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        te = time.perf_counter()
        X_epoch = shift(Xtr, Xaug, rng) if shift else Xtr
        Xt = torch.from_numpy(X_epoch)
        yt = torch.from_numpy(ytr)
        order = torch.from_numpy(rng.permutation(len(ytr)))
        model.train()
        for s in range(steps_per_epoch):
            idx = order[s * args.batch_size:(s + 1) * args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            val_acc = (model(Xval_t).argmax(1).numpy() == prep.y_val).mean()
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss.item():.4f}  val_accuracy {val_acc:.4f}  "
              f"{time.perf_counter() - te:.2f}s", flush=True)
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        test_acc = (model(torch.from_numpy(prep.X_test)).argmax(1).numpy() == prep.y_test).mean()
    print(f"torch {torch.__version__}, {args.threads} threads: test accuracy {test_acc:.4f}, "
          f"training {train_s:.1f} s for {args.epochs} epochs")


if __name__ == "__main__":
    main()
