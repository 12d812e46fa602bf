"""The run history is history: a damaged history.sqlite never stops a status, and the commands
that read it say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from phases.core.errors import StateError
from phases.interfaces import api


def test_a_damaged_history_is_a_clear_error_for_history_and_no_obstacle_to_status(demo_project: Path):
    (demo_project / "state").mkdir()
    (demo_project / "state" / "history.sqlite").write_text("not a database at all")
    with pytest.raises(StateError, match="history.sqlite: the run history is damaged .*move it aside"):
        api.history(root=demo_project)
    assert {t.state for t in api.pipeline_status(root=demo_project).tasks} == {"never run"}
