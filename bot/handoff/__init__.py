"""Handing hard cases to human support: tickets and relay bookkeeping behind a small interface."""
