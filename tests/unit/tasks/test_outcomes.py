"""One mapping from the error tree to Airflow outcomes: data failures are not retried."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest
from airflow.sdk.exceptions import AirflowFailException

from care_models import errors
from care_models.config import PROJECT_ROOT
from care_models.errors import (
    CareError,
    ConfigurationError,
    DataError,
    ExternalServiceError,
    GateFailure,
    MissingKeyError,
    PrivacyError,
    TransientError,
    ValidationError,
)
from care_tasks.outcomes import airflow_outcome, care_task

PERMANENT = [
    ConfigurationError("CARE_X", "missing"),
    MissingKeyError("CARE_MATCH_KEY", "required in production mode"),
    PrivacyError("personal columns may not enter a gate"),
    DataError("broken"),
    ValidationError("plan", "must be one of next, current"),
    GateFailure("plan.stops", ["overlap"], 10, 1),
]


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: type(e).__name__)
def test_permanent_errors_fail_at_once_with_their_message(error: CareError) -> None:
    outcome = airflow_outcome(error)
    assert isinstance(outcome, AirflowFailException)
    assert str(error) in str(outcome)


@pytest.mark.parametrize("error", [TransientError("lock"), ExternalServiceError("H1: 503")])
def test_transient_errors_are_left_to_the_retries(error: CareError) -> None:
    assert airflow_outcome(error) is error


def test_every_domain_exception_is_in_the_tree_and_says_whether_to_retry() -> None:
    classes = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, Exception)]
    assert all(issubclass(c, CareError) for c in classes)
    # The retryable ones are exactly the TransientError branch.
    retryable = {c for c in classes if c.retryable}
    assert retryable == {c for c in classes if issubclass(c, TransientError)}
    assert {TransientError, ExternalServiceError} <= retryable
    assert not any(issubclass(c, errors.DataError) for c in retryable)


def test_a_wrapped_step_turns_a_missing_setting_into_a_failure_without_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from care_tasks.referrals import pull_all_hospitals

    monkeypatch.setenv("CARE_MODE", "staging")
    with pytest.raises(AirflowFailException, match="CARE_MODE"):
        pull_all_hospitals()


def test_a_wrapped_step_lets_transient_faults_through_to_the_retries() -> None:
    @care_task
    def flaky() -> None:
        raise ExternalServiceError("FHIR server of H1: timed out")

    with pytest.raises(ExternalServiceError):
        flaky()


def _steps_the_dags_call() -> list[tuple[str, str]]:
    steps = []
    for path in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("care_tasks."):
                steps += [(node.module or "", alias.name) for alias in node.names]
    return steps


def test_every_step_a_dag_calls_goes_through_the_one_mapping() -> None:
    steps = [(m, n) for m, n in _steps_the_dags_call() if m != "care_tasks.common"]
    assert steps
    unwrapped = [
        f"{module}.{name}"
        for module, name in steps
        if inspect.isfunction(getattr(importlib.import_module(module), name))
        and name != "plan_choice"  # a pure choice, raises nothing
        and not getattr(getattr(importlib.import_module(module), name), "__care_task__", False)
    ]
    assert unwrapped == []
