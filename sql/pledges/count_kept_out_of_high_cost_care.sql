-- Clients in care kept out of high-cost care: clients with a case open during the
-- period who did not enter or rise in long-term-care grade in it (care_models.ltc).
-- numerator: kept out; denominator: in care (Jincheon: 40 of 425 rose, 90.6%).
SELECT SUM(CASE WHEN NOT EXISTS (
           SELECT 1 FROM ltc_grade_changes g
           WHERE g.client_id = c.client_id
             AND g.direction IN ('entered', 'rose')
             AND g.changed_on >= :period_start
             AND g.changed_on < :period_end
         ) THEN 1 ELSE 0 END) AS numerator,
       COUNT(*) AS denominator
FROM (
  SELECT DISTINCT cs.client_id
  FROM cases cs
  WHERE cs.opened_on < :period_end
    AND (cs.closed_on IS NULL OR cs.closed_on >= :period_start)
) c
