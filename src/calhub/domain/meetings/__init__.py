"""Meetings as users and devices see them: lists, RoomOS bookings, join-prompt rules."""
