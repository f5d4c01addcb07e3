"""An offline Google Workspace emulator: Calendar v3, Directory resources and the OAuth token
endpoint for service accounts with domain-wide delegation.

``create_app(state)`` builds the ASGI app; ``calhub emulate google`` serves it. It imports nothing
from the hub but pure domain helpers (recurrence, time zones).

``data/seed.json`` is an example world; ``data/service-account.json`` is the private key of its
service account, in Google's key-file format: a development key of the emulator only, published
with calhub and trusted nowhere else (``token_uri`` is filled in by ``calhub emulate google``).
"""
