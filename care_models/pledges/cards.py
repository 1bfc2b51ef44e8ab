"""Load a pledge card file and report where its own arithmetic does not agree.

A card is a JSON file in the format of ``card.schema.json`` (read its descriptions for
the fields). :func:`load_card` checks it against the schema and a few rules a schema
cannot say (every period used is declared once; a budget row's periods are columns of
its table; indicator codes and a table's funding sources are not repeated), then
returns a :class:`PledgeCard`. A file that breaks a rule raises
:class:`~care_models.errors.ValidationError` naming the JSON path and the rule, never
the value found there.

Numbers are :class:`~decimal.Decimal`. In budget tables a printed '-' (``null``) is
zero; in indicators it stays ``None`` (no target, which is not a target of zero).
A blank cell (a key left out) is simply absent.

Where a card's own arithmetic does not agree is :mod:`care_models.pledges.arithmetic`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from care_models.errors import ValidationError
from care_models.queries import SQL_DIR

SCHEMA_PATH = Path(__file__).resolve().parent / "card.schema.json"
CARDS_DIR = Path(__file__).resolve().parent / "cards"
FORMAT = "pledge-card"
FORMAT_VERSION = 1
ZERO = Decimal(0)


@dataclass(frozen=True)
class Period:
    code: str
    label: str
    role: str  # prior | term | after


@dataclass(frozen=True)
class StaffMember:
    role: str
    name: str
    extension: str | None = None


@dataclass(frozen=True)
class Progress:
    label: str
    stated: Decimal | None = None
    by_period: Mapping[str, Decimal] = field(default_factory=dict)
    total: Decimal | None = None


@dataclass(frozen=True)
class StatedTotal:
    amount: Decimal
    by_source: Mapping[str, Decimal] = field(default_factory=dict)
    as_printed: str | None = None


@dataclass(frozen=True)
class BudgetColumn:
    period: str
    label: str


@dataclass(frozen=True)
class BudgetRow:
    label: str
    source: str | None  # None only for a table's printed total row
    total: Decimal | None
    term_subtotal: Decimal | None
    amounts: Mapping[str, Decimal]
    notes: Mapping[str, str] = field(default_factory=dict)
    remark: str | None = None


@dataclass(frozen=True)
class BudgetTable:
    columns: tuple[BudgetColumn, ...]
    rows: tuple[BudgetRow, ...]
    name: str | None = None
    stated_total: StatedTotal | None = None
    total_label: str | None = None
    term_subtotal_label: str | None = None
    total_row: BudgetRow | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    unit: str
    tables: tuple[BudgetTable, ...]
    total: StatedTotal | None = None


@dataclass(frozen=True)
class PlanEntry:
    period: str
    items: tuple[str, ...]
    label: str | None = None


@dataclass(frozen=True)
class ScheduleTask:
    task: str
    quarters: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class PrintedTotal:
    where: str
    overall_target: Decimal | None


@dataclass(frozen=True)
class Baseline:
    value: Decimal
    period: str | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    source: str | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    unit: str
    aggregation: str  # sum | level
    targets: Mapping[str, Decimal | None]
    overall_target: Decimal | None = None
    also_printed_totals: tuple[PrintedTotal, ...] = ()
    target_notes: Mapping[str, str] = field(default_factory=dict)
    formula: str | None = None
    data_source: str | None = None
    collection_method: str | None = None
    query: str | None = None
    reported: bool = False
    baseline: Baseline | None = None
    actuals: Mapping[str, Decimal | None] = field(default_factory=dict)
    actual_notes: Mapping[str, str] = field(default_factory=dict)
    actual_total: Decimal | None = None
    achievement_printed: Mapping[str, Decimal] = field(default_factory=dict)
    progress_printed: Decimal | None = None


@dataclass(frozen=True)
class PledgeCard:
    format_version: int
    program_code: str
    title: str
    municipality: str
    term_start: str
    term_end: str | None
    term_class: str
    new_or_continuing: str
    periods: tuple[Period, ...]
    budget: Budget
    indicators: tuple[Indicator, ...]
    card_number: str | None = None
    lead_body: str | None = None
    situation: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    term_as_printed: str | None = None
    status: str | None = None
    budget_class: str | None = None
    central_support: str | None = None
    department: str | None = None
    team: str | None = None
    cooperating_department: str | None = None
    staff: tuple[StaffMember, ...] = ()
    progress: Progress | None = None
    reported_as_of: str | None = None
    as_printed: Mapping[str, str] = field(default_factory=dict)
    overview: Mapping[str, Any] = field(default_factory=dict)
    plan: tuple[PlanEntry, ...] = ()
    schedule: tuple[ScheduleTask, ...] = ()
    notes: tuple[str, ...] = ()

    def period(self, code: str) -> Period:
        return next(p for p in self.periods if p.code == code)

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)


# ---------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def shipped_cards() -> list[Path]:
    """The card files shipped with the package, by name."""
    return sorted(CARDS_DIR.glob("*.json"))


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def load_card(path: str | Path) -> PledgeCard:
    """Read, validate and return one card; ValidationError names the path and the rule."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse_card(text, record=path.name)


