-- Services linked by conference decisions in the period, per target group (the
-- client's household type): the people linked and the linkages made.
SELECT cl.household_type AS target_group,
       COUNT(DISTINCT cl.id) AS people,
       COUNT(*) AS linkages
FROM decisions d
JOIN agenda_items i ON i.id = d.agenda_item_id
JOIN cases cs ON cs.id = i.case_id
JOIN clients cl ON cl.id = cs.client_id
WHERE d.decision = 'link_service'
  AND d.decided_on >= :period_start
  AND d.decided_on < :period_end
GROUP BY cl.household_type
ORDER BY cl.household_type
