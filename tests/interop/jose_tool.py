#!/usr/bin/env python3
"""Third-party JOSE for keygate's interop tests: PyJWT signs, jwcrypto encrypts and decrypts,
and hand-made tokens (alg none, HS256 keyed with the public PEM) that PyJWT refuses to make.

    jose_tool.py sign ALG PRIVATE_PEM_FILE CLAIMS_JSON [HEADERS_JSON]
    jose_tool.py forge-none CLAIMS_JSON [HEADERS_JSON]
    jose_tool.py forge-hs256 PUBLIC_PEM_FILE CLAIMS_JSON [HEADERS_JSON]
    jose_tool.py jwe-decrypt PRIVATE_PEM_FILE TOKEN        -> {"plaintext": ..., "header": {...}}
    jose_tool.py jwe-encrypt JWK_JSON PLAINTEXT            -> compact JWE (RSA-OAEP-256, A256GCM)
"""
import base64
import hashlib
import hmac
import json
import sys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(argv):
    cmd = argv[1]
    if cmd == "sign":
        import jwt  # PyJWT

        alg, key_file, claims = argv[2], argv[3], json.loads(argv[4])
        headers = json.loads(argv[5]) if len(argv) > 5 else None
        with open(key_file) as f:
            key = f.read()
        print(jwt.encode(claims, key, algorithm=alg, headers=headers))
    elif cmd in ("forge-none", "forge-hs256"):
        if cmd == "forge-none":
            claims = json.loads(argv[2])
            extra = json.loads(argv[3]) if len(argv) > 3 else {}
            header = {"alg": "none", "typ": "JWT", **extra}
        else:
            with open(argv[2], "rb") as f:
                secret = f.read()
            claims = json.loads(argv[3])
            extra = json.loads(argv[4]) if len(argv) > 4 else {}
            header = {"alg": "HS256", "typ": "JWT", **extra}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        if cmd == "forge-none":
            print(signing_input + ".")
        else:
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            print(signing_input + "." + b64url(mac))
    elif cmd == "jwe-decrypt":
        from jwcrypto import jwe, jwk

        with open(argv[2], "rb") as f:
            key = jwk.JWK.from_pem(f.read())
        token = jwe.JWE()
        token.deserialize(argv[3], key=key)
        print(json.dumps({"plaintext": token.payload.decode(), "header": json.loads(token.objects["protected"])}))
    elif cmd == "jwe-encrypt":
        from jwcrypto import jwe, jwk

        key = jwk.JWK(**json.loads(argv[2]))
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.get("kid")}
        token = jwe.JWE(argv[3].encode(), json.dumps(header))
        token.add_recipient(key)
        print(token.serialize(compact=True))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
