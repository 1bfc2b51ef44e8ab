"""Data-quality gates: run a Great Expectations 1.x suite on rows or on a query of a table.

A gate
- loads its suite from ``expectations/<stage>.<what>.json`` and refuses a suite
  whose expectations GX would silently drop (a misspelt type);
- validates in an ephemeral GX context (GX is imported only when a gate runs);
- records a summary in ``gate_results``: counts and failed rules, never values;
- quarantines each failing row, by its non-personal key, with the rule it broke;
- raises :class:`GateFailure` naming the stage, the rules and the counts when the
  whole batch fails: a table-level rule broke, or more rows failed than the suite's
  ``max_failed_fraction`` tolerates.

Personal columns never enter a gate: a frame carrying one is refused. Home places
enter as the coarse copy only (a 0.001° grid, ``care_models.privacy.COORDINATE_DECIMALS``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from care_models.config import PROJECT_ROOT
from care_models.errors import ConfigurationError, GateFailure, PrivacyError

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

SUITES_DIR = PROJECT_ROOT / "expectations"
PERSONAL_COLUMNS = frozenset(
    {
        "name",
        "rrn",
        "resident_registration_number",
        "phone",
        "address",
        "birth_date",
        "name_enc",
        "rrn_enc",
        "phone_enc",
        "address_enc",
        "birth_date_enc",
        "location",
        "location_enc",
    }
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuiteSpec:
    """A suite file: its expectations and how the gate applies them."""

    name: str
    stage: str
    row_key: str
    max_failed_fraction: float
    expectations: tuple[Mapping[str, Any], ...]
    source: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)


def rule_name(expectation_type: str, kwargs: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The rule as people read it: the suite's ``meta.rule``, else type(column)."""
    return str(meta.get("rule") or f"{expectation_type}({kwargs.get('column') or ''})")


@dataclass
class GateOutcome:
    stage: str
    suite: str
    success: bool
    rows_evaluated: int
    rows_failed: int
    expectations_evaluated: int
    failed_rules: list[dict[str, Any]]
    quarantined: dict[str, list[str]]
    gate_result_id: int | None = None

    @property
    def passed_keys_excluded(self) -> set[str]:
        return set(self.quarantined)


def suite_path(name: str) -> Path:
    return SUITES_DIR / f"{name}.json"


def load_suite_spec(name: str) -> SuiteSpec:
    """Read ``expectations/<name>.json``; a malformed file names the file and the field."""
    path = suite_path(name)
    where = f"expectations/{name}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(where, "no such suite file") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(where, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    meta = document.get("meta") or {}
    expectations = document.get("expectations")
    if document.get("name") != name:
        raise ConfigurationError(where, f"'name' must be {name!r}")
    if not isinstance(expectations, list) or not expectations:
        raise ConfigurationError(where, "'expectations' must be a non-empty list")
    for index, item in enumerate(expectations):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ConfigurationError(where, f"expectations[{index}] needs a 'type'")
    for key in ("stage", "row_key"):
        if not isinstance(meta.get(key), str):
            raise ConfigurationError(where, f"'meta.{key}' must be a string")
    fraction = meta.get("max_failed_fraction", 0.0)
    if not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        raise ConfigurationError(where, "'meta.max_failed_fraction' must be between 0 and 1")
    return SuiteSpec(
        name=name,
        stage=meta["stage"],
        row_key=meta["row_key"],
        max_failed_fraction=float(fraction),
        expectations=tuple(expectations),
        source=meta.get("source"),
        parameters=meta.get("parameters") or {},
    )


def _import_gx() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def build_gx_suite(spec: SuiteSpec) -> Any:
    """The GX suite; raises if GX dropped any expectation (it does so silently)."""
    gx = _import_gx()
    suite = gx.ExpectationSuite(name=spec.name, expectations=[dict(e) for e in spec.expectations])
    if len(suite.expectations) != len(spec.expectations):
        loaded = {e.expectation_type for e in suite.expectations}
        dropped = [e["type"] for e in spec.expectations if e["type"] not in loaded]
        raise ConfigurationError(
            f"expectations/{spec.name}.json",
            f"GX loaded {len(suite.expectations)} of {len(spec.expectations)} expectations; "
            f"not understood: {', '.join(dropped) or 'duplicates'}",
        )
    return suite


def _validate(spec: SuiteSpec, frame: pd.DataFrame) -> Any:
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no noise in task logs
    source = context.data_sources.add_pandas(name=f"gate_{spec.name}")
    asset = source.add_dataframe_asset(name="rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    return batch.validate(
        build_gx_suite(spec),
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [spec.row_key],
            "return_unique_unexpected_values": False,
            "partial_unexpected_count": 0,
        },
    )


