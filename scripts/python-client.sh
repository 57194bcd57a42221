#!/usr/bin/env bash
# Generates a Python client from proto/ with grpcio-tools, as a customer would (no flags beyond
# the include path), and checks that it imports and that a nested filter, attributes and a page
# are built with ordinary keyword arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="target/python-client-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "grpcio-tools==1.76.0" "grpcio==1.76.0"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$out" --pyi_out="$out" \
  --grpc_python_out="$out" proto/identity/v1/*.proto
PYTHONPATH="$out" "$venv/bin/python" - <<'PY'
from google.protobuf import json_format, struct_pb2

from identity.v1 import common_pb2 as common
from identity.v1 import events_pb2, groups_pb2_grpc, tenants_pb2_grpc, users_pb2, users_pb2_grpc

def compare(field, op, text):
    return common.Filter(comparison=common.Comparison(
        field=field, op=op, value=common.FilterValue(string_value=text)))

# (user_name sw "ada" or email eq "a@x") and not (active eq false)
nested = common.Filter(all_of=common.FilterList(filters=[
    common.Filter(any_of=common.FilterList(filters=[
        compare("user_name", common.OPERATOR_SW, "ada"),
        compare("email", common.OPERATOR_EQ, "a@x.example"),
    ])),
    common.Filter(negation=common.Filter(comparison=common.Comparison(
        field="active", op=common.OPERATOR_EQ, value=common.FilterValue(bool_value=False)))),
]))
attributes = struct_pb2.Struct()
attributes.update({"title": "Countess", "urn:example:ext": {"level": 3}})
request = users_pb2.ListUsersRequest(filter=nested, page=common.PageRequest(page_size=50))
user = users_pb2.User(user_name="ada@example.com", attributes=attributes)
events = events_pb2.ListEventsRequest(page=common.PageRequest(page_size=10))
assert request.filter.all_of.filters[1].negation.comparison.field == "active"
assert json_format.MessageToDict(user)["attributes"]["urn:example:ext"]["level"] == 3
assert users_pb2_grpc.UsersStub and groups_pb2_grpc.GroupsStub and tenants_pb2_grpc.TenantsStub
print("python client: nested filter", json_format.MessageToJson(request, indent=None))
PY
