"""Change-notification subscriptions: handshake, delivery with retries, lifecycle events."""
