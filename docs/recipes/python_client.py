#!/usr/bin/env python3
"""keygate from Python with PyJWT + cryptography (+ requests-free: urllib only).

    KEYGATE_URL=http://127.0.0.1:8080 KEYGATE_TOKEN=... KEYGATE_KID=... \
        python3 python_client.py private.pem
"""
import base64, hashlib, json, os, ssl, sys, time, urllib.request, uuid

import jwt  # PyJWT
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

URL, TOKEN, KID = os.environ["KEYGATE_URL"], os.environ["KEYGATE_TOKEN"], os.environ.get("KEYGATE_KID")
# https: the platform's roots, plus a private CA (KEYGATE_CACERT) when keygate's certificate is
# issued by one. Hostname verification stays on.
TLS = ssl.create_default_context()
if os.environ.get("KEYGATE_CACERT"):
    TLS.load_verify_locations(cafile=os.environ["KEYGATE_CACERT"])
PRIVATE_PEM = open(sys.argv[1], "rb").read()
KEY = serialization.load_pem_private_key(PRIVATE_PEM, password=None)
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def call(method: str, path: str, body: bytes = b"") -> dict:
    claims = {
        "iat": int(time.time()), "jti": str(uuid.uuid4()), "htm": method, "htu": path,
        "body_sha256": b64u(hashlib.sha256(body).digest()),
    }
    signature = jwt.encode(claims, PRIVATE_PEM, algorithm="PS256", headers={"kid": KID} if KID else None)
    request = urllib.request.Request(URL + path, data=body or None, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "X-Request-Signature": signature,
        "Content-Type": "application/json",
    })
    try:
        with urllib.request.urlopen(request, context=TLS) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


def decrypt_jwe(token: str) -> str:
    """Compact JWE, alg RSA-OAEP-256, enc A256GCM (what keygate's `jwe` scheme makes)."""
    protected, encrypted_key, iv, ciphertext, tag = token.split(".")
    cek = KEY.decrypt(unb64u(encrypted_key), OAEP)
    return AESGCM(cek).decrypt(unb64u(iv), unb64u(ciphertext) + unb64u(tag), protected.encode()).decode()


def encrypt_for_keygate(plaintext: str) -> str:
    """`rsa-oaep-256`: standard base64 of RSA-OAEP-SHA256 to GET /system/public_key."""
    with urllib.request.urlopen(URL + "/system/public_key", context=TLS) as response:
        pem = json.load(response)["data"]["public_key"].encode()
    system_key = serialization.load_pem_public_key(pem)
    return base64.b64encode(system_key.encrypt(plaintext.encode(), OAEP)).decode()


card = call("GET", "/demo/cards/42")["data"]["card"]
print("card number:", decrypt_jwe(card["number"]), "pin:", decrypt_jwe(card["pin"]))
body = json.dumps({"pin": encrypt_for_keygate("2580")}).encode()
print(call("POST", "/demo/cards/42/pin", body))
print("new pin:", decrypt_jwe(call("GET", "/demo/cards/42")["data"]["card"]["pin"]))
