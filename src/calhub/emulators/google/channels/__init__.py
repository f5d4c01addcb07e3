"""Calendar push notifications: ``events.watch`` channels, their delivery and ``channels.stop``."""
