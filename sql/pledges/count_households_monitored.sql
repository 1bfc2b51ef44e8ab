-- Households monitored by a smart plug, an emergency-safety gateway or AI check-in
-- calls at the period's end: clients with an active device installed by then.
SELECT COUNT(DISTINCT d.client_id) AS numerator, NULL AS denominator
FROM devices d
WHERE d.status = 'active'
  AND d.installed_on < :period_end
  AND d.device_type IN ('smart_plug', 'emergency_sensor', 'ai_call')
