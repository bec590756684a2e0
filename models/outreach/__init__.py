"""Outreach: campaigns to saved segments, the messages they send, and satisfaction surveys."""
