#!/usr/bin/env python3
"""An organization trail for the Spark test: several accounts and regions,
three days, noise with minting of its own, and a lineage whose keys turn up
late, so that `keytrail trace` must re-read files and `keytrail shard` must
find the same answer in two passes.

Usage: spark_corpus.py OUT_DIR

Deterministic. Record shapes come from fixtures/make_lineage.py (imported;
its PROVENANCE applies).

The lineage (seed AKIASPARKSEEDALICE01, user alice in 111111111111):
  08 09:05 GetSessionToken -> ASIASPARKSESSION0001 (12 h)
  08 09:20 the session assumes ops-role in 222222222222 -> ASIASPARKOPSROLE0001 (1 h)
  08 09:40 the role creates a key for bob -> AKIASPARKBOBKEY00001; that event is
           delivered 5 h late (eu-west-1 file stamped 15:00), after bob's key was
           already used from 10:00 in files stamped earlier: trace re-reads them
  08 10:30 bob's key creates user svc-backdoor (a user foothold) and, at 10:35,
           a key for it -> AKIASPARKBACKDOOR001, used on the 9th
  08 12:00 the defender deactivates the seed; the session acts at 12:30
  08 10:10 another principal in 333333333333 uses the role's key id (reused id)
Damage: one truncated file (no complete record: skipped, exit 3); a digest folder
(skipped by design).
"""

import gzip
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
import make_lineage as L  # noqa: E402

ORG = "o-sparkorg01"
A, B, C = "111111111111", "222222222222", "333333333333"
ACCOUNTS = [A, B, C]
REGIONS = ["us-east-1", "eu-west-1"]
DAYS = ["2025-12-07", "2025-12-08", "2025-12-09"]

SEED = "AKIASPARKSEEDALICE01"
SESS = "ASIASPARKSESSION0001"
ROLE = "ASIASPARKOPSROLE0001"
BOB = "AKIASPARKBOBKEY00001"
BACKDOOR = "AKIASPARKBACKDOOR001"
ADMIN = "AKIASPARKDEFENDER001"

L.USERS.update({
    "alice": (A, "AIDASPARKALICE000001"),
    "bob": (B, "AIDASPARKBOB00000001"),
    "svc-backdoor": (B, "AIDASPARKBACKDOOR001"),
    "secops": (A, "AIDASPARKSECOPS00001"),
})
L.ROLES.update({
    (B, "ops-role"): "AROASPARKOPSROLE0001",
    (C, "batch"): "AROASPARKBATCHROLE01",
})
for i in range(12):
    acct = ACCOUNTS[i % 3]
    L.USERS[f"svc{i:02d}"] = (acct, f"AIDASPARKNOISE{i:06d}")
    L.ROLES[(acct, f"app{i:02d}")] = f"AROASPARKNOISE{i:06d}"


def when(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}"


def at(s: str) -> datetime:
    return L.t(s)


# (account, region, stamp) -> records; a stamp is the delivery time.
files: dict[tuple[str, str, datetime], list[dict]] = {}


