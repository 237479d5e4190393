"""The outside world: the identity provider, SSM secrets, and (as they land) OpenStack, SES and VRW."""
