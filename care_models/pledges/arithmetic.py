"""Where a pledge card's own arithmetic does not agree: warnings, not errors.

:func:`arithmetic_warnings` lists every place where a printed total is not the sum of
its parts, each message giving where, the printed figure and the sum: a budget row's
total against 기투자 + 소계 + 이후 (or its periods when no 소계 is printed), a 소계
against its periods, a printed row across sources against the sources, a table's
stated total, the card's 총사업비 against its sources and its tables, an indicator's
overall target against its period targets when it adds up, an actual total against
its periods, and a printed achievement against actual / target. The card is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal

from care_models.pledges.cards import ZERO, BudgetRow, BudgetTable, Indicator, PledgeCard


def _fmt(value: Decimal) -> str:
    """A figure as the cards print it, without thousands separators or trailing zeros."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def _sum(parts: Iterable[tuple[str, Decimal | None]]) -> tuple[Decimal, str]:
    """The sum of the parts and the parts as text ('-' and zero parts left out)."""
    shown = [(label, value) for label, value in parts if value]
    total = sum((value for _, value in shown if value is not None), ZERO)
    text = " + ".join(f"{label} {_fmt(value)}" for label, value in shown if value is not None)
    return total, text or "nothing"


def _check(
    where: str, printed: Decimal | None, parts: Iterable[tuple[str, Decimal | None]]
) -> str | None:
    """A warning when a printed figure is not the sum of its parts, else None."""
    if printed is None:
        return None
    total, text = _sum(parts)
    if total == printed:
        return None
    return f"{where}: {_fmt(printed)} ≠ {text} = {_fmt(total)}"


def _row_total(row: BudgetRow) -> Decimal:
    """The row's printed total, or the sum of its cells when none is printed."""
    if row.total is not None:
        return row.total
    return sum(row.amounts.values(), ZERO)


def _table_total(table: BudgetTable) -> Decimal:
    if table.total_row is not None and table.total_row.total is not None:
        return table.total_row.total
    return sum((_row_total(r) for r in table.rows), ZERO)


def _table_name(index: int, table: BudgetTable) -> str:
    return f"budget table {index}" + (f" ({table.name})" if table.name else "")


def _table_warnings(card: PledgeCard, index: int, table: BudgetTable) -> Iterator[str | None]:
    name = _table_name(index, table)
    roles = {p.code: p.role for p in card.periods}
    total_label = table.total_label or "total"
    subtotal_label = table.term_subtotal_label or "term subtotal"
    rows = list(table.rows) + ([table.total_row] if table.total_row else [])
    for row in rows:
        where = f"{name}, row {row.label}"

        def cells(role: str, row: BudgetRow = row) -> list[tuple[str, Decimal | None]]:
            return [
                (c.label, row.amounts.get(c.period))
                for c in table.columns
                if roles[c.period] == role and c.period in row.amounts
            ]

        yield _check(f"{where}, {subtotal_label}", row.term_subtotal, cells("term"))
        term: list[tuple[str, Decimal | None]] = (
            [(subtotal_label, row.term_subtotal)]
            if row.term_subtotal is not None
            else cells("term")
        )
        yield _check(f"{where}, {total_label}", row.total, cells("prior") + term + cells("after"))
    if table.total_row is not None:
        printed = table.total_row
        across = f"{name}, row {printed.label} across sources"
        for column in table.columns:
            if column.period in printed.amounts:
                yield _check(
                    f"{across}, {column.label}",
                    printed.amounts[column.period],
                    [(r.label, r.amounts.get(column.period)) for r in table.rows],
                )
        yield _check(
            f"{across}, {total_label}",
            printed.total,
            [(r.label, _row_total(r)) for r in table.rows],
        )
        yield _check(
            f"{across}, {subtotal_label}",
            printed.term_subtotal,
            [(r.label, r.term_subtotal) for r in table.rows],
        )
    stated = table.stated_total
    if stated is not None:
        yield _check(
            f"{name}, stated total against the table",
            stated.amount,
            [(total_label, _table_total(table))],
        )
        yield _check(
            f"{name}, stated total against its sources",
            stated.amount if stated.by_source else None,
            list(stated.by_source.items()),
        )
        for source, amount in stated.by_source.items():
            yield _check(
                f"{name}, stated {source} against the table",
                amount,
                [(r.label, _row_total(r)) for r in table.rows if r.source == source],
            )


def _budget_warnings(card: PledgeCard) -> Iterator[str | None]:
    tables = card.budget.tables
    for index, table in enumerate(tables, 1):
        yield from _table_warnings(card, index, table)
    total = card.budget.total
    if total is None:
        return
    yield _check(
        "budget, 총사업비 against its sources",
        total.amount if total.by_source else None,
        list(total.by_source.items()),
    )
    if not tables:
        return
    yield _check(
        "budget, 총사업비 against the tables",
        total.amount,
        [(_table_name(i, t), _table_total(t)) for i, t in enumerate(tables, 1)],
    )
    for source, amount in total.by_source.items():
        yield _check(
            f"budget, 총사업비 {source} against the tables",
            amount,
            [
                (f"{_table_name(i, t)} {r.label}", _row_total(r))
                for i, t in enumerate(tables, 1)
                for r in t.rows
                if r.source == source
            ],
        )


def _indicator_warnings(card: PledgeCard, indicator: Indicator) -> Iterator[str | None]:
    labels = {p.code: p.label for p in card.periods}
    name = f"indicator {indicator.code} ({indicator.name})"
    targets = [(labels[p], v) for p, v in indicator.targets.items()]
    if indicator.aggregation == "sum":
        yield _check(f"{name}, overall target", indicator.overall_target, targets)
        for other in indicator.also_printed_totals:
            yield _check(f"{name}, overall target in {other.where}", other.overall_target, targets)
        yield _check(
            f"{name}, actual total",
            indicator.actual_total,
            [(labels[p], v) for p, v in indicator.actuals.items()],
        )
    else:
        for other in indicator.also_printed_totals:
            yield _check(
                f"{name}, overall target in {other.where}",
                other.overall_target,
                [("overall target", indicator.overall_target)],
            )
    for period, printed in indicator.achievement_printed.items():
        actual, target = indicator.actuals.get(period), indicator.targets.get(period)
        where = f"{name}, achievement {labels[period]}"
        if actual is None or not target:
            yield f"{where}: {_fmt(printed)}% printed without an actual and a target to divide"
            continue
        exponent = printed.as_tuple().exponent
        places = Decimal(1).scaleb(exponent if isinstance(exponent, int) and exponent < 0 else 0)
        rate = (actual * 100 / target).quantize(places, rounding=ROUND_HALF_UP)
        if rate != printed:
            yield (
                f"{where}: {_fmt(printed)}% ≠ actual {_fmt(actual)} / target {_fmt(target)}"
                f" = {_fmt(rate)}%"
            )


def arithmetic_warnings(card: PledgeCard) -> list[str]:
    """Every place the card's printed totals disagree with their parts, in card order."""
    found: list[str | None] = list(_budget_warnings(card))
    for indicator in card.indicators:
        found.extend(_indicator_warnings(card, indicator))
    return [w for w in found if w is not None]
