"""`python -m bench`: every benchmark, one after another."""

from __future__ import annotations

import sys

from bench import cold_start, dropoff, json_body, list_routes, openstack_calls, package_size, pipeline

if __name__ == "__main__":
    # Each benchmark parses its own options; run from here, they take their defaults.
    sys.argv = sys.argv[:1]
    for benchmark in (cold_start, json_body, list_routes, openstack_calls, package_size, pipeline, dropoff):
        benchmark.main()
        print(flush=True)
