"""Persistence behind small interfaces: embedded SQLite by default, server stores later."""
