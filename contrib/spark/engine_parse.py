#!/usr/bin/env python3
"""The comparison job: the same lineage found by Spark alone, the engine
parsing every record (`from_json`), without keytrail.

    spark-submit --master local[2] contrib/spark/engine_parse.py --key KEY DIR [--timings FILE]

It reads every log file under DIR (digests excluded), explodes `Records`
with a schema of the fields the lineage needs, caches the events, follows
minting (STS `credentials`, `CreateAccessKey`) and console sign-ins
(`GetSigninToken` then console sessions of that ARN within 15 minutes)
breadth-first to a fixpoint, one Spark job per generation, and counts the
events of the lineage's keys. It is the baseline for keytrail's driver in
benches/spark.sh; it applies none of keytrail's precision rules (validity,
principal, footholds), so it can only find as many keys or more.
"""

import argparse
import json
import sys
import time


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--key", action="append", required=True)
    p.add_argument("--timings")
    p.add_argument("source")
    a = p.parse_args(argv)
    t0 = time.monotonic()

    from pyspark import StorageLevel
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    spark = SparkSession.builder.appName("keytrail-engine-parse").config("spark.log.level", "WARN").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    s = lambda *names: StructType([StructField(n, StringType()) for n in names])  # noqa: E731
    record = StructType([
        StructField("eventID", StringType()),
        StructField("eventTime", StringType()),
        StructField("eventSource", StringType()),
        StructField("eventName", StringType()),
        StructField("errorCode", StringType()),
        StructField("sessionCredentialFromConsole", StringType()),
        StructField("userIdentity", StructType([
            StructField("type", StringType()),
            StructField("arn", StringType()),
            StructField("accessKeyId", StringType()),
            StructField("sessionContext", StructType([StructField("attributes", s("creationDate"))])),
        ])),
        StructField("requestParameters", s("accessKeyId", "roleArn", "userName")),
        StructField("responseElements", StructType([
            StructField("credentials", s("accessKeyId", "expiration")),
            StructField("accessKey", s("accessKeyId")),
        ])),
    ])
    schema = StructType([StructField("Records", ArrayType(record))])
    startup = time.monotonic() - t0

    t = time.monotonic()
    files = (
        # A damaged file fails the whole job unless skipped, and skipped it
        # is never named: keytrail names it in the report instead.
        spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.json.gz")
        .option("ignoreCorruptFiles", "true")
        .text(a.source, wholetext=True)
        .withColumn("file", F.input_file_name())
        .where(~F.col("file").contains("CloudTrail-Digest"))
    )
    events = (
        files.select(F.explode(F.from_json("value", schema)["Records"]).alias("r"))
        .select(
            F.col("r.eventID").alias("id"),
            F.to_timestamp("r.eventTime").alias("time"),
            F.col("r.eventName").alias("name"),
            F.col("r.errorCode").alias("error"),
            F.col("r.userIdentity.accessKeyId").alias("actor"),
            F.col("r.userIdentity.arn").alias("arn"),
            F.to_timestamp("r.userIdentity.sessionContext.attributes.creationDate").alias("issued"),
            (F.col("r.sessionCredentialFromConsole") == "true").alias("console"),
            F.col("r.requestParameters.accessKeyId").alias("acted_on"),
            F.coalesce("r.responseElements.credentials.accessKeyId",
                       "r.responseElements.accessKey.accessKeyId").alias("minted"),
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    total = events.count()
    parse = time.monotonic() - t

    t = time.monotonic()
    keys = set(a.key)
    generations = 0
    while True:
        generations += 1
        k = list(keys)
        minted = {
            r.minted for r in events.where(
                F.col("actor").isin(k) & F.col("error").isNull() & F.col("minted").isNotNull()
            ).select("minted").distinct().collect()
        }
        sign_ins = events.where(
            F.col("actor").isin(k) & (F.col("name") == "GetSigninToken") & F.col("error").isNull()
        ).select(F.col("arn").alias("s_arn"), F.col("time").alias("s_time"))
        console = {
            r.actor for r in events.where(F.col("console") & F.col("actor").isNotNull())
            .join(sign_ins, (F.col("arn") == F.col("s_arn")) & (F.col("issued") >= F.col("s_time"))
                  & (F.col("issued") <= F.col("s_time") + F.expr("INTERVAL 15 MINUTES")))
            .select("actor").distinct().collect()
        }
        new = (minted | console) - keys
        if not new:
            break
        keys |= new
    k = list(keys)
    rows = events.where(
        F.col("actor").isin(k) | F.col("acted_on").isin(k) | F.col("minted").isin(k)
    ).select("id").distinct().count()
    closure = time.monotonic() - t
    result = {
        "events": total,
        "keys": sorted(keys),
        "credentials": len(keys),
        "generations": generations,
        "rows": rows,
        "startup": startup,
        "parse": parse,
        "closure": closure,
        "total": time.monotonic() - t0,
    }
    print(json.dumps(result, indent=1))
    if a.timings:
        with open(a.timings, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
