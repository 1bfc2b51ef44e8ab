-- Attendance per discipline at the conferences held in the period: seats invited
-- and seats attended.
SELECT p.discipline AS discipline,
       COUNT(*) AS seats,
       SUM(CASE WHEN p.attended THEN 1 ELSE 0 END) AS attended
FROM conference_participants p
JOIN conferences c ON c.id = p.conference_id
WHERE c.status = 'held'
  AND c.scheduled_on >= :period_start
  AND c.scheduled_on < :period_end
GROUP BY p.discipline
ORDER BY p.discipline
