"""Device alerts: vendor alerts pulled and pushed into the care database, once each
(mapping rules as data, gate, upsert, device health), then merged per person and
escalated by the unreachable-person protocol."""
