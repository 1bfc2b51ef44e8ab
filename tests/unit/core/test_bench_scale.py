"""bench/scale.py's arguments and figures (the benchmark itself is not run by CI)."""

from __future__ import annotations

import pytest

from bench.scale import Figures, Measured, parse_args, ratio, safety_limit, table


def test_defaults_plan_two_weeks_for_100000_clients_one_solve_per_worker() -> None:
    args = parse_args([])
    assert (args.clients, args.horizon_days, args.slots, args.solves_at_once) == (
        100_000,
        14,
        1,
        2,
    )
    assert args.seconds_per_problem == 0.1 and not args.whole_run
    assert parse_args(["--clients", "5000"]).clients == 5000


@pytest.mark.parametrize(
    "argv", [["--clients", "0"], ["--slots", "0"], ["--seconds-per-problem", "0"]]
)
def test_nonsense_is_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


def test_the_ratio_is_one_worker_over_two_and_the_table_shows_it() -> None:
    figures = Figures(
        clients=5000,
        coordinators=144,
        contacts=11338,
        solves=2,
        seconds_per_problem=0.1,
        one_process=Measured(30.0, per_town={"JC-01": 25.0, "JC-02": 5.0}),
        one_worker=Measured(40.0, run_s=60.0, per_town={"JC-01": 30.0, "JC-02": 10.0}),
        two_workers=Measured(
            32.0,
            run_s=50.0,
            per_town={"JC-01": 31.0, "JC-02": 11.0},
            hosts={"JC-01": "care-worker-1", "JC-02": "care-worker-2"},
        ),
    )
    assert figures.ratio == 1.25 and figures.run_ratio == 1.2
    assert ratio(1.0, 0.0) == float("inf")
    assert safety_limit(0.1) == 5.0 and safety_limit(4.0) == 12.0
    lines = table(figures, {"JC-01": (48, 4944), "JC-02": (24, 2373)})
    assert any(line.startswith("ratio 1 worker / 2 workers") and "1.25" in line for line in lines)
    assert any(line.startswith("JC-01") and "care-worker-1" in line for line in lines)
