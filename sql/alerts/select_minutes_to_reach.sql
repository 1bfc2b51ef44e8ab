-- Incidents closed in the period because the person was reached or found: when each
-- opened and closed (the median time to reach is computed from these rows).
SELECT i.id AS incident_id, i.opened_at AS opened_at, i.closed_at AS closed_at
FROM incidents i
WHERE i.closed_at >= :period_start
  AND i.closed_at < :period_end
  AND i.close_reason IN ('person_reached', 'whereabouts_known', 'found_by_police')
ORDER BY i.id
