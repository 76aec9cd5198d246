"""The command line: the program name under both ways of running it,
--version, argument errors, and the commands that do not train (train-mnist
itself is tested in test_mnist.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn.__main__ import build_parser, main

SRC = str(Path(fastnn.__file__).resolve().parents[1])  # the fastnn under test, for child processes


def _run(*args, exe=(sys.executable, "-m", "fastnn")):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*exe, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_python_m_shows_python_m_fastnn():
    res = _run("--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: python -m fastnn [-h] [--version]")
    bad = _run("explain", "nope")
    assert bad.returncode == 2
    assert "python -m fastnn explain: error: argument name: unknown example 'nope'" in bad.stderr


def test_version():
    res = _run("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"fastnn {fastnn.__version__}\n"


def test_console_script_shows_fastnn(monkeypatch, capsys):
    # what the installed script does: sys.argv[0] is its path, then main()
    monkeypatch.setattr(sys, "argv", ["/usr/bin/fastnn", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: fastnn [-h] [--version] {train-mnist,explain,examples,info}")
    monkeypatch.setattr(sys, "argv", ["/usr/bin/fastnn", "--version"])
    with pytest.raises(SystemExit):
        main()
    assert capsys.readouterr().out == f"fastnn {fastnn.__version__}\n"


def test_installed_console_script():
    script = shutil.which("fastnn", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                          os.environ.get("PATH", "")]))
    if script is None:
        pytest.skip("no fastnn console script installed beside this Python or on PATH")
    res = _run("--help", exe=(script,))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: fastnn [-h]")


def test_examples_and_info(capsys):
    from fastnn.course import examples

    assert main(["examples"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == examples.names()
    assert main(["info"]) == 0
    assert f"version: {fastnn.__version__}" in capsys.readouterr().out.splitlines()


def test_info_does_not_load_the_course_package():
    code = ("import sys; from fastnn.__main__ import main; main(['info']); "
            "print(sorted(m for m in sys.modules if m.startswith('fastnn.course')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == "[]"


def test_explain_prints_the_example(capsys):
    assert main(["explain", "notes004_2_2_2", "--precision", "6"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("notes004_2_2_2: 004_")
    assert "w5+ = w5 - eta * dE/dw5 = 0.4 - 0.5 * 0.082167 = 0.358916" in out


@pytest.mark.parametrize("args,message", [
    (["explain", "nope"], "argument name: unknown example 'nope'; known: notes000_2_2_2"),
    (["explain", "notes004_2_2_2", "--precision", "0"], "argument --precision: must be >= 1, got 0"),
    (["train-mnist", "--epochs", "-1"], "argument --epochs: must be >= 0, got -1"),
    (["train-mnist", "--hidden", "64,x"], "argument --hidden: not an integer: 'x'"),
    (["train-mnist", "--lr", "0"], "argument --lr: must be a finite number > 0, got 0"),
    (["train-mnist", "--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
    (["train-mnist", "--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
    ([], "the following arguments are required: command"),
])
def test_usage_errors_exit_2_with_a_message(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("usage: fastnn")


def test_hidden_widths_parse():
    parser = build_parser()
    assert parser.parse_args(["train-mnist"]).hidden == (64, 128, 512)
    assert parser.parse_args(["train-mnist", "--hidden", "32, 16"]).hidden == (32, 16)
    assert parser.parse_args(["train-mnist", "--hidden", ""]).hidden == ()
