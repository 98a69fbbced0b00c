#!/usr/bin/env python3
"""Writes the hand-made seeds of each fuzz target into fuzz/corpus/<target>/ (named by what
they are). Needs the `cryptography` package; only for regenerating, `make fuzz` reads the files.

Tokens are signed with the fuzz targets' fixed P-256 key (scalar 0x11 * 32, kid "fuzz-es256",
fuzz/src/lib.rs) in the dev IdP's format (crates/devidp/src/tokens.rs), so a seed passes the
signature check and the fuzzer starts inside the claim checks. Files the fuzzer added by
`-merge=1` (named by their SHA-1) are left alone."""

import base64
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1_800_000_000
KID = "fuzz-es256"
ISSUER = "https://127.0.0.1:8443"
KEY = ec.derive_private_key(int.from_bytes(b"\x11" * 32, "big"), ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def sign(header: dict, claims: bytes) -> str:
    signing_input = f"{b64(compact(header))}.{b64(claims)}"
    r, s = decode_dss_signature(KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def write(target: str, name: str, data: bytes) -> None:
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# -- startup: what psql, libpq 18 and a cancel send first ------------------------------------

def packet(code: int, body: bytes) -> bytes:
    return struct.pack(">ii", 8 + len(body), code) + body


def params(pairs) -> bytes:
    return b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs) + b"\0"


SSL = packet(80877103, b"")
GSSENC = packet(80877104, b"")
PSQL = params([("user", "app_rw"), ("database", "app"), ("application_name", "psql"),
               ("client_encoding", "UTF8")])
write("startup", "ssl_then_startup_v3_0", SSL + packet(196608, PSQL))
write("startup", "gssenc_ssl_startup", GSSENC + SSL + packet(196608, PSQL))
write("startup", "startup_v3_2_with_pq_option",
      packet(196610, params([("user", "alice@example.com"), ("database", "app"),
                             ("_pq_.test_protocol_negotiation", "1")])))
write("startup", "startup_then_pipelined_query", packet(196608, PSQL) + b"Q\0\0\0\x0dselect 1\0")
write("startup", "cancel_v3_0", packet(80877102, struct.pack(">i", 4242) + b"\x5e\xc2\xe7\x00"))
write("startup", "cancel_v3_2_32_byte_key", packet(80877102, struct.pack(">i", 4242) + bytes(range(32))))
write("startup", "direct_tls_client_hello", b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03")

# -- backend_auth: first byte = flags (1 = OAUTHBEARER, 2 = TLS), then the server's stream -----

def msg(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack(">i", 4 + len(body)) + body


def auth(code: int, extra: bytes = b"") -> bytes:
    return msg(b"R", struct.pack(">i", code) + extra)


AFTER_OK = (msg(b"S", b"server_version\x0018.1\0") + msg(b"K", struct.pack(">i", 77) + b"\x01\x02\x03\x04")
            + msg(b"Z", b"I"))
FATAL = msg(b"E", b"SFATAL\0VFATAL\0C28000\0MPAM authentication failed for user \"app_rw\"\0Rauth_failed\0\0")
write("backend_auth", "password_tls_ok", b"\x02" + auth(3) + auth(0) + AFTER_OK)
write("backend_auth", "password_tls_refused", b"\x02" + auth(3) + FATAL)
write("backend_auth", "password_without_tls", b"\x00" + auth(3))
write("backend_auth", "oauth_tls_ok", b"\x03" + auth(10, b"OAUTHBEARER\0\0") + auth(0)
      + msg(b"K", struct.pack(">i", 77) + bytes(32)) + msg(b"Z", b"I"))
write("backend_auth", "oauth_tls_error_json", b"\x03" + auth(10, b"OAUTHBEARER\0\0")
      + auth(11, compact({"status": "invalid_token", "scope": "openid",
                          "openid-configuration": ISSUER + "/.well-known/openid-configuration"}))
      + FATAL)
write("backend_auth", "oauth_final_then_ok", b"\x03" + auth(10, b"OAUTHBEARER\0\0") + auth(12) + auth(0))
write("backend_auth", "scram_offered", b"\x02" + auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
write("backend_auth", "md5_asked", b"\x02" + auth(5, b"\x01\x02\x03\x04"))
write("backend_auth", "notice_negotiate_then_password", b"\x02"
      + msg(b"N", b"SNOTICE\0VNOTICE\0C00000\0Mhello\0\0")
      + msg(b"v", struct.pack(">ii", 196608, 1) + b"_pq_.x\0") + auth(3) + auth(0))

# -- token: stdin of the PAM verifier ----------------------------------------------------------

HEADER = {"typ": "at+jwt", "alg": "ES256", "kid": KID}


def access_claims(**changes) -> dict:
    claims = {"iss": ISSUER, "aud": "postgres", "sub": "5b1d3c2a-8f4e-4a8e-9a53-3f0c4f1d2b6e",
              "preferred_username": "alice", "email": "alice@example.com",
              "groups": ["db-app-rw", "staff"], "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 540,
              "jti": "0f8e2c1d-7b6a-4c5d-9e8f-1a2b3c4d5e6f", "scope": "openid postgres",
              "client_id": "tapgate"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


write("token", "dev_idp_access_token", sign(HEADER, compact(access_claims())).encode())
write("token", "dev_idp_access_token_newline", (sign(HEADER, compact(access_claims())) + "\n").encode())
write("token", "expired", sign(HEADER, compact(access_claims(exp=NOW - 3600))).encode())
write("token", "wrong_audience", sign(HEADER, compact(access_claims(aud=["tapgate", "other"]))).encode())
write("token", "alg_none", f"{b64(compact({'alg': 'none', 'kid': KID}))}.{b64(compact(access_claims()))}.".encode())
write("token", "hs256", f"{b64(compact({'alg': 'HS256', 'kid': KID}))}.{b64(compact(access_claims()))}.{b64(b'x' * 32)}".encode())
write("token", "rs256_unknown_kid", f"{b64(compact({'alg': 'RS256', 'kid': 'rsa-1'}))}.{b64(compact(access_claims()))}.{b64(b'x' * 256)}".encode())
write("token", "jwe_shape", b"eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn")

# -- token_claims: the claims alone (the target signs them) ------------------------------------

write("token_claims", "dev_idp_access", compact(access_claims()))
write("token_claims", "dev_idp_id_token", compact({"iss": ISSUER, "aud": "tapgate", "azp": "tapgate",
                                                   "nonce": "n-0S6_WzA2Mj", "sub": "5b1d", "email": "a@b",
                                                   "groups": "one-group", "iat": NOW, "exp": NOW + 60}))
write("token_claims", "not_yet_valid", compact(access_claims(nbf=NOW + 3600)))
write("token_claims", "expired", compact(access_claims(exp=NOW - 3600)))
# The crash fixed with crates/verify's a_not_before_beyond_year_9999_* tests, as JSON text (the
# fuzzer's own input, crash_nbf_after_year_9999, is kept as it wrote it).
write("token_claims", "nbf_after_year_9999", compact(access_claims(nbf=300_000_000_000)))
write("token_claims", "times_as_strings", compact(access_claims(exp=str(NOW + 60), nbf="0")))
write("token_claims", "no_email", compact(access_claims(email=None)))

# -- jwks: JWK Sets and the verifier's cache file ----------------------------------------------

numbers = KEY.public_key().public_numbers()
ec_jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
          "y": b64(numbers.y.to_bytes(32, "big")), "kid": KID, "use": "sig", "alg": "ES256"}
rsa_numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
rsa_jwk = {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
           "n": b64(rsa_numbers.n.to_bytes(256, "big")), "e": "AQAB"}
write("jwks", "dev_idp_jwks", compact({"keys": [ec_jwk]}))
write("jwks", "rotated_ec_and_rsa", compact({"keys": [dict(ec_jwk, kid="old"), ec_jwk, rsa_jwk]}))
write("jwks", "unusable_keys", compact({"keys": [
    {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
    dict(ec_jwk, kid="enc", use="enc"),
    dict(ec_jwk, kid="p384", crv="P-384"),
    {k: v for k, v in ec_jwk.items() if k != "kid"},
    {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
]}))
write("jwks", "cache_file", compact({"format": 1, "issuer": ISSUER, "fetched_at": NOW - 10,
                                     "attempted_at": NOW - 10, "last_error": None,
                                     "jwks": {"keys": [ec_jwk, rsa_jwk]}}))
