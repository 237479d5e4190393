"""What the tests (and `bench/`) share: the DynamoDB call counter and the stacks they run against.

`dynamodb_calls` counts the AWS calls botocore clients make; `stack` points this process at a moto with the
template applied, or starts the local stack as `make run` does.
"""
