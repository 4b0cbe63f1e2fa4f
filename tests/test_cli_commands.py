"""The commands eval adds to ``committee-qa`` arrive through the entry-point group
``committee_qa.commands`` (pyproject.toml), which qa.cli reads: qa never imports eval. An
install older than the group says what to run instead of losing the commands silently."""

from __future__ import annotations

import argparse
import tomllib
from importlib import metadata

import pytest
from conftest import REPO

from qa import cli

GROUP = cli.COMMANDS_GROUP


def declared() -> list[metadata.EntryPoint]:
    """The group as pyproject.toml declares it (what `pip install -e .` installs)."""
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    return [metadata.EntryPoint(name, value, GROUP) for name, value in table.items()]


def installed_as(monkeypatch, entry_points: list[metadata.EntryPoint]) -> None:
    monkeypatch.setattr(metadata, "entry_points", lambda group=None, **kw: [ep for ep in entry_points if ep.group == group])


def test_pyproject_declares_eval_bench_and_train():
    eps = declared()
    assert {ep.name for ep in eps} == {"eval", "bench", "train"}
    for ep in eps:
        parser = argparse.ArgumentParser()
        ep.load()(parser.add_subparsers(dest="command"))
        assert ep.value.startswith("eval.cli:")
        assert parser.parse_args([ep.name, *{"eval": ["--questions", "q"], "train": ["--corpus", "i", "t", "d"]}.get(ep.name, [])]).func


def test_the_commands_come_from_the_group(monkeypatch):
    from eval import cli as eval_cli

    installed_as(monkeypatch, declared())
    parser = cli.build_parser()
    assert parser.parse_args(["bench", "--quick"]).func is eval_cli.cmd_bench
    assert parser.parse_args(["eval", "--questions", "q"]).func is eval_cli.cmd_eval
    assert parser.parse_args(["train", "--corpus", "i", "t", "d"]).func is eval_cli.cmd_train
    assert cli.missing_command(parser, ["eval"]) is None and cli.missing_command(parser, ["evl"]) is None


def test_without_the_group_it_says_what_to_run(monkeypatch, capsys, tmp_path):
    installed_as(monkeypatch, [])
    assert cli.main(["eval", "--questions", "q.jsonl"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no command 'eval'" in err and "pip install -e ." in err
    # qa's own commands are untouched
    assert cli.main(["parse", str(tmp_path / "missing.pdf")]) == cli.EXIT_INPUT
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "pip install -e ." in " ".join(capsys.readouterr().out.split())  # the help wraps lines


def test_a_command_that_fails_to_load_is_named(monkeypatch, capsys):
    broken = metadata.EntryPoint("bench", "eval.no_such_module:register", GROUP)
    installed_as(monkeypatch, [ep for ep in declared() if ep.name != "bench"] + [broken])
    parser = cli.build_parser()
    assert parser.parse_args(["eval", "--questions", "q"]).func  # the others still load
    assert cli.main(["bench", "--quick"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'bench' command could not be loaded" in err and "eval.no_such_module" in err
