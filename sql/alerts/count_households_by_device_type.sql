-- Households (clients) monitored at the period's end, per device type: an active
-- device assigned to the client and installed by then.
SELECT d.device_type AS device_type, COUNT(DISTINCT d.client_id) AS households
FROM devices d
WHERE d.status = 'active'
  AND d.installed_on < :period_end_date
GROUP BY d.device_type
ORDER BY d.device_type
