-- Needs discussed at conferences held in the period, and those decided (any decision
-- but defer). numerator: decided; denominator: needs (the decision rate).
SELECT SUM(CASE WHEN d.id IS NOT NULL AND d.decision <> 'defer' THEN 1 ELSE 0 END) AS numerator,
       COUNT(*) AS denominator
FROM agenda_items i
JOIN conferences c ON c.id = i.conference_id
JOIN needs n ON n.case_id = i.case_id
LEFT JOIN decisions d ON d.agenda_item_id = i.id AND d.need_id = n.id
WHERE c.status = 'held'
  AND c.scheduled_on >= :period_start
  AND c.scheduled_on < :period_end
  AND i.status = 'discussed'
