"""List the longest functions of the Python package (lines from ``def`` to
the function's last line, docstring included).

    python tools/function_lengths.py [--top 20] [--limit 80] [src/fastnn]

With ``--limit N`` it exits 1 when a function is longer than N lines and
has no comment ``# long: <reason>`` on its ``def`` line or the line above
(the house rule: a function fits on one screen unless it says why not).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def _visit(node: ast.AST, prefix: str, lines: list[str], where: str, rows: list) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([child.lineno] + [d.lineno for d in child.decorator_list])
            n = child.end_lineno - first + 1
            around = " ".join(lines[max(0, first - 2):child.lineno])
            rows.append((n, f"{where}:{prefix}{child.name}", first, "# long:" in around))
            _visit(child, f"{prefix}{child.name}.", lines, where, rows)
        elif isinstance(child, ast.ClassDef):
            _visit(child, f"{prefix}{child.name}.", lines, where, rows)


def function_lengths(root: Path) -> list[tuple[int, str, int, bool]]:
    """(lines, file:qualified name, first line, has a stated reason) per function."""
    rows: list[tuple[int, str, int, bool]] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        _visit(ast.parse(text, filename=str(path)), "", text.splitlines(), str(path.relative_to(root.parent)), rows)
    return sorted(rows, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[1] / "src" / "fastnn"))
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    rows = function_lengths(Path(args.root))
    for n, name, first, reason in rows[: args.top]:
        print(f"{n:5d}  {name} (line {first}){'  [reason stated]' if reason else ''}")
    if args.limit is not None:
        over = [r for r in rows if r[0] > args.limit and not r[3]]
        for n, name, first, _ in over:
            print(f"over {args.limit} lines with no '# long:' reason: {name} ({n} lines)", file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
