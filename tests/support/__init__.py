"""What the tests (and `bench/`) share.

In-memory fakes of the repositories, the cloud and the bucket (`fakes*`), API calls and table snapshots (`api`),
the drop-off, tusd and VRW clients tests drive (`dropoff`, `tusd`, `vrw`), the IAM call recorder (`iam_calls`),
the DynamoDB call counter (`dynamodb_calls`) and the stacks tests run against (`stack`: a moto with the template
applied in this process, or the local stack as `make run` starts it).
"""
