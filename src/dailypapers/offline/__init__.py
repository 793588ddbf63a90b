"""Offline tools a user can run: fake arXiv (query API and announcement feed),
OAI-PMH and GitHub servers over real sockets, fault injection, and the demo corpus.

``python -m dailypapers.offline.fake_arxiv --corpus demo -- dailypapers update``
runs the main job without network. Test-only tools (a throwaway PostgreSQL,
crash scenarios, a fake clock, an SMTP sink) live in the test tree
(``tests/support/``).
"""
