"""SQS-triggered handlers' batch loops: each takes Chalice's event and the wired dependencies, hands
every record to a per-record service function, and reports the records that failed, so SQS
redelivers those alone. The per-record functions are idempotent: SQS delivers at least once.
"""
