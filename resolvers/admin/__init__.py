"""Administration (issue 16): branches, staff accounts, the tier catalogue's versions and
partner merchants, for the GraphQL mutations and the ``cardcrm admin`` commands alike."""
