"""Drop-off: files uploaded to a study, through tusd (`uploads`) or straight to the uploads bucket over S3
multipart (`dropoff`); `upload_rules` screens names and words, `upload_files` lists, downloads and deletes,
`upload_reconciler` settles what a hook missed; `storage` is the bucket as a Protocol, `model` the values
and `ports` the repository Protocol.
"""
