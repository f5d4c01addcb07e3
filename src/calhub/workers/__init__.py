"""Procrastinate tasks and periodic schedules; thin wrappers that call services."""
