-- Towns as the county gate sees them: no personal data.
SELECT t.code AS code,
       t.kind AS kind,
       t.latitude AS latitude,
       t.longitude AS longitude
FROM towns AS t
ORDER BY t.code
