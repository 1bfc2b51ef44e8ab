-- Discharged people settled at home: cases opened from a hospital referral in the
-- period whose client was not recorded in hospital or away again before the period's
-- end (a re-admission ends "settled"). numerator: settled; denominator: discharged.
SELECT SUM(CASE WHEN NOT EXISTS (
           SELECT 1 FROM client_absences a
           WHERE a.client_id = c.client_id
             AND a.starts_at >= c.opened_on
             AND a.starts_at < :period_end
         ) THEN 1 ELSE 0 END) AS numerator,
       COUNT(*) AS denominator
FROM cases c
WHERE c.referral_id IS NOT NULL
  AND c.opened_on >= :period_start
  AND c.opened_on < :period_end
