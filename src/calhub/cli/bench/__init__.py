"""Benchmarks behind ``calhub bench``; each returns a JSON-ready dict. They import the peers
(installed with the ``bench`` extra), so import them only when a benchmark runs."""
