"""The one mapping from the care error tree to Airflow outcomes.

Every step in ``care_tasks`` is wrapped by :func:`care_task`::

    CareError, not retryable   ->  AirflowFailException: the task fails at once with the
    (settings, keys, font,         message, whatever its ``retries`` (the same input gives
     privacy, data, gate)          the same answer on every attempt)
    TransientError             ->  raised as it is: Airflow retries, as often as the DAG allows
    any other exception        ->  raised as it is (a database lock, a dropped connection)

Messages come from the error tree, which never holds personal values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from care_models.errors import CareError

P = ParamSpec("P")
R = TypeVar("R")


def airflow_outcome(error: CareError) -> BaseException:
    """The exception a task raises for ``error``: itself when retryable, else a failure."""
    from airflow.sdk.exceptions import AirflowFailException

    if error.retryable:
        return error
    return AirflowFailException(f"{type(error).__name__}: {error}")


def care_task(step: Callable[P, R]) -> Callable[P, R]:
    """Run a workflow step, mapping the care errors it raises to Airflow outcomes."""

    @functools.wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return step(*args, **kwargs)
        except CareError as error:
            outcome = airflow_outcome(error)
            if outcome is error:
                raise
            raise outcome from None

    run.__care_task__ = True  # type: ignore[attr-defined]
    return run
