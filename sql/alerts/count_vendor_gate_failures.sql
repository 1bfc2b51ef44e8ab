-- Vendor records kept out by the alert gate and not yet released, per vendor code
-- (the gate result's run_key): the administrators' error count per vendor.
SELECT g.run_key AS vendor_code, COUNT(*) AS quarantined
FROM quarantined_rows q
JOIN gate_results g ON g.id = q.gate_result_id
WHERE q.stage = :stage
  AND q.released_at IS NULL
GROUP BY g.run_key
ORDER BY g.run_key
