"""The GraphQL face of outreach: campaigns, their results, surveys."""
