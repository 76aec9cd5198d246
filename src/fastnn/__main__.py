"""The command line: ``fastnn COMMAND`` (or ``python -m fastnn COMMAND``).

Commands:

``train-mnist``
    Train the notes' MNIST network and test it (see :func:`fastnn.train_mnist`).
``explain NAME``
    Explain one training step of a worked example of the notes.
``examples``
    List the worked examples.
``info``
    Print :func:`fastnn.build_info`.

``fastnn --version`` prints the version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__

__all__ = ["build_parser", "main"]

#: the program name when run as ``python -m fastnn``
MODULE_PROG = "python -m fastnn"


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """Make an argparse type that parses an int >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    """Parse a finite float > 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _widths(text: str) -> tuple[int, ...]:
    """Parse comma-separated layer widths >= 1, none for no hidden layer (an argparse type)."""
    parse = _int_at_least(1)
    return tuple(parse(part.strip()) for part in text.split(",") if part.strip())


def _example_name(text: str) -> str:
    """Check the name of a worked example (an argparse type; loads the examples only when parsed)."""
    from .course import examples

    if text not in examples.names():
        raise argparse.ArgumentTypeError(f"unknown example {text!r}; known: {', '.join(examples.names())}")
    return text


def _train_mnist(args: argparse.Namespace) -> int:
    """Run ``train-mnist``."""
    import fastnn

    if args.threads:
        fastnn.set_num_threads(args.threads)
    run = fastnn.train_mnist(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                             hidden=args.hidden, activation=args.activation, dtype=args.dtype, seed=args.seed,
                             data_home=args.data_home, verbose=0 if args.quiet else 1, scaling=args.scaling,
                             augment=not args.no_augment)
    if args.quiet:
        print(f"test accuracy {run.report.accuracy:.4f}")
    if args.save:
        run.model.save(args.save)
        print(f"model saved to {args.save}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    """Run ``explain NAME``."""
    from .course import examples
    from .course.explain import explain_example

    ex = examples.get(args.name)
    print(f"{ex.name}: {ex.source}\n{ex.description}\n")
    print(explain_example(args.name, precision=args.precision))
    return 0


def _examples(args: argparse.Namespace) -> int:
    """Run ``examples``."""
    from .course import examples

    for name in examples.names():
        print(f"{name:<20} {examples.get(name).source}")
    return 0


def _info(args: argparse.Namespace) -> int:
    """Run ``info``."""
    from . import build_info

    for k, v in build_info().items():
        print(f"{k}: {v}")
    return 0


def _add_train_mnist(sub: Any) -> None:  # sub: what ArgumentParser.add_subparsers returns
    tm = sub.add_parser("train-mnist", help="train the lecture notes' MNIST network and test it")
    tm.add_argument("--epochs", type=_int_at_least(0), default=80)
    tm.add_argument("--batch-size", type=_int_at_least(1), default=128)
    tm.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    tm.add_argument("--lr", type=_positive_float, default=None, help="peak learning rate")
    tm.add_argument("--hidden", type=_widths, default=(64, 128, 512), help="hidden widths, comma-separated")
    tm.add_argument("--activation", default="sigmoid")
    tm.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    tm.add_argument("--seed", type=_int_at_least(0), default=0)
    tm.add_argument("--data-home", default=None)
    tm.add_argument("--scaling", choices=("standardize", "minmax"), default="standardize")
    tm.add_argument("--no-augment", action="store_true", help="no random shifts of the training images")
    tm.add_argument("--threads", type=_int_at_least(1), default=None)
    tm.add_argument("--save", default=None, help="save the trained model to this file")
    tm.add_argument("--quiet", action="store_true")
    tm.set_defaults(run=_train_mnist)


def build_parser(prog: str = "fastnn") -> argparse.ArgumentParser:
    """Build the command line's argument parser.

    Parameters
    ----------
    prog : str, default "fastnn"
        The program name its usage and error messages show.

    Returns
    -------
    argparse.ArgumentParser
        The parser; the namespace it gives has the command's function as
        ``run``.
    """
    parser = argparse.ArgumentParser(prog=prog, description="fastnn command line")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_mnist(sub)
    ex = sub.add_parser("explain", help="explain one training step of a worked example")
    ex.add_argument("name", type=_example_name, help=f"a name from `{prog} examples`")
    ex.add_argument("--precision", type=_int_at_least(1), default=9, help="significant digits")
    ex.set_defaults(run=_explain)
    sub.add_parser("examples", help="list the worked examples of the notes").set_defaults(run=_examples)
    sub.add_parser("info", help="print build information").set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "fastnn") -> int:
    """Run the command line (the ``fastnn`` console script).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name (default ``sys.argv[1:]``).
    prog : str, default "fastnn"
        The program name shown in usage and error messages;
        ``python -m fastnn`` passes ``"python -m fastnn"``.

    Returns
    -------
    int
        The exit status, 0 on success (argparse exits with status 2 on a
        usage error).

    Examples
    --------
    >>> main(["examples"])  # doctest: +SKIP
    notes000_2_2_2       000_c1cbc6e1818e3017.txt, sections 2.2-3.5 ...
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main(prog=MODULE_PROG))
