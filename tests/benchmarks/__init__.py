"""Benchmarks: run with ``python -m tests.benchmarks.<name>``; never collected as tests."""
