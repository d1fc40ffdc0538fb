#!/usr/bin/env python3
"""Seed a local S3-compatible server (moto) for keytrail's integration tests.

Usage: s3_seed.py ENDPOINT COMMAND ARGS...

Commands:
  bucket BUCKET                       create a bucket
  upload BUCKET SRC_DIR DEST_PREFIX [ACL]
                                      upload every file below SRC_DIR to
                                      DEST_PREFIX + its relative path
  put BUCKET KEY FILE [STORAGE_CLASS] upload one file
  deny-key BUCKET KEY                 create an IAM user that may list the
                                      bucket and read every object but KEY,
                                      print its keys as JSON, then switch
                                      moto's IAM enforcement on

Uses the AWS_* environment for the seeding credentials (moto accepts any).
"""

import json
import os
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
    )


def make_bucket(s3, bucket: str) -> None:
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def upload(s3, bucket: str, src: str, prefix: str, acl: str | None = None) -> None:
    make_bucket(s3, bucket)
    jobs = []
    for root, _dirs, files in os.walk(src):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            jobs.append((path, prefix + rel))

    # A sidecar DIGEST.signature becomes the digest's x-amz-meta-signature,
    # as CloudTrail delivers it, instead of an object of its own.
    signatures = {}
    for path, key in list(jobs):
        if key.endswith(".signature"):
            jobs.remove((path, key))
            with open(path) as f:
                signatures[key[: -len(".signature")]] = f.read().strip()

    def put(job):
        path, key = job
        with open(path, "rb") as f:
            extra = {"ACL": acl} if acl else {}
            if key in signatures:
                extra["Metadata"] = {"signature": signatures[key]}
            s3.put_object(Bucket=bucket, Key=key, Body=f.read(), **extra)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, jobs))
    print(len(jobs))


def deny_key(endpoint: str, bucket: str, key: str) -> None:
    iam = client(endpoint, "iam")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{key}",
            },
        ],
    }
    iam.create_user(UserName="analyst")
    iam.put_user_policy(
        UserName="analyst", PolicyName="read-but-one", PolicyDocument=json.dumps(policy)
    )
    created = iam.create_access_key(UserName="analyst")["AccessKey"]
    # From now on moto checks signatures and IAM policies on every request.
    urllib.request.urlopen(
        urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
    ).read()
    print(
        json.dumps(
            {"access_key_id": created["AccessKeyId"], "secret_access_key": created["SecretAccessKey"]}
        )
    )


def main() -> None:
    endpoint, command, *args = sys.argv[1:]
    s3 = client(endpoint, "s3")
    if command == "bucket":
        make_bucket(s3, args[0])
    elif command == "upload":
        upload(s3, *args)
    elif command == "put":
        bucket, key, path, *storage = args
        make_bucket(s3, bucket)
        extra = {"StorageClass": storage[0]} if storage else {}
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read(), **extra)
    elif command == "deny-key":
        deny_key(endpoint, *args)
    else:
        sys.exit(f"s3_seed.py: unknown command {command!r}")


if __name__ == "__main__":
    main()
