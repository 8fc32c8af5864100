"""Watching the model: data drift and the retraining pull request. Template-maintained."""
