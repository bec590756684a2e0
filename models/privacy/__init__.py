"""The customer's privacy rights: consent history, data exports and erasure (issue 16)."""
