"""What the tests ask of a command that fails on bad input."""


def one_line_error(result) -> str:
    """The message of a CLI result (tests/conftest.py `cli`) that failed as a user error must:
    exit code 1, one `Error: ...` line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]
