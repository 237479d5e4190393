"""`python -m bench`: every benchmark, one after another."""

from __future__ import annotations

from bench import cold_start, openstack_calls

if __name__ == "__main__":
    cold_start.main()
    openstack_calls.main()
