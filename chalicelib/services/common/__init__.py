"""What every capability shares: ids and time, audit entries and pages (`model`), and the ledger that makes
things happen once (`ports`). Nothing here depends on a capability.
"""
