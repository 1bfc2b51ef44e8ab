-- Clients in care at home who stayed in the community: clients with a case open during
-- the period (not from a hospital referral) and no recorded stay away (hospital,
-- elsewhere) starting in the period. numerator: stayed; denominator: in care.
SELECT SUM(CASE WHEN NOT EXISTS (
           SELECT 1 FROM client_absences a
           WHERE a.client_id = c.client_id
             AND a.starts_at >= :period_start
             AND a.starts_at < :period_end
         ) THEN 1 ELSE 0 END) AS numerator,
       COUNT(*) AS denominator
FROM (
  SELECT DISTINCT cs.client_id
  FROM cases cs
  WHERE cs.referral_id IS NULL
    AND cs.opened_on < :period_end
    AND (cs.closed_on IS NULL OR cs.closed_on >= :period_start)
) c
