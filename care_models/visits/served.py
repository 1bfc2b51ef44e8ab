"""The share of a county's demand one routing job needs: its town team's.

A contact is served in its own town when someone there has its skill, otherwise by
the nearest town that has it. A routing job (one town team) therefore needs, in its
own town, the contacts of the skills it has and, in any other town, those of the
skills it has and that town lacks: in a big county, a fraction of the whole demand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from care_models.schema import Client, Town


@dataclass(frozen=True)
class ServedBy:
    """The demand one town's team may serve, for a routing job that needs no more.

    A contact is served in its own town when someone there has its skill, otherwise
    by the nearest town that has it: so the team of ``town`` serves, in its own
    town, the skills it has and, in any other town, those it has and that town lacks.
    """

    town: str
    skills: Mapping[str, frozenset[str]]  # per town code, the skills of its staff

    def wanted(self, town_code: str | None) -> frozenset[str]:
        mine = self.skills.get(self.town, frozenset())
        if town_code is None or town_code == self.town:
            return mine
        return mine - self.skills.get(town_code, frozenset())


Keep = Callable[[int, str], bool]  # (client id, skill): is this contact in scope?


def served_scope(
    session: Session, town_of: Mapping[int, int | None], served: ServedBy | None
) -> tuple[ColumnElement[bool], Keep]:
    """A condition on ``Client`` for the clients a job may serve, and a contact filter."""
    if served is None:
        return true(), lambda _client, _skill: True
    codes = dict(session.execute(select(Town.id, Town.code)).tuples().all())
    wanted = {town_id: served.wanted(code) for town_id, code in codes.items()}
    anywhere = served.wanted(None)
    condition = or_(
        Client.town_id.is_(None),
        Client.town_id.in_(sorted(town_id for town_id, skills in wanted.items() if skills)),
    )

    def keep(client_id: int, skill: str) -> bool:
        town = town_of.get(client_id)  # a client without a town: the team's own skills
        return skill in (wanted.get(town, anywhere) if town is not None else anywhere)

    return condition, keep
