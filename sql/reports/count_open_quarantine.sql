-- Quarantined rows not yet released, per stage.
SELECT q.stage AS stage, COUNT(DISTINCT q.row_key) AS rows_quarantined
FROM quarantined_rows AS q
WHERE q.released_at IS NULL
GROUP BY q.stage
ORDER BY q.stage
