"""The CLI shell: help, version, unknown commands and options."""

from mdiag.errors import ExitStatus


def test_help_lists_commands(cli):
    result = cli("--help")
    assert result.status == 0
    assert "COMMAND" in result.stdout


def test_unknown_command_is_one_line_bad_input(cli):
    result = cli("frobnicate")
    assert result.status == ExitStatus.BAD_INPUT
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_no_command_prints_help(cli):
    result = cli()
    assert result.status == ExitStatus.BAD_INPUT
    assert "usage" in result.stdout
    assert result.stderr.startswith("mdiag: error: a command is missing") and result.stderr.count("\n") == 1
