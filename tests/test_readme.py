"""The README's promises: its first two commands, and CI running exactly the second."""

import re

from conftest import REPO


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (REPO / "README.md").read_text())[:2]


def test_readme_opens_with_serve_and_test_commands() -> None:
    serve, test = _commands()
    assert "dedup-service serve" in serve and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    test = _commands()[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "-eq 5" in ci  # pytest's "no tests" is a failure
