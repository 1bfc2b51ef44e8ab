-- Safety incidents handled: incidents closed in the period (the person reached, the
-- whereabouts known, found, or a false alarm).
SELECT COUNT(*) AS numerator, NULL AS denominator
FROM incidents i
WHERE i.status = 'closed'
  AND i.closed_at >= :period_start_instant
  AND i.closed_at < :period_end_instant
