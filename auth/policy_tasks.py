"""The field policy rows of the tasks domain (joined into the one table in auth/policy.py).

The task queue is staff-only: marketers, risk officers, customers and merchants are denied
every row (and hold no ``tasks:read``). Why a task was made (a retention call's churn
reasons) and the offers it may make are C1: clear to the people who work the queue
(agents, supervisors, admins) and to auditors, within their row scope (an agent's own tasks,
a supervisor's branch, every branch for admins and auditors).
"""

from __future__ import annotations

from auth.policy_rule import C1, A, FieldRule, R, rule
from core.identity import Scope

TASK_READERS = (R.ADMIN, R.SUPERVISOR, R.AGENT, R.AUDITOR)

TASK_RULES: tuple[FieldRule, ...] = tuple(
    rule("Task", field_name, C1, dict.fromkeys(TASK_READERS, A.CLEAR), scope=Scope.TASKS_READ)
    for field_name in ("reasons", "offerIds")
)