def _summarise(spec: SuiteSpec, frame: pd.DataFrame, validation: Any) -> GateOutcome:
    quarantined: dict[str, list[str]] = {}
    failed_rules: list[dict[str, Any]] = []
    batch_broken = False
    for result in validation.results:  # GX does not keep the suite's order
        if result.success:
            continue
        config = result.expectation_config
        rule = rule_name(config.type, config.kwargs, config.meta or {})
        details = result.result or {}
        keys = [
            str(item[spec.row_key]) if isinstance(item, dict) else str(item)
            for item in details.get("unexpected_index_list") or []
        ]
        raised = bool((result.exception_info or {}).get("raised_exception"))
        if raised or not keys:
            batch_broken = True  # a table-level rule, or the expectation could not run
        for key in keys:
            quarantined.setdefault(key, []).append(rule)
        failed_rules.append(
            {
                "rule": rule,
                "expectation": config.type,
                "column": config.kwargs.get("column"),
                "unexpected_count": len(keys),
                "error": raised,
            }
        )
    rows = len(frame)
    failed = len(quarantined)
    too_many = rows > 0 and failed / rows > spec.max_failed_fraction
    return GateOutcome(
        stage=spec.stage,
        suite=spec.name,
        success=not (batch_broken or too_many),
        rows_evaluated=rows,
        rows_failed=failed,
        expectations_evaluated=len(validation.results),
        failed_rules=failed_rules,
        quarantined=quarantined,
    )


def _record(engine: Engine, outcome: GateOutcome, run_key: str | None) -> int:
    """Write the summary and the quarantine in their own transaction (kept when the gate fails)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from care_models.schema import GateResult, QuarantinedRow

    with Session(engine) as session, session.begin():
        result = GateResult(
            stage=outcome.stage,
            suite=outcome.suite,
            run_key=run_key,
            success=outcome.success,
            rows_evaluated=outcome.rows_evaluated,
            rows_failed=outcome.rows_failed,
            expectations_evaluated=outcome.expectations_evaluated,
            failed_expectations=outcome.failed_rules,
        )
        session.add(result)
        session.flush()
        already = set(
            session.execute(
                select(QuarantinedRow.row_key, QuarantinedRow.rule).where(
                    QuarantinedRow.stage == outcome.stage, QuarantinedRow.released_at.is_(None)
                )
            )
        )
        for key, rules in outcome.quarantined.items():
            for rule in rules:
                if (key, rule) not in already:
                    session.add(
                        QuarantinedRow(
                            gate_result_id=result.id, stage=outcome.stage, row_key=key, rule=rule
                        )
                    )
        return result.id


def run_gate_on_rows(
    engine: Engine,
    suite_name: str,
    frame: pd.DataFrame,
    *,
    run_key: str | None = None,
    raise_on_failure: bool = True,
) -> GateOutcome:
    """Validate rows, record the result, quarantine failing rows; raise if the batch fails."""
    personal = sorted(PERSONAL_COLUMNS.intersection(frame.columns))
    if personal:
        raise PrivacyError(f"gate {suite_name}: personal columns may not enter a gate: {personal}")
    spec = load_suite_spec(suite_name)
    if spec.row_key not in frame.columns:
        raise ConfigurationError(
            f"expectations/{suite_name}.json", f"row key column {spec.row_key!r} is not in the rows"
        )
    outcome = _summarise(spec, frame, _validate(spec, frame))
    outcome.gate_result_id = _record(engine, outcome, run_key)
    log.info(
        "gate %s: %d rows, %d failed, success=%s",
        suite_name,
        outcome.rows_evaluated,
        outcome.rows_failed,
        outcome.success,
    )
    if raise_on_failure and not outcome.success:
        raise GateFailure(
            outcome.stage,
            [r["rule"] for r in outcome.failed_rules],
            outcome.rows_evaluated,
            outcome.rows_failed,
        )
    return outcome


def read_source(engine: Engine, spec: SuiteSpec) -> pd.DataFrame:
    """The rows a table gate checks: the suite's query from ``sql/``."""
    import pandas as pd

    from care_models.queries import load_query

    if not spec.source:
        raise ConfigurationError(f"expectations/{spec.name}.json", "'meta.source' names no query")
    query = load_query(spec.source, engine.dialect.name)
    with engine.connect() as connection:
        result = connection.execute(query, dict(spec.parameters))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def run_gate_on_table(
    engine: Engine, suite_name: str, *, run_key: str | None = None, raise_on_failure: bool = True
) -> GateOutcome:
    """Validate the rows of the suite's source query (a table or a join) in the care database."""
    frame = read_source(engine, load_suite_spec(suite_name))
    return run_gate_on_rows(
        engine, suite_name, frame, run_key=run_key, raise_on_failure=raise_on_failure
    )
