-- Per conference and need category: the needs of the cases discussed at conferences
-- held in the period, and how many of them were decided (any decision but defer).
-- The decision rate is decided over needs (Jincheon 2023: 1,750 of 1,814, 96.5%).
SELECT c.id AS conference_id,
       c.tier AS tier,
       n.category AS category,
       COUNT(*) AS needs,
       SUM(CASE WHEN d.id IS NOT NULL AND d.decision <> 'defer' THEN 1 ELSE 0 END) AS decided
FROM agenda_items i
JOIN conferences c ON c.id = i.conference_id
JOIN needs n ON n.case_id = i.case_id
LEFT JOIN decisions d ON d.agenda_item_id = i.id AND d.need_id = n.id
WHERE c.status = 'held'
  AND c.scheduled_on >= :period_start
  AND c.scheduled_on < :period_end
  AND i.status = 'discussed'
GROUP BY c.id, c.tier, n.category
ORDER BY c.id, n.category
