"""Benchmarks run against real server processes (`make bench`)."""
