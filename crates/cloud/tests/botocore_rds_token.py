# botocore's RDS auth token for each case on stdin (a JSON list of {access_key_id,
# secret_access_key, session_token, region, host, port, user, unix_seconds}), at that instant:
# the reference Tapgate's tokens are compared with, byte for byte (crates/cloud/tests and the
# RDS end-to-end test). Prints a JSON list of tokens.
import datetime, json, sys
from unittest import mock

import botocore.auth
import botocore.session

tokens = []
for case in json.load(sys.stdin):
    session = botocore.session.Session()
    client = session.create_client(
        "rds",
        region_name=case["region"],
        aws_access_key_id=case["access_key_id"],
        aws_secret_access_key=case["secret_access_key"],
        aws_session_token=case["session_token"],
    )
    # botocore's SigV4 signers take their time from this function (naive UTC).
    instant = datetime.datetime.fromtimestamp(case["unix_seconds"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=instant):
        token = client.generate_db_auth_token(
            DBHostname=case["host"], Port=case["port"], DBUsername=case["user"], Region=case["region"]
        )
    stamp = "X-Amz-Date=" + instant.strftime("%Y%m%dT%H%M%SZ")
    if stamp not in token:
        sys.exit("botocore did not sign at the frozen instant (no %s in its token): "
                 "botocore.auth.get_current_datetime is no longer what its signer reads" % stamp)
    tokens.append(token)
json.dump(tokens, sys.stdout)
