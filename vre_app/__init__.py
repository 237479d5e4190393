"""Not deployed: the ops CLI (`python -m vre_app ...`) and the local stack."""
