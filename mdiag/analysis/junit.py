"""JUnit XML for CI systems: one test suite per capture, one test case per expectation.

The XML follows the de-facto schema Jenkins, GitLab and GitHub reporters read:
``<testsuites><testsuite name tests failures errors><testcase classname name>``
with a ``<failure message type>`` child for a failed expectation and the
capture's findings in ``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from mdiag.analysis.expectations import Result
from mdiag.analysis.report import Report

__all__ = ["junit_xml"]


def junit_xml(runs: Sequence[tuple[str, Report | None, Sequence[Result], str | None]]) -> bytes:
    """XML for ``(capture name, report or None, results, error or None)`` per capture.

    A capture that could not be read becomes a suite with one ``<error>`` test case.
    """
    root = ET.Element("testsuites", name="mdiag analyze")
    total = failures = errors = 0
    for name, report, results, error in runs:
        suite = ET.SubElement(root, "testsuite", name=f"mdiag analyze {name}")
        if error is not None or report is None:
            case = ET.SubElement(suite, "testcase", classname=_classname(name), name="read capture")
            ET.SubElement(case, "error", message=error or "capture not analysed", type="unusable-input")
            suite.set("tests", "1")
            suite.set("failures", "0")
            suite.set("errors", "1")
            total += 1
            errors += 1
            continue
        suite_failures = 0
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=_classname(name),
                                 name=result.expectation.text)
            case.set("time", "0")
            if not result.passed:
                suite_failures += 1
                failure = ET.SubElement(case, "failure", message=result.detail, type="expectation")
                failure.text = f"expected: {result.expectation.text}\nactual: {result.actual}\n{result.detail}"
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"actual: {result.actual}"
        suite.set("tests", str(len(results)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("time", f"{report.duration:.3f}")
        lines = [f"[{f.severity}] {f.code}: {f.message}" + (f" (frame {f.frame})" if f.frame else "")
                 for f in report.findings]
        if lines:
            ET.SubElement(suite, "system-out").text = "\n".join(lines)
        total += len(results)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


def _classname(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return "mdiag.analyze." + "".join(c if c.isalnum() or c in "-_" else "_" for c in base)
