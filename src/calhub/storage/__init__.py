"""Driven adapter for PostgreSQL: tables, mappers, repositories, unit of work, encryption."""
