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

set -eu
cd "$(dirname "$0")"
POLICY_NAME='keytrail-deny-sessions-before-20251208T151000Z'

in_account() {
    # Never attach in the wrong account.
    actual=$(aws sts get-caller-identity --profile "$1" --query Account --output text)
    if [ "$actual" != "$2" ]; then
        echo "apply.sh: profile $1 is account $actual, not $2" >&2
        exit 1
    fi
}

# Account 111111111111
in_account "${PROFILE_111111111111:?set PROFILE_111111111111 to an AWS CLI profile for account 111111111111}" '111111111111'
# user ci-deployer: AKIAEXAMPLESEED00001, ASIAEXAMPLEFEDR00001, ASIAEXAMPLESESS00001
aws iam put-user-policy --profile "$PROFILE_111111111111" --user-name 'ci-deployer' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-user-ci-deployer.json'
# user svc-backup: AKIAEXAMPLECRTD00001, ASIAEXAMPLESESS00002
aws iam put-user-policy --profile "$PROFILE_111111111111" --user-name 'svc-backup' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-user-svc-backup.json'
# role ReadOnlyAuditor: ASIAEXAMPLEROLE00003
aws iam put-role-policy --profile "$PROFILE_111111111111" --role-name 'ReadOnlyAuditor' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-role-ReadOnlyAuditor.json'
# role deploy-role: ASIAEXAMPLEROLE00001
aws iam put-role-policy --profile "$PROFILE_111111111111" --role-name 'deploy-role' --policy-name "$POLICY_NAME" --policy-document 'file://111111111111-role-deploy-role.json'

# Account 222222222222
in_account "${PROFILE_222222222222:?set PROFILE_222222222222 to an AWS CLI profile for account 222222222222}" '222222222222'
# role OrganizationAccountAccessRole: ASIAEXAMPLEXACC00001
aws iam put-role-policy --profile "$PROFILE_222222222222" --role-name 'OrganizationAccountAccessRole' --policy-name "$POLICY_NAME" --policy-document 'file://222222222222-role-OrganizationAccountAccessRole.json'

# STILL TO DO: the policy does not touch long-term keys. Deactivate, then delete, each:
#   AKIAEXAMPLESEED00001 (seed): no deactivation before the cut-off on the trail
#     aws iam update-access-key --profile "$PROFILE_111111111111" --user-name 'ci-deployer' --access-key-id AKIAEXAMPLESEED00001 --status Inactive
#     aws iam delete-access-key --profile "$PROFILE_111111111111" --user-name 'ci-deployer' --access-key-id AKIAEXAMPLESEED00001
#   AKIAEXAMPLECRTD00001 (created-key): no deactivation before the cut-off on the trail
#     aws iam update-access-key --profile "$PROFILE_111111111111" --user-name 'svc-backup' --access-key-id AKIAEXAMPLECRTD00001 --status Inactive
#     aws iam delete-access-key --profile "$PROFILE_111111111111" --user-name 'svc-backup' --access-key-id AKIAEXAMPLECRTD00001
