-- Open operational alerts (referrals held for the team, dead-lettered callbacks),
-- per workflow and kind: counts only, never values.
SELECT a.workflow AS workflow, a.kind AS kind, COUNT(*) AS alerts
FROM operational_alerts AS a
WHERE a.resolved_at IS NULL
GROUP BY a.workflow, a.kind
ORDER BY a.workflow, a.kind
