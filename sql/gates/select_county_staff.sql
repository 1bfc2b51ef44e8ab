-- Staff with their office town and working hours; skills as JSON text.
SELECT s.code AS code,
       s.role AS role,
       CAST(s.skills AS TEXT) AS skills_json,
       t.code AS office_town_code,
       CAST(s.work_start AS TEXT) AS work_start,
       CAST(s.work_end AS TEXT) AS work_end,
       s.max_visits_per_day AS max_visits_per_day
FROM staff AS s
LEFT JOIN towns AS t ON t.id = s.office_town_id
WHERE s.active = :active
ORDER BY s.code
