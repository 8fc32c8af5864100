"""GitHub: the REST API and the repository settings as code (standard library). Template-maintained."""
