"""junit.xml for any CI: one testsuite per runtime (and one for the comparison checks that declare it),
merged from every shard."""
from __future__ import annotations

import collections
import xml.etree.ElementTree as ElementTree
from typing import Any, Dict

from conformance.checks import registry
from conformance.report.results import unexpected


def write(document: Dict[str, Any], path: str) -> None:
    suites = collections.OrderedDict()  # type: Dict[str, list]
    for result in document["results"]:
        # each check declares its suite (conformance/checks/): the one comparison suite, or its runtime's
        suite = "compare" if registry.suite_of(result["check"]) == "compare" else (result["runtime"] or "compare")
        suites.setdefault(suite, []).append(result)
    root = ElementTree.Element("testsuites", name="hub-conformance")
    for name, results in suites.items():
        failures = sum(1 for r in results if unexpected(r))
        skipped = sum(1 for r in results if r["status"] in ("skip", "xfail"))
        suite = ElementTree.SubElement(root, "testsuite", name=name, tests=str(len(results)),
                                       failures=str(failures), skipped=str(skipped), errors="0")
        for result in results:
            case = ElementTree.SubElement(suite, "testcase", classname="%s.%s" % (name, result["check"]),
                                          name=result["test"], time="%.3f" % (result["duration"] or 0.0))
            if unexpected(result):
                failure = ElementTree.SubElement(case, "failure", message=result["message"][:500],
                                                 type=result["status"])
                failure.text = result["message"]
            elif result["status"] in ("skip", "xfail"):
                ElementTree.SubElement(case, "skipped", message=("expected failure: " if result["status"] == "xfail"
                                                                 else "") + result["message"][:500])
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
