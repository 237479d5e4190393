"""Domain rules and state machines, one package per capability: no HTTP, no Chalice, no boto3, no pynamodb.

`workspaces`, `studies`, `dropoff`, `accounts` and `mail` each hold their services, their values (a
`model` or the module that owns them) and their `ports`: the Protocols of the repositories and clients
they take as parameters, so unit tests hand in in-memory fakes and the API the DynamoDB implementations.
`common` is what all of them share; `messages` is what travels on the queues between them.
"""
