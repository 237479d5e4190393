"""What tests share: in-memory fakes of the repositories, the cloud and the bucket (`fakes*`), API calls and
table snapshots (`api`), the drop-off, tusd and VRW clients tests drive, and the IAM call recorder."""
