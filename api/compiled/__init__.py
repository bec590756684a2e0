"""The compiled executor: known queries planned once, run without graphql-core's per-field
machinery, with the standard executor answering everything the plan cannot reproduce.

- ``plan``: a validated query → ``OperationPlan`` (or ``NotCompilable``), caller-independent;
- ``execute``: one request's run of a plan: permissions, masks, DataLoader batching;
- ``operations``: the per-process cache of plans and the view's one entry point.
"""
