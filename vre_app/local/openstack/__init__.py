"""A local OpenStack (Keystone, Nova, Glance, Neutron) that openstacksdk talks to over real HTTP.

Not deployed. The local stack and the tests run `LocalOpenStack` in-process on a port of its own,
write a clouds.yaml for it, and turn its knobs (boot time, latency, error and drop rates, servers
that end in ERROR, quotas) to see how the broker copes. The images, flavors and the network it
offers are in vre_app/data/openstack.json.
"""

from vre_app.local.openstack.server import DEFAULT_CLOUD_NAME, LocalOpenStack, free_port
from vre_app.local.openstack.state import CloudState, Knobs, KnobsError, knobs_from, load_catalog

__all__ = [
    "DEFAULT_CLOUD_NAME",
    "CloudState",
    "Knobs",
    "KnobsError",
    "LocalOpenStack",
    "free_port",
    "knobs_from",
    "load_catalog",
]
