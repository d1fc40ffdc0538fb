#!/usr/bin/env python3
"""Run moto's S3-compatible server for keytrail's integration tests.

Usage: moto_server.py PARENT_PID [moto.server arguments...]
(PARENT_PID 0: run without the parent watch, for manual use.)

The test harness kills the server when a test ends (a Drop guard, which also
runs when the test panics). This launcher adds a second line of defence for
when the test process itself dies without unwinding (SIGKILL, a CI timeout):
it asks Linux to kill the server when the thread that spawned it exits
(PR_SET_PDEATHSIG), and gives up at once if that parent is already gone.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def run_moto(args: list[str]) -> None:
    # Once a test switches IAM enforcement on (POST /moto-api/reset-auth),
    # moto 5.2 recomputes each SigV4 signature over the *decoded* query string,
    # so every request whose query holds an encoded "/" (delimiter=/,
    # prefix=AWSLogs/...) fails with SignatureDoesNotMatch, from boto3 and the
    # Rust SDK alike: https://github.com/getmoto/moto/issues/5948. Only the
    # signature comparison is switched off; access keys must still exist in
    # moto's IAM and identity policies are still enforced, which is what the
    # tests rely on.
    from moto.iam import access_control

    access_control.IAMRequestBase.check_signature = lambda self: None
    from moto.server import main as moto_main

    moto_main(args)


def main() -> None:
    parent = int(sys.argv[1])
    if parent == 0:
        run_moto(sys.argv[2:])
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: rely on the harness's guard alone
    if os.getppid() != parent:
        sys.exit("moto_server.py: the test process is already gone")
    run_moto(sys.argv[2:])


if __name__ == "__main__":
    main()
