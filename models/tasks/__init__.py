"""Staff tasks: the daily work queue of agents (回访, 关怀, retention, reactivation)."""
