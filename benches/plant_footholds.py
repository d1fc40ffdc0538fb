#!/usr/bin/env python3
"""Writes an overlay of foothold records for the benchmark corpus (issue 15).

    python3 benches/plant_footholds.py bench-corpus /tmp/footholds-overlay

Reads CORPUS/ground-truth.json (seed key, victim account, organization, day)
and writes, in the same delivery layout, files holding what an attacker with
the seed key builds in the first minutes of the day: a user with a console
password, a role trusting an outside account, an instance and a function with
admin roles, a SAML provider, and then their use all day long (console
sessions, outside role sessions, EC2 and Lambda sessions): 6 footholds and
about 1,000 events through them.

Tracing `--key SEED CORPUS OVERLAY` then watches six names (and their
quoted spellings) in every file from 00:10 on, which is the cost the issue
asks to measure against `--key SEED CORPUS` alone. Deterministic; stdlib only.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    truth = json.loads((corpus / "ground-truth.json").read_text())
    seed = truth["seed_key"]
    victim = truth["accounts"][0]
    org = truth.get("organization")
    day = datetime.strptime(truth["start"][:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    region = "us-east-1"
    outside = "666666666666"

    n = 0

    def uid(label: str) -> str:
        h = hashlib.sha256(label.encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def key(prefix: str, label: str) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        v = int(hashlib.sha256(label.encode()).hexdigest(), 16)
        return prefix + "".join(alphabet[(v >> (5 * i)) & 31] for i in range(16))

    def exp(t: datetime) -> str:
        h = t.hour % 12 or 12
        return f"{t:%b} {t.day}, {t.year}, {h}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"

    records: list[dict] = []

    def ev(t: datetime, source: str, name: str, ident: dict, req=None, resp=None, console=False):
        nonlocal n
        n += 1
        r = {"eventVersion": "1.09", "userIdentity": ident, "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.77",
             "userAgent": "aws-cli/2.22.4", "requestParameters": req, "responseElements": resp,
             "requestID": uid(f"req{n}"), "eventID": uid(f"evt{n}"), "readOnly": False,
             "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": victim,
             "eventCategory": "Management"}
        if console:
            r["sessionCredentialFromConsole"] = "true"
        records.append(r)

    seed_ident = {"type": "IAMUser", "principalId": "AIDAEXAMPLESEEDUSER1",
                  "arn": f"arn:aws:iam::{victim}:user/leaked", "accountId": victim,
                  "accessKeyId": seed, "userName": "leaked"}
    t0 = day + timedelta(minutes=10)
    ev(t0, "iam.amazonaws.com", "CreateUser", seed_ident, {"userName": "bench-backdoor"},
       {"user": {"userName": "bench-backdoor", "arn": f"arn:aws:iam::{victim}:user/bench-backdoor"}})
    ev(t0 + timedelta(seconds=5), "iam.amazonaws.com", "CreateLoginProfile", seed_ident,
       {"userName": "bench-backdoor", "passwordResetRequired": False})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{outside}:root"}, "Action": "sts:AssumeRole"}]})
    ev(t0 + timedelta(seconds=10), "iam.amazonaws.com", "CreateRole", seed_ident,
       {"roleName": "bench-role", "assumeRolePolicyDocument": trust},
       {"role": {"roleName": "bench-role", "arn": f"arn:aws:iam::{victim}:role/bench-role"}})
    ev(t0 + timedelta(seconds=15), "ec2.amazonaws.com", "RunInstances", seed_ident,
       {"iamInstanceProfile": {"name": "bench-admin"}, "instanceType": "t3.micro"},
       {"instancesSet": {"items": [{"instanceId": "i-0bench0000000001"}]}})
    ev(t0 + timedelta(seconds=20), "lambda.amazonaws.com", "CreateFunction20150331", seed_ident,
       {"functionName": "bench-fn", "role": f"arn:aws:iam::{victim}:role/bench-lambda"},
       {"functionName": "bench-fn"})
    ev(t0 + timedelta(seconds=25), "iam.amazonaws.com", "CreateSAMLProvider", seed_ident, {"name": "bench-idp"},
       {"sAMLProviderArn": f"arn:aws:iam::{victim}:saml-provider/bench-idp"})

    def assumed(role: str, session: str, k: str, created: datetime) -> dict:
        return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE:{session}",
                "arn": f"arn:aws:sts::{victim}:assumed-role/{role}/{session}", "accountId": victim,
                "accessKeyId": k, "sessionContext": {"sessionIssuer": {"type": "Role",
                                                                       "arn": f"arn:aws:iam::{victim}:role/{role}"},
                                                     "attributes": {"creationDate": created.strftime(
                                                         "%Y-%m-%dT%H:%M:%SZ")}}}

    def mint(t: datetime, caller: dict, role: str, session: str, k: str, name="AssumeRole", extra=None):
        req = {"roleArn": f"arn:aws:iam::{victim}:role/{role}", "roleSessionName": session} | (extra or {})
        ev(t, "sts.amazonaws.com", name, caller, req,
           {"credentials": {"accessKeyId": k, "sessionToken": "IQoJEXAMPLE", "expiration": exp(t + timedelta(hours=1))},
            "assumedRoleUser": {"arn": f"arn:aws:sts::{victim}:assumed-role/{role}/{session}"}})

    # Their use, every 20 minutes from 00:20 to the end of the day.
    for step in range(1, 72):
        t = t0 + timedelta(minutes=20 * step)
        login = {"type": "IAMUser", "principalId": "AIDAEXAMPLEBENCHBKDR1",
                 "arn": f"arn:aws:iam::{victim}:user/bench-backdoor", "accountId": victim,
                 "userName": "bench-backdoor"}
        ev(t, "signin.amazonaws.com", "ConsoleLogin", login, None, {"ConsoleLogin": "Success"})
        ck = key("ASIA", f"console{step}")
        console = dict(login, accessKeyId=ck, sessionContext={"attributes": {
            "creationDate": t.strftime("%Y-%m-%dT%H:%M:%SZ")}})
        for i in range(4):
            ev(t + timedelta(seconds=30 + i), "iam.amazonaws.com", "ListUsers", console, console=True)
        sessions = [
            ({"type": "AWSAccount", "principalId": "AIDAEXAMPLEOUTSIDE01", "accountId": outside},
             "bench-role", "x", "AssumeRole", None),
            ({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, "bench-admin", "i-0bench0000000001",
             "AssumeRole", None),
            ({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}, "bench-lambda", "bench-fn",
             "AssumeRole", None),
            ({"type": "SAMLUser", "principalId": "x:eve", "userName": "eve"}, "bench-saml", "eve",
             "AssumeRoleWithSAML", {"principalArn": f"arn:aws:iam::{victim}:saml-provider/bench-idp"}),
        ]
        for j, (caller, role, session, name, extra) in enumerate(sessions):
            k = key("ASIA", f"s{step}.{j}")
            tm = t + timedelta(minutes=1 + j)
            mint(tm, caller, role, session, k, name, extra)
            ev(tm + timedelta(seconds=30), "s3.amazonaws.com", "ListBuckets", assumed(role, session, k, tm))

    # One file per 5-minute window, stamped 7 minutes later.
    files: dict[str, list[dict]] = {}
    prefix = f"AWSLogs/{org}/{victim}" if org else f"AWSLogs/{victim}"
    for r in records:
        t = datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        stamp = t.replace(second=0) - timedelta(minutes=t.minute % 5) + timedelta(minutes=7)
        name = (f"{prefix}/CloudTrail/{region}/{stamp:%Y/%m/%d}/"
                f"{victim}_CloudTrail_{region}_{stamp:%Y%m%dT%H%MZ}_footholds0000000.json.gz")
        files.setdefault(name, []).append(r)
    for name, recs in files.items():
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(json.dumps({"Records": recs}, separators=(",", ":")).encode(), mtime=0))
    print(f"wrote {len(files)} files, {len(records)} records under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
