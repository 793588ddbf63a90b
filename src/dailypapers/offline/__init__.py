"""Fake network peers users may run offline (tests, demos, benchmarks)."""
