-- Alerts received in the period (start included, end excluded), per kind and vendor, and
-- how many of them were suppressed (client away, device under maintenance).
SELECT a.kind AS kind,
       o.code AS vendor_code,
       COUNT(*) AS alerts,
       SUM(CASE WHEN a.suppressed THEN 1 ELSE 0 END) AS suppressed
FROM alerts a
JOIN organisations o ON o.id = a.vendor_id
WHERE a.occurred_at >= :period_start
  AND a.occurred_at < :period_end
GROUP BY a.kind, o.code
ORDER BY a.kind, o.code
