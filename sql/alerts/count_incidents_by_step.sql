-- Incidents opened in the period that reached each protocol step (the step was due).
SELECT s.step AS step, COUNT(DISTINCT s.incident_id) AS incidents
FROM escalation_steps s
JOIN incidents i ON i.id = s.incident_id
WHERE i.opened_at >= :period_start
  AND i.opened_at < :period_end
GROUP BY s.step
ORDER BY s.step
