"""An offline Microsoft Graph (v1.0 calendar surface) and identity platform emulator.

``create_app(state, clock)`` builds the ASGI app; ``calhub emulate graph`` serves it. It imports
nothing from the hub but pure domain helpers (recurrence, time zones).
"""
