"""The local stack (`make run`) and its parts: moto, `chalice local`, the queue pump, the local environment."""
