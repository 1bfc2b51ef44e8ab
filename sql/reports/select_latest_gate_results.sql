-- The latest result of each gate suite: counts and success, never values.
SELECT g.stage AS stage,
       g.suite AS suite,
       g.success AS success,
       g.rows_evaluated AS rows_evaluated,
       g.rows_failed AS rows_failed,
       g.ran_at AS ran_at
FROM gate_results AS g
JOIN (SELECT suite, MAX(id) AS id FROM gate_results GROUP BY suite) AS latest
  ON latest.id = g.id
ORDER BY g.stage, g.suite
