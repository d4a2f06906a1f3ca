"""Schemathesis over the whole API, shared by the suite's short run and bench/fuzz_api.py.

Each generated request is sent with every role's key and with none, and every
schemathesis check runs on each answer (server errors, status codes, content types,
headers and bodies against the published schema, negative/positive data handling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings

# Edge checks JSON Schema cannot state (datetime ranges, money finiteness and scale, JSON
# depth, a path that must name a server file): pydantic reports them as these types.
BEYOND_JSON_SCHEMA = frozenset({"value_error"})


@dataclass
class FuzzReport:
    operations: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.operations} operations, {self.requests} requests"]
        lines += [f"- {failure}" for failure in self.failures]
        return "\n".join(lines)


def fuzz_operations(
    app: Any, keys: dict[str, str], *, max_examples: int, seed: int | None = 0
) -> FuzzReport:
    """Run every operation of ``app``'s ``/openapi.json``; failures are collected, not raised."""
    import schemathesis  # a dev dependency: only tests and benches import this module
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    @schemathesis.check
    def schema_valid_data_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
        """``positive_data_acceptance``, except for refusals the schema cannot express: a
        schema-valid upload can still name an unknown dialplan or hold invalid rows (422 with
        its own code), or break a rule JSON Schema has no keyword for (``value_error``). Any
        other ``validation_error`` means the edge checks more than the schema says: fail."""
        if response.status_code == 422:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {}
            if error.get("code") not in (None, "validation_error"):
                return None
            details = error.get("details") or []
            kinds = {d.get("type") for d in details if isinstance(d, dict)}
            if kinds and kinds <= BEYOND_JSON_SCHEMA:
                return None
        return positive_data_acceptance(ctx, response, case)

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = FuzzReport()
    credentials: list[dict[str, str]] = [{"X-API-Key": k} for k in keys.values()] + [{}]
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here, loudly
        report.operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=seed is not None,
            database=None,
        )
        def run(case: Any) -> None:
            for headers in credentials:
                report.requests += 1
                case.call_and_validate(
                    headers=headers,
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[schema_valid_data_passes_validation],
                )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every failure, not only the first
            report.failures.append(f"{operation.label}: {exc}"[:4000])
    return report