def parse_card(text: str, record: str | None = None) -> PledgeCard:
    """Validate a card's JSON text (``record`` names it in errors) and build the card."""
    try:
        document = json.loads(text, parse_float=Decimal, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as dup:
        raise ValidationError("$", f"key '{dup}' appears twice in one object", record) from None
    except json.JSONDecodeError as bad:
        raise ValidationError(
            "$", f"not valid JSON (line {bad.lineno}, column {bad.colno})", record
        ) from None
    validate_document(document, record)
    return _build(document)


def card_from_document(document: dict[str, Any]) -> PledgeCard:
    """The card of a stored version (validated when it was loaded)."""
    return _build(document)


def validate_document(document: Any, record: str | None = None) -> None:
    """Raise ValidationError for the first rule the document breaks (schema, then the rest)."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        field_path, rule = _describe(error)
        raise ValidationError(field_path, rule, record)
    for field_path, rule in _semantic_problems(document):
        raise ValidationError(field_path, rule, record)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """The JSON path and the rule of a schema error, without the instance's value."""
    where = error.json_path
    keyword = str(error.validator)
    expected = error.validator_value
    if "propertyNames" in error.schema_path:
        return where, f"property names must match the pattern {error.schema.get('pattern')}"
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in expected if name not in instance]
        name = missing[0] if missing else "?"
        return f"{where}.{name}", "required property is missing"
    if keyword == "additionalProperties":
        instance = error.instance if isinstance(error.instance, dict) else {}
        known = error.schema.get("properties", {})
        extra = sorted(k for k in instance if k not in known)
        name = extra[0] if extra else "?"
        return f"{where}.{name}", "property not allowed here"
    return where, _rule(keyword, expected, error.schema)


def _rule(keyword: str, expected: Any, subschema: Any) -> str:
    """A schema keyword as a rule, in words (from the schema, never from the instance)."""
    match keyword:
        case "enum":
            return "must be one of: " + ", ".join(str(v) for v in expected)
        case "const":
            return f"must be {json.dumps(expected, ensure_ascii=False)}"
        case "type":
            kinds = expected if isinstance(expected, list) else [expected]
            return "must be of type " + " or ".join(str(k) for k in kinds)
        case "minimum":
            return f"must be >= {expected}"
        case "maximum":
            return f"must be <= {expected}"
        case "pattern":
            return f"must match the pattern {expected}"
        case "minLength":
            return f"must be at least {expected} characters long"
        case "maxLength":
            return f"must be at most {expected} characters long"
        case "minItems":
            return f"must have at least {expected} items"
        case "uniqueItems":
            return "must not repeat an item"
        case "oneOf":
            hint = subschema.get("description") if isinstance(subschema, dict) else None
            return "must match exactly one alternative" + (f" ({hint})" if hint else "")
        case _:
            return f"breaks the schema rule '{keyword}'"


