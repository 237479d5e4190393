"""The mail family, in three parts: what each mail says (`phrases`, English and Dutch), how it is built
(`render`, plain text and HTML from one list of blocks) and sending it once (`delivery`, one claim → send →
release for every kind of mail); `ports` holds the queue and the mail service it works between.

The invitations and uploads services and the workspace changes queue small messages (ids, and the raw
invitation token, never the mail itself); the mail worker hands each to `delivery.deliver` or
`delivery.deliver_workspace_mail`. Pure: no boto3 and no Chalice.
"""
