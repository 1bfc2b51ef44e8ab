"""FHIR R4 as the referral API speaks it: :mod:`.bundle` parses and validates a referral Bundle."""