def _period_uses(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path, period code) of every place a card uses a period."""
    keyed: list[tuple[str, dict[str, Any]]] = []
    progress = document.get("progress") or {}
    keyed.append(("$.progress.by_period", progress.get("by_period", {})))
    for t, table in enumerate(document["budget"]["tables"]):
        for c, column in enumerate(table["columns"]):
            yield f"$.budget.tables[{t}].columns[{c}].period", column["period"]
    for p, entry in enumerate(document.get("plan", [])):
        yield f"$.plan[{p}].period", entry["period"]
    for s, task in enumerate(document.get("schedule", [])):
        keyed.append((f"$.schedule[{s}].quarters", task["quarters"]))
    for i, indicator in enumerate(document["indicators"]):
        for key in ("targets", "target_notes", "actuals", "actual_notes", "achievement_printed"):
            keyed.append((f"$.indicators[{i}].{key}", indicator.get(key, {})))
    for where, mapping in keyed:
        for code in mapping:
            yield f"{where}['{code}']", code


def _semantic_problems(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    declared: set[str] = set()
    for n, period in enumerate(document["periods"]):
        if period["code"] in declared:
            yield f"$.periods[{n}].code", "a period is declared once"
        declared.add(period["code"])
    for where, code in _period_uses(document):
        if code not in declared:
            yield where, "a period must be declared in $.periods"
    for t, table in enumerate(document["budget"]["tables"]):
        columns = [c["period"] for c in table["columns"]]
        if len(set(columns)) != len(columns):
            yield f"$.budget.tables[{t}].columns", "a period is a column once"
        sources = [row["source"] for row in table["rows"]]
        if len(set(sources)) != len(sources):
            yield f"$.budget.tables[{t}].rows", "a funding source has one row per table"
        rows = [(f"rows[{r}]", row) for r, row in enumerate(table["rows"])]
        if "total_row" in table:
            rows.append(("total_row", table["total_row"]))
        for name, row in rows:
            for key in ("amounts", "notes"):
                for code in row.get(key, {}):
                    if code not in columns:
                        yield (
                            f"$.budget.tables[{t}].{name}.{key}['{code}']",
                            "a period must be a column of its table",
                        )
    codes: set[str] = set()
    for i, indicator in enumerate(document["indicators"]):
        if indicator["code"] in codes:
            yield f"$.indicators[{i}].code", "an indicator code is used once per card"
        codes.add(indicator["code"])
        query = indicator.get("query")
        if query is not None and not (SQL_DIR / f"{query}.sql").is_file():
            yield f"$.indicators[{i}].query", "must name a query file under sql/"


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def _money(value: Any) -> Decimal:
    """A budget cell: '-' (None) is zero."""
    return ZERO if value is None else _dec(value)


def _opt_money(raw: dict[str, Any], key: str) -> Decimal | None:
    return _money(raw[key]) if key in raw else None


def _figure(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


def _opt_figure(raw: dict[str, Any], key: str) -> Decimal | None:
    return _figure(raw.get(key))


def _stated(raw: dict[str, Any] | None) -> StatedTotal | None:
    if raw is None:
        return None
    return StatedTotal(
        amount=_money(raw["amount"]),
        by_source={s: _money(v) for s, v in raw.get("by_source", {}).items()},
        as_printed=raw.get("as_printed"),
    )


def _row(raw: dict[str, Any]) -> BudgetRow:
    return BudgetRow(
        label=raw["label"],
        source=raw.get("source"),
        total=_opt_money(raw, "total"),
        term_subtotal=_opt_money(raw, "term_subtotal"),
        amounts={p: _money(v) for p, v in raw["amounts"].items()},
        notes=dict(raw.get("notes", {})),
        remark=raw.get("remark"),
    )


def _table(raw: dict[str, Any]) -> BudgetTable:
    return BudgetTable(
        name=raw.get("name"),
        stated_total=_stated(raw.get("stated_total")),
        total_label=raw.get("total_label"),
        term_subtotal_label=raw.get("term_subtotal_label"),
        columns=tuple(BudgetColumn(c["period"], c["label"]) for c in raw["columns"]),
        rows=tuple(_row(r) for r in raw["rows"]),
        total_row=_row(raw["total_row"]) if "total_row" in raw else None,
        notes=tuple(raw.get("notes", ())),
    )


def _indicator(raw: dict[str, Any]) -> Indicator:
    base = raw.get("baseline")
    return Indicator(
        code=raw["code"],
        name=raw["name"],
        unit=raw["unit"],
        aggregation=raw["aggregation"],
        overall_target=_opt_figure(raw, "overall_target"),
        also_printed_totals=tuple(
            PrintedTotal(t["where"], _figure(t["overall_target"]))
            for t in raw.get("also_printed_totals", ())
        ),
        targets={p: _figure(v) for p, v in raw["targets"].items()},
        target_notes=dict(raw.get("target_notes", {})),
        formula=raw.get("formula"),
        data_source=raw.get("data_source"),
        collection_method=raw.get("collection_method"),
        query=raw.get("query"),
        reported=bool(raw.get("reported", False)),
        baseline=None
        if base is None
        else Baseline(
            value=_dec(base["value"]),
            period=base.get("period"),
            numerator=_opt_figure(base, "numerator"),
            denominator=_opt_figure(base, "denominator"),
            source=base.get("source"),
        ),
        actuals={p: _figure(v) for p, v in raw.get("actuals", {}).items()},
        actual_notes=dict(raw.get("actual_notes", {})),
        actual_total=_opt_figure(raw, "actual_total"),
        achievement_printed={p: _dec(v) for p, v in raw.get("achievement_printed", {}).items()},
        progress_printed=_opt_figure(raw, "progress_printed"),
    )


def _build(doc: dict[str, Any]) -> PledgeCard:
    progress = doc.get("progress")
    budget = doc["budget"]
    return PledgeCard(
        format_version=doc["format_version"],
        program_code=doc["program_code"],
        card_number=doc.get("card_number"),
        title=doc["title"],
        municipality=doc["municipality"],
        lead_body=doc.get("lead_body"),
        situation=tuple(doc.get("situation", ())),
        goals=tuple(doc.get("goals", ())),
        term_start=doc["term"]["start"],
        term_end=doc["term"]["end"],
        term_as_printed=doc["term"].get("as_printed"),
        term_class=doc["term_class"],
        new_or_continuing=doc["new_or_continuing"],
        status=doc.get("status"),
        budget_class=doc.get("budget_class"),
        central_support=doc.get("central_support"),
        department=doc.get("department"),
        team=doc.get("team"),
        cooperating_department=doc.get("cooperating_department"),
        staff=tuple(
            StaffMember(s["role"], s["name"], s.get("extension")) for s in doc.get("staff", ())
        ),
        progress=None
        if progress is None
        else Progress(
            label=progress["label"],
            stated=_opt_figure(progress, "stated"),
            by_period={p: _dec(v) for p, v in progress.get("by_period", {}).items()},
            total=_opt_figure(progress, "total"),
        ),
        reported_as_of=doc.get("reported_as_of"),
        as_printed=dict(doc.get("as_printed", {})),
        overview=dict(doc.get("overview", {})),
        periods=tuple(Period(p["code"], p["label"], p["role"]) for p in doc["periods"]),
        budget=Budget(
            unit=budget["unit"],
            total=_stated(budget.get("total")),
            tables=tuple(_table(t) for t in budget["tables"]),
        ),
        plan=tuple(
            PlanEntry(e["period"], tuple(e["items"]), e.get("label")) for e in doc.get("plan", ())
        ),
        schedule=tuple(
            ScheduleTask(s["task"], {p: tuple(q) for p, q in s["quarters"].items()})
            for s in doc.get("schedule", ())
        ),
        indicators=tuple(_indicator(i) for i in doc["indicators"]),
        notes=tuple(doc.get("notes", ())),
    )
