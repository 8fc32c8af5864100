"""The pull-request review: champion, comparison, gate, report, status. Template-maintained."""
