"""Test tools owned by the project: a fake arXiv server and corpus generators."""
