// keygate from Node.js with `jose` (npm install jose), Node 18+ (global fetch).
//   KEYGATE_URL=http://127.0.0.1:8080 KEYGATE_TOKEN=... KEYGATE_KID=... node node_client.mjs private.pem
import { readFileSync } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import { SignJWT, compactDecrypt, CompactEncrypt, importPKCS8, importJWK } from "jose";

const { KEYGATE_URL: url, KEYGATE_TOKEN: token, KEYGATE_KID: kid } = process.env;
const pem = readFileSync(process.argv[2], "utf8");
const signingKey = await importPKCS8(pem, "PS256");
const decryptingKey = await importPKCS8(pem, "RSA-OAEP-256");
const b64u = (buf) => Buffer.from(buf).toString("base64url");

async function call(method, path, body = "") {
  const signature = await new SignJWT({
    jti: randomUUID(), htm: method, htu: path,
    body_sha256: b64u(createHash("sha256").update(body).digest()),
  }).setProtectedHeader({ alg: "PS256", typ: "JWT", ...(kid ? { kid } : {}) }).setIssuedAt().sign(signingKey);
  const response = await fetch(url + path, {
    method, body: body || undefined,
    headers: { Authorization: `Bearer ${token}`, "X-Request-Signature": signature, "Content-Type": "application/json" },
  });
  return response.json();
}

const decrypt = async (jwe) => new TextDecoder().decode((await compactDecrypt(jwe, decryptingKey)).plaintext);

const card = (await call("GET", "/demo/cards/42")).data.card;
console.log("card number:", await decrypt(card.number), "cvv:", await decrypt(card.cvv));

// A confidential request field: a JWE to keygate's system key.
const system = (await (await fetch(url + "/system/public_key")).json()).data;
const systemKey = await importJWK(system.jwk, "RSA-OAEP-256");
const pin = await new CompactEncrypt(new TextEncoder().encode("1470"))
  .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: system.kid }).encrypt(systemKey);
console.log(await call("POST", "/demo/cards/42/pin", JSON.stringify({ pin })));
console.log("new pin:", await decrypt((await call("GET", "/demo/cards/42")).data.card.pin));
