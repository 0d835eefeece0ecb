# The bucket of the Scalr enforce_s3_private mock.

resource "aws_s3_bucket" "b" {
  bucket = "bucketthefirst-foo"
  acl    = "public"
}
