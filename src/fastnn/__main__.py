"""Command line: ``python -m fastnn COMMAND``.

  train-mnist   train the notes' MNIST network (see fastnn.train_mnist)
  explain NAME  one training step of a worked example of the notes, explained
  examples      list the worked examples
  info          print fastnn.build_info()
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn", description="fastnn command line")
    sub = parser.add_subparsers(dest="command", required=True)

    tm = sub.add_parser("train-mnist", help="train the lecture notes' MNIST network and test it")
    tm.add_argument("--epochs", type=int, default=80)
    tm.add_argument("--batch-size", type=int, default=128)
    tm.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    tm.add_argument("--lr", type=float, default=None, help="peak learning rate")
    tm.add_argument("--hidden", type=str, default="64,128,512", help="hidden widths, comma-separated")
    tm.add_argument("--activation", default="sigmoid")
    tm.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    tm.add_argument("--seed", type=int, default=0)
    tm.add_argument("--data-home", default=None)
    tm.add_argument("--scaling", choices=("standardize", "minmax"), default="standardize")
    tm.add_argument("--no-augment", action="store_true", help="no random shifts of the training images")
    tm.add_argument("--threads", type=int, default=None)
    tm.add_argument("--save", default=None, help="save the trained model to this file")
    tm.add_argument("--quiet", action="store_true")

    ex = sub.add_parser("explain", help="explain one training step of a worked example")
    ex.add_argument("name", help="a name from `python -m fastnn examples`")
    ex.add_argument("--precision", type=int, default=9, help="significant digits")

    sub.add_parser("examples", help="list the worked examples of the notes")
    sub.add_parser("info", help="print build information")

    args = parser.parse_args(argv)
    import fastnn

    if args.command == "train-mnist":
        if args.threads:
            fastnn.set_num_threads(args.threads)
        hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
        run = fastnn.train_mnist(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                                 lr=args.lr, hidden=hidden, activation=args.activation, dtype=args.dtype,
                                 seed=args.seed, data_home=args.data_home, verbose=0 if args.quiet else 1,
                                 scaling=args.scaling, augment=not args.no_augment)
        if args.quiet:
            print(f"test accuracy {run.report.accuracy:.4f}")
        if args.save:
            run.model.save(args.save)
            print(f"model saved to {args.save}")
    elif args.command == "explain":
        from fastnn import examples
        from fastnn.course.explain import explain_example

        if args.name not in examples.names():
            parser.error(f"unknown example {args.name!r}; known: {', '.join(examples.names())}")
        ex = examples.get(args.name)
        print(f"{ex.name}: {ex.source}\n{ex.description}\n")
        print(explain_example(args.name, precision=args.precision))
    elif args.command == "examples":
        from fastnn import examples

        for name in examples.names():
            ex = examples.get(name)
            print(f"{name:<20} {ex.source}")
    elif args.command == "info":
        for k, v in fastnn.build_info().items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
