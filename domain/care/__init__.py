"""Doctors in the loop (issue 11): the directory, consultation shares, the symptom history
and the access log. Health data handled here never reaches a log line or a metric label.
"""
