"""Domain rules and state machines: no HTTP, no Chalice, no boto3, no pynamodb.

Every function takes the repositories it needs as parameters (see `ports`), so unit tests
hand it in-memory fakes and the API hands it the DynamoDB implementations.
"""
