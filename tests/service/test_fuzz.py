"""The API fuzzed from its own OpenAPI schema with every schemathesis check (status codes, documented
responses, content types, headers, auth, stateful links): the only failure allowed is that random bytes,
which the schema cannot tell from a photo, are refused as not an image."""

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

pytest.importorskip("schemathesis", reason="fuzzing needs schemathesis (dev extra)")
NOT_AN_IMAGE = ("not an image", "empty file", "corrupt image")


def schemathesis_failures(url: str, report_dir: Path) -> list[str]:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    subprocess.run(
        [
            command,
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "30",
            "--seed",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(report_dir),
        ],
        capture_output=True,
        timeout=600,
        cwd=report_dir,
    )  # its cache folder goes there, not into the repository
    reports = list(report_dir.glob("*.xml"))
    assert reports, "schemathesis wrote no report"
    root = ElementTree.parse(reports[0]).getroot()
    assert int(root.get("tests", 0)) >= 10, "schemathesis tested too few operations"
    return [failure.text or "" for failure in root.iter("failure")] + [e.text or "" for e in root.iter("error")]


def is_refused_as_not_an_image(failure: str) -> bool:
    cases = re.split(r"\n\d+\. Test Case ID", failure)
    return all(
        re.findall(r"- (ST\d+)", case) == ["ST202"] and any(text in case for text in NOT_AN_IMAGE)
        for case in cases
        if case.strip()
    )


def test_every_check_passes_but_random_bytes(live_server, tmp_path):
    failures = schemathesis_failures(live_server, tmp_path)
    unexpected = [failure for failure in failures if not is_refused_as_not_an_image(failure)]
    assert not unexpected, "\n\n".join(unexpected)[:5000]
