-- Emergency calls in the period (the SOS word, the emergency button, fire and gas) and
-- those the vendor passed to 119 (Gyeongnam reported 1,072 SOS calls, 255 to 119).
SELECT COUNT(*) AS emergency_calls,
       SUM(CASE WHEN a.passed_to_119 THEN 1 ELSE 0 END) AS passed_to_119
FROM alerts a
WHERE a.kind IN ('sos', 'emergency_button', 'fire', 'gas')
  AND a.occurred_at >= :period_start
  AND a.occurred_at < :period_end
