"""VRE Broker: the Research Workspace Broker as a Chalice app on DynamoDB."""

__version__ = "0.1.0"