def deliver(acct: str, region: str, record: dict, late: timedelta | None = None) -> None:
    t = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    stamp = t + (late or timedelta(minutes=5))
    stamp = stamp.replace(minute=stamp.minute // 20 * 20, second=0) + timedelta(minutes=20)
    files.setdefault((acct, region, stamp), []).append(record)


def lineage() -> None:
    d = "2025-12-08"
    alice = L.iam_user("alice", SEED)
    deliver(A, "us-east-1", L.ev("s-gci", when(d, "09:00"), "sts.amazonaws.com", "GetCallerIdentity", alice))
    s_exp = at(when(d, "21:05"))
    deliver(A, "us-east-1", L.ev("s-gst", when(d, "09:05"), "sts.amazonaws.com", "GetSessionToken", alice,
                                 req={"durationSeconds": 43200},
                                 resp={"credentials": L.creds(SESS, s_exp, "sess")}))
    sess = L.session_user("alice", SESS, at(when(d, "09:05")))
    deliver(A, "us-east-1", L.ev("s-list", when(d, "09:10"), "s3.amazonaws.com", "ListBuckets", sess))
    role_arn = f"arn:aws:iam::{B}:role/ops-role"
    r_exp = at(when(d, "10:20"))
    deliver(A, "us-east-1", L.ev("s-assume", when(d, "09:20"), "sts.amazonaws.com", "AssumeRole", sess,
                                 req={"roleArn": role_arn, "roleSessionName": "alice-ops"},
                                 resp={"credentials": L.creds(ROLE, r_exp, "role"),
                                       "assumedRoleUser": {"assumedRoleId": "AROASPARKOPSROLE0001:alice-ops",
                                                           "arn": f"arn:aws:sts::{B}:assumed-role/ops-role/alice-ops"}},
                                 read_only=True))
    role = L.assumed(B, "ops-role", "alice-ops", ROLE, at(when(d, "09:20")))
    for i, name in enumerate(["ListBuckets", "DescribeInstances", "ListUsers", "GetCallerIdentity"]):
        src = {"ListBuckets": "s3", "DescribeInstances": "ec2", "ListUsers": "iam", "GetCallerIdentity": "sts"}[name]
        deliver(B, "eu-west-1", L.ev(f"r-{i}", when(d, f"09:{25 + i * 3}"), f"{src}.amazonaws.com", name, role,
                                     region="eu-west-1"))
    # The key for bob: delivered five hours late.
    deliver(B, "eu-west-1", L.ev("r-createkey", when(d, "09:40"), "iam.amazonaws.com", "CreateAccessKey", role,
                                 region="eu-west-1", read_only=False, req={"userName": "bob"},
                                 resp={"accessKey": {"accessKeyId": BOB, "status": "Active", "userName": "bob",
                                                     "createDate": L.human(at(when(d, "09:40")))}}),
            late=timedelta(hours=5, minutes=20))
    bob = L.iam_user("bob", BOB)
    for i, hhmm in enumerate(["10:00", "10:45", "11:30", "12:10"]):
        deliver(B, "us-east-1", L.ev(f"b-{i}", when(d, hhmm), "s3.amazonaws.com", "GetObject", bob,
                                     req={"bucketName": "finance-exports", "key": f"q{i}.csv"}))
    deliver(B, "us-east-1", L.ev("b-createuser", when(d, "10:30"), "iam.amazonaws.com", "CreateUser", bob,
                                 read_only=False, req={"userName": "svc-backdoor"},
                                 resp={"user": {"path": "/", "userName": "svc-backdoor",
                                                "userId": "AIDASPARKBACKDOOR001",
                                                "arn": f"arn:aws:iam::{B}:user/svc-backdoor",
                                                "createDate": L.human(at(when(d, "10:30")))}}))
    deliver(B, "us-east-1", L.ev("b-createkey", when(d, "10:35"), "iam.amazonaws.com", "CreateAccessKey", bob,
                                 read_only=False, req={"userName": "svc-backdoor"},
                                 resp={"accessKey": {"accessKeyId": BACKDOOR, "status": "Active",
                                                     "userName": "svc-backdoor",
                                                     "createDate": L.human(at(when(d, "10:35")))}}))
    backdoor = L.iam_user("svc-backdoor", BACKDOOR)
    for i, hhmm in enumerate(["08:00", "08:40", "13:15"]):
        deliver(B, "eu-west-1", L.ev(f"k-{i}", when("2025-12-09", hhmm), "secretsmanager.amazonaws.com",
                                     "GetSecretValue", backdoor, region="eu-west-1",
                                     req={"secretId": f"prod/db-{i}"}))
    # The defender deactivates the seed; the session is still valid.
    secops = L.iam_user("secops", ADMIN)
    deliver(A, "us-east-1", L.ev("d-deactivate", when(d, "12:00"), "iam.amazonaws.com", "UpdateAccessKey", secops,
                                 read_only=False, ip=L.ADMIN_IP,
                                 req={"accessKeyId": SEED, "status": "Inactive", "userName": "alice"}))
    deliver(A, "us-east-1", L.ev("s-after", when(d, "12:30"), "s3.amazonaws.com", "ListBuckets", sess))
    # The role's key id, reused by another principal in another account.
    other = L.assumed(C, "batch", "nightly", ROLE, at(when(d, "10:00")))
    deliver(C, "us-east-1", L.ev("x-reuse", when(d, "10:10"), "s3.amazonaws.com", "ListBuckets", other,
                                 ip=L.APP_IP))


def noise(rng: random.Random) -> None:
    names = [("s3.amazonaws.com", "GetObject"), ("ec2.amazonaws.com", "DescribeInstances"),
             ("iam.amazonaws.com", "ListRoles"), ("kms.amazonaws.com", "Decrypt"),
             ("logs.amazonaws.com", "PutLogEvents"), ("sts.amazonaws.com", "GetCallerIdentity")]
    n = 0
    for day in DAYS:
        for acct in ACCOUNTS:
            for region in REGIONS:
                for slot in range(0, 24 * 60, 20):
                    for _ in range(rng.randint(8, 16)):
                        i = rng.randrange(12)
                        user = f"svc{i:02d}"
                        if L.USERS[user][0] != acct:
                            continue
                        minute = slot + rng.randrange(20)
                        t = f"{day}T{minute // 60:02d}:{minute % 60:02d}"
                        key = f"AKIASPARKNOISE{i:06d}"
                        n += 1
                        if rng.random() < 0.05:
                            # Noise that mints: an app role session nobody follows.
                            minted = f"ASIASPARKNOISE{n:06d}"
                            r = L.ev(f"n-{n}", t, "sts.amazonaws.com", "AssumeRole", L.iam_user(user, key),
                                     region=region, acct=acct,
                                     req={"roleArn": f"arn:aws:iam::{acct}:role/app{i:02d}",
                                          "roleSessionName": "job"},
                                     resp={"credentials": L.creds(minted, L.t(t) + timedelta(hours=1), f"n{n}")},
                                     ua=L.UA_BOTO, ip=L.APP_IP)
                        else:
                            src, name = names[rng.randrange(len(names))]
                            r = L.ev(f"n-{n}", t, src, name, L.iam_user(user, key), region=region, acct=acct,
                                     ua=L.UA_BOTO, ip=L.APP_IP)
                        deliver(acct, region, r)


def write(out: Path) -> int:
    count = 0
    for (acct, region, stamp), records in sorted(files.items()):
        records.sort(key=lambda r: (r["eventTime"], r["eventID"]))
        folder = out / "AWSLogs" / ORG / acct / "CloudTrail" / region / stamp.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{acct}_CloudTrail_{region}_{stamp.strftime('%Y%m%dT%H%MZ')}_{L.uid(str(stamp) + acct + region)[:16]}.json.gz"
        body = gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
        if (acct, region, stamp.strftime("%d%H%M")) == (C, "eu-west-1", "081300"):
            body = body[: len(body) * 2 // 3]  # damaged in transit
        (folder / name).write_bytes(body)
        count += 1
    digest = out / "AWSLogs" / ORG / A / "CloudTrail-Digest" / "us-east-1" / "2025" / "12" / "08"
    digest.mkdir(parents=True, exist_ok=True)
    (digest / f"{A}_CloudTrail-Digest_us-east-1_20251208T100000Z.json.gz").write_bytes(
        gzip.compress(b'{"digestStartTime":"2025-12-08T09:00:00Z"}', mtime=0))
    return count


def main() -> None:
    out = Path(sys.argv[1])
    lineage()
    noise(random.Random(18))
    print(f"wrote {write(out)} files")


if __name__ == "__main__":
    main()
