"""Workloads and data generators for timing cardcrm (not shipped; see each module)."""
