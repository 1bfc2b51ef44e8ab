"""Shared rendering parts: Korean fonts and labels, PDF, HTML, calendars, CSV, publishing.

Used by the visit day sheets and meant for the conference agendas and pledge reports:
whatever prints Hangul or publishes a folder of files goes through these modules.
"""
