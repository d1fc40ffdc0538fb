#!/bin/sh
# Written by keytrail 0.1.0. keytrail never calls AWS itself: review, then run.
#
# Attaches an inline policy that denies every action to every session issued
# before 2025-12-08T15:10:00Z (--cutoff), to each user and role that holds or can mint
# sessions of the traced lineage. Long-term access keys are NOT affected:
# deactivate them first (listed at the end), or sessions they mint after the
# cut-off stay valid.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
#
# Set PROFILE_<account> to an AWS CLI profile with IAM rights in each account:
#   PROFILE_111111111111=... PROFILE_222222222222=... sh apply.sh
#
# Every attachment is attempted, even after one fails or an account's profile
# is missing or wrong. The failures, with the aws CLI's error for each, are
# listed at the end, and the script then exits 1.

set -u
cd "$(dirname "$0")" || exit 1
POLICY_NAME='keytrail-deny-sessions-before-20251208T151000Z'
ERR=$(mktemp) || exit 1
trap 'rm -f "$ERR"' EXIT
trap 'exit 1' HUP INT TERM
attempted=0
failed=0
failures=
account_error=

# use_account ACCOUNT PROFILE: checks that PROFILE really is ACCOUNT. If it
# is not, each attachment in ACCOUNT is recorded as failed instead of run,
# and the other accounts go on.
use_account() {
    account_error=
    if [ -z "$2" ]; then
        account_error="PROFILE_$1 is not set"
    elif actual=$(aws sts get-caller-identity --profile "$2" --query Account --output text 2>"$ERR"); then
        if [ "$actual" != "$1" ]; then
            # Never attach in the wrong account.
            account_error="profile $2 is account $actual, not $1"
        fi
    else
        status=$?
        account_error="cannot check profile $2: $(error_text "$status")"
    fi
    if [ -n "$account_error" ]; then
        printf 'apply.sh: skipping account %s: %s\n' "$1" "$account_error" >&2
    fi
}

# attach WHAT COMMAND...: runs one put-*-policy command unless its account
# failed its check. A failure is recorded, never fatal.
attach() {
    what=$1
    shift
    attempted=$((attempted + 1))
    if [ -n "$account_error" ]; then
        record "$what" "$account_error"
    elif "$@" 2>"$ERR"; then
        printf 'apply.sh: attached to %s\n' "$what"
    else
        status=$?
        record "$what" "$(error_text "$status")"
    fi
}

# error_text STATUS: what the failed command wrote to stderr, without the
# blank lines the aws CLI puts around it.
error_text() {
    if grep -q '[^[:space:]]' "$ERR"; then
        sed '/^[[:space:]]*$/d' "$ERR"
    else
        echo "exit status $1, no message"
    fi
}

# record WHAT WHY: one failed attachment, for the summary.
record() {
    failed=$((failed + 1))
    printf 'apply.sh: FAILED %s\n' "$1" >&2
    failures="$failures
  $1:
$(printf '%s\n' "$2" | sed 's/^/    /')"
}

# Account 111111111111
profile=${PROFILE_111111111111:-}
use_account '111111111111' "$profile"
# user ci-deployer: AKIAEXAMPLESEED00001, ASIAEXAMPLEFEDR00001, ASIAEXAMPLESESS00001
attach 'user ci-deployer in account 111111111111' aws iam put-user-policy --profile "$profile" --user-name 'ci-deployer' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-user-ci-deployer.json'
# user svc-backup: AKIAEXAMPLECRTD00001, ASIAEXAMPLESESS00002
attach 'user svc-backup in account 111111111111' aws iam put-user-policy --profile "$profile" --user-name 'svc-backup' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-user-svc-backup.json'
# role ReadOnlyAuditor: ASIAEXAMPLEROLE00003
attach 'role ReadOnlyAuditor in account 111111111111' aws iam put-role-policy --profile "$profile" --role-name 'ReadOnlyAuditor' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-role-ReadOnlyAuditor.json'
# role deploy-role: ASIAEXAMPLEROLE00001
attach 'role deploy-role in account 111111111111' aws iam put-role-policy --profile "$profile" --role-name 'deploy-role' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-role-deploy-role.json'

# Account 222222222222
profile=${PROFILE_222222222222:-}
use_account '222222222222' "$profile"
# role OrganizationAccountAccessRole: ASIAEXAMPLEXACC00001
attach 'role OrganizationAccountAccessRole in account 222222222222' aws iam put-role-policy --profile "$profile" --role-name 'OrganizationAccountAccessRole' --policy-name "$POLICY_NAME" --policy-document 'file://222222222222-role-OrganizationAccountAccessRole.json'

if [ "$failed" -ne 0 ]; then
    printf 'apply.sh: %s of %s attachments FAILED; those principals are NOT contained:%s\n' "$failed" "$attempted" "$failures" >&2
    exit 1
fi
printf 'apply.sh: all %s attachments done\n' "$attempted"

# STILL TO DO: the policy does not touch long-term keys. Deactivate, then delete, each:
#   AKIAEXAMPLESEED00001 (seed): no deactivation before the cut-off on the trail
#     aws iam update-access-key --profile "$PROFILE_111111111111" --user-name 'ci-deployer' --access-key-id AKIAEXAMPLESEED00001 --status Inactive
#     aws iam delete-access-key --profile "$PROFILE_111111111111" --user-name 'ci-deployer' --access-key-id AKIAEXAMPLESEED00001
#   AKIAEXAMPLECRTD00001 (created-key): no deactivation before the cut-off on the trail
#     aws iam update-access-key --profile "$PROFILE_111111111111" --user-name 'svc-backup' --access-key-id AKIAEXAMPLECRTD00001 --status Inactive
#     aws iam delete-access-key --profile "$PROFILE_111111111111" --user-name 'svc-backup' --access-key-id AKIAEXAMPLECRTD00001
