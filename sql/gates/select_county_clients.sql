-- Clients as the county gate sees them: codes and coded fields, never personal values.
-- Ciphertexts are reduced to a flag that says whether every personal field is encrypted.
-- latitude/longitude are the coarse copy (0.001° grid); the exact home is location_enc.
SELECT c.code AS code,
       t.code AS town_code,
       c.latitude AS latitude,
       c.longitude AS longitude,
       c.household_type AS household_type,
       c.risk_tier AS risk_tier,
       c.ltc_grade AS ltc_grade,
       c.birth_year AS birth_year,
       CASE WHEN c.name_enc LIKE 'v1.%'
             AND c.birth_date_enc LIKE 'v1.%'
             AND c.address_enc LIKE 'v1.%'
             AND (c.phone_enc IS NULL OR c.phone_enc LIKE 'v1.%')
             AND (c.rrn_enc IS NULL OR c.rrn_enc LIKE 'v1.%')
             AND (c.location_enc IS NULL OR c.location_enc LIKE 'v1.%')
            THEN 1 ELSE 0 END AS personal_fields_encrypted
FROM clients AS c
LEFT JOIN towns AS t ON t.id = c.town_id
ORDER BY c.code
