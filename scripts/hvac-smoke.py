#!/usr/bin/env python3
"""hvac (the Python Vault client) against `replication-server dev`: health, token lookup, mounts,
KV version 1 and a DR pair through hvac's generic adapter. Usage:

    replication-server dev --root-token root &
    pip install hvac && python3 scripts/hvac-smoke.py
"""
import time

import hvac

A = hvac.Client(url="http://127.0.0.1:8200", token="root")
B = hvac.Client(url="http://127.0.0.1:8210", token="root")

assert A.is_authenticated(), "lookup-self"
health = A.sys.read_health_status(method="GET")
assert health["initialized"] and not health["sealed"], health
assert "secret/" in A.sys.list_mounted_secrets_engines()["data"]

A.sys.enable_secrets_engine("kv", path="team", options={"version": "1"})
kv = A.secrets.kv.v1
kv.create_or_update_secret(path="app/db", secret={"user": "app"}, mount_point="team")
assert kv.read_secret(path="app/db", mount_point="team")["data"] == {"user": "app"}
assert kv.list_secrets(path="app", mount_point="team")["data"]["keys"] == ["db"]
try:
    kv.read_secret(path="missing", mount_point="team")
    raise SystemExit("a missing secret must raise InvalidPath")
except hvac.exceptions.InvalidPath:
    pass
kv.delete_secret(path="app/db", mount_point="team")

A.adapter.post("/v1/sys/replication/dr/primary/enable")
token = A.adapter.post("/v1/sys/replication/dr/primary/secondary-token", json={"id": "B"})["wrap_info"]["token"]
B.adapter.post("/v1/sys/replication/dr/secondary/enable", json={"token": token})
kv.create_or_update_secret(path="after", secret={"v": 1}, mount_point="secret")
for _ in range(100):
    status = B.adapter.get("/v1/sys/replication/dr/status")["data"]
    if status["state"] == "stream-wals":
        break
    time.sleep(0.1)
assert status["state"] == "stream-wals", status
# A DR secondary answers health with 472, so hvac hands back the raw response, as with Vault.
b_health = B.sys.read_health_status(method="GET")
assert b_health.status_code == 472 and b_health.json()["replication_dr_mode"] == "secondary"
try:
    B.secrets.kv.v1.read_secret(path="after", mount_point="secret")
    raise SystemExit("a DR secondary must refuse client reads")
except hvac.exceptions.InvalidRequest:
    pass
print("hvac smoke test passed")
