"""`make rehearse`: the operator's `python -m vre_app deploy --stage dev`, run end to end against moto.

Not deployed. See `vre_app.rehearse.harness` for the steps and `vre_app.rehearse.gaps` for where moto falls
short of AWS and how the harness (never the deploy) makes up for it.
"""
