"""Test-only tools: a throwaway PostgreSQL, crash scenarios, a fake clock, an SMTP sink."""
