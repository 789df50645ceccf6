"""Routers by audience: admins first (their commands), then merchants; errors last."""
