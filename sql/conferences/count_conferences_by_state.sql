-- Conferences of the period per tier: held, moved off their rule's day (holidays,
-- closure days), and cancelled.
SELECT c.tier AS tier,
       SUM(CASE WHEN c.status = 'held' THEN 1 ELSE 0 END) AS held,
       SUM(CASE WHEN c.scheduled_on <> c.rule_date THEN 1 ELSE 0 END) AS moved,
       SUM(CASE WHEN c.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled
FROM conferences c
WHERE c.rule_date >= :period_start
  AND c.rule_date < :period_end
GROUP BY c.tier
ORDER BY c.tier
