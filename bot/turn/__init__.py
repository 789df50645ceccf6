"""The turn service: one place where a merchant's turn is decided, for every front end (plain Python)."""
