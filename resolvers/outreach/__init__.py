"""Outreach: campaigns, the senders that deliver their messages, surveys and NPS."""
