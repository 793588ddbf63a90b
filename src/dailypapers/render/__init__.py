"""Renderers: turn stored papers into the README and other outputs."""
