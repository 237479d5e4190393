"""Workspaces: a researcher's virtual machine from request to deletion.

`lifecycle` is the workspace and its state machine, `transitions` the one way it changes state;
`workspaces` takes the researchers' requests, `provisioning` drives the cloud (`cloud`), `vrw` takes
VRW's events and `reconciler` repairs what got stuck; `catalog` (with `catalog_items`) prices and resolves
what a request asks for; `notices` queues the mails a change owes; `ports` holds the Protocols they need.
"""
