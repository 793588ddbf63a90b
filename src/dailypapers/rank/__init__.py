"""Ranking for the reader: library import, term vectors, scores that explain themselves."""
