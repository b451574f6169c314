"""The README documents every setting and the two commands CI relies on."""

from __future__ import annotations

from backend.settings import Settings
from tests.conftest import REPO


def test_every_setting_is_documented() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"MC_{name.upper()}" not in readme]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "`make test`" in readme and "`make demo`" in readme
    assert "make test" in ci
