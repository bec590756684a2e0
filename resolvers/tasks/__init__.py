"""Staff tasks: generating the daily queue, assigning, completing and reassigning tasks."""
