"""Shared machinery: params.yaml, atomic and safe files, paths, git/DVC/GTO, recovery. Template-maintained."""
