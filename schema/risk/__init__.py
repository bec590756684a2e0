"""Risk: fraud and risk alerts (rules, queries, decisions) and risk grades."""
