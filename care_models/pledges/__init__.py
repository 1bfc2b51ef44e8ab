"""Pledge cards (공약 카드) as data: the versioned file format, its loader and its arithmetic.

``card.schema.json`` is the format (JSON Schema, draft 2020-12); ``cards/`` holds the four
seed cards transcribed as printed and the county's own integrated-care pledge;
``cards.py`` loads and checks a card (no database, no Airflow).
"""
