"""GraphQL for the customer's privacy rights: consents, exports, erasure (issue 16)."""
