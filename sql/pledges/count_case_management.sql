-- Services linked under integrated care plans: care-plan services that started in
-- the period.
SELECT COUNT(*) AS numerator, NULL AS denominator
FROM planned_services s
WHERE s.start_date >= :period_start
  AND s.start_date < :period_end
