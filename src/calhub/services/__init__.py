"""Use cases, one module per area; no HTTP or SQL details."""
