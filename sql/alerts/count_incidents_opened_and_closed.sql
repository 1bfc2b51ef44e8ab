-- Incidents opened in the period, and incidents closed in the period (whenever opened).
SELECT
  (SELECT COUNT(*) FROM incidents
    WHERE opened_at >= :period_start AND opened_at < :period_end) AS opened,
  (SELECT COUNT(*) FROM incidents
    WHERE closed_at >= :period_start AND closed_at < :period_end) AS closed
