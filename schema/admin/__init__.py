"""Administration (issue 16): branches, staff accounts, the tier catalogue and merchants."""
