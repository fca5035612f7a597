"""The API fuzzed from its own OpenAPI schema: whatever schemathesis generates, no 5xx."""

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="fuzzing needs schemathesis (dev extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402


def test_no_server_errors(live_server):
    # Driven by hand rather than through schemathesis' pytest plugin, which this pytest version breaks.
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.call_and_validate(checks=[not_a_server_error])

        fuzz()
