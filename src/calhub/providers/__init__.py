"""Calendar systems behind one protocol (Microsoft Graph, Google; later CalDAV, EWS)."""
