"""docs/findings.md explains every code the analysis and the decoder can report."""

from __future__ import annotations

import re
from pathlib import Path

from mdiag.analysis.codes import CODES
from mdiag.core.igmp import FINDING_CODES
from mdiag.core.mld import FINDING_CODES as MLD_CODES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "findings.md").read_text()
MDIAG = Path(__file__).resolve().parents[2] / "mdiag"


def test_every_code_is_documented():
    missing = [code for code in [*CODES, *FINDING_CODES, *MLD_CODES] if f"`{code}`" not in DOC]
    assert not missing, f"document these codes in docs/findings.md: {missing}"


def test_every_emitted_analysis_code_is_registered():
    sources = "".join((MDIAG / p).read_text() for p in (
        "adapters/capture.py", "analysis/pipeline.py", "core/querier.py", "core/membership.py"))
    emitted = set(re.findall(r'"((?:capture|querier|query|leave|mac|report|compat|traffic|members|igmp)'
                             r'-[a-z0-9-]+)",\s*Severity', sources))
    emitted |= set(re.findall(r'_problem\(\s*"([a-z-]+)"', sources))
    assert emitted and emitted <= set(CODES), emitted - set(CODES)
