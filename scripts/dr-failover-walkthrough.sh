#!/usr/bin/env bash
# A DR failover against `replication-server dev`, with curl and jq: the README walks through it.
set -euo pipefail
RS=${RS:-target/release/replication-server}  # cargo build --release -p replication-server
$RS dev --root-token root --heartbeat 1s --credentials "${TMPDIR:-/tmp}/replication-dev.json" > /dev/null 2>&1 &
DEV=$!
trap "kill $DEV 2>/dev/null" EXIT
sleep 1
export VAULT_TOKEN=root A=http://127.0.0.1:8200 B=http://127.0.0.1:8210
KEY=$(jq -r ".unseal_keys[0]" "${TMPDIR:-/tmp}/replication-dev.json")
v() { curl -sf -H "X-Vault-Token: $VAULT_TOKEN" "$@"; }

# 1. A is the DR primary, B its DR secondary.
v -X POST $A/v1/sys/replication/dr/primary/enable
TOKEN=$(v -X POST -d '{"id":"B"}' $A/v1/sys/replication/dr/primary/secondary-token | jq -r .wrap_info.token)
v -X POST -d "{\"token\":\"$TOKEN\"}" $B/v1/sys/replication/dr/secondary/enable
v -X PUT -d '{"password":"s3cret"}' $A/v1/secret/app
sleep 2
v $B/v1/sys/replication/dr/status | jq -c '.data | {mode, state, merkle_root}'
v $A/v1/sys/replication/dr/status | jq -c '.data | {mode, merkle_root}'

# 2. Planned failover: demote A, promote B with a DR operation token.
v -X POST $A/v1/sys/replication/dr/primary/demote
ATTEMPT=$(curl -sf -X POST $B/v1/sys/replication/dr/secondary/generate-operation-token/attempt)
NONCE=$(echo "$ATTEMPT" | jq -r .data.nonce); OTP=$(echo "$ATTEMPT" | jq -r .data.otp)
ENCODED=$(curl -sf -X POST -d "{\"key\":\"$KEY\",\"nonce\":\"$NONCE\"}" $B/v1/sys/replication/dr/secondary/generate-operation-token/update | jq -r .data.encoded_token)
OPTOKEN=$($RS decode-token --otp "$OTP" "$ENCODED")
v -X POST -d "{\"dr_operation_token\":\"$OPTOKEN\"}" $B/v1/sys/replication/dr/secondary/promote | jq -c .warnings
v $B/v1/secret/app | jq -c .data

# 3. Point the old primary at the new one (no wipe: same replication set).
TOKEN=$(v -X POST -d '{"id":"A"}' $B/v1/sys/replication/dr/primary/secondary-token | jq -r .wrap_info.token)
ATTEMPT=$(curl -sf -X POST $A/v1/sys/replication/dr/secondary/generate-operation-token/attempt)
NONCE=$(echo "$ATTEMPT" | jq -r .data.nonce); OTP=$(echo "$ATTEMPT" | jq -r .data.otp)
ENCODED=$(curl -sf -X POST -d "{\"key\":\"$KEY\",\"nonce\":\"$NONCE\"}" $A/v1/sys/replication/dr/secondary/generate-operation-token/update | jq -r .data.encoded_token)
v -X POST -d "{\"token\":\"$TOKEN\",\"dr_operation_token\":\"$($RS decode-token --otp "$OTP" "$ENCODED")\"}" $A/v1/sys/replication/dr/secondary/update-primary
sleep 3
v $A/v1/sys/replication/dr/status | jq -c '.data | {mode, state, primary_cluster_addr}'
kill $DEV
echo "failover done: B is the DR primary, A its DR secondary"
