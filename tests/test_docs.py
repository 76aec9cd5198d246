"""Documents generated from the code are current."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_notes_slips_doc_is_current():
    render = runpy.run_path(str(ROOT / "tools" / "notes_slips.py"))["render"]
    assert (ROOT / "docs" / "notes_slips.md").read_text() == render(), "run: python tools/notes_slips.py"
