"""Which sender delivers: the ``message_sender`` setting names it (core/settings.py)."""

from __future__ import annotations

from core.settings import Settings
from resolvers.outreach.senders import DEVELOPMENT, OUTBOX_FILE, DevelopmentSender, MessageSender
from resolvers.outreach.senders_http import HttpSender


def sender_for(settings: Settings) -> MessageSender:
    """The development sender (records to ``var_dir/outbox``) or the HTTP gateway sender."""
    if settings.message_sender == DEVELOPMENT:
        return DevelopmentSender(settings.var_dir / OUTBOX_FILE)
    return HttpSender.from_settings(settings)
