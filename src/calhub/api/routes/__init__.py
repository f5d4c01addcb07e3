"""Thin route modules, one per resource; they translate HTTP to service calls and back."""
