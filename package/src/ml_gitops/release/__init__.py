"""Versions and deployment: register, release assets, publish, production, serve. Template-maintained."""
