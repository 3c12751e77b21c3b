//! Writes the JOSE and JSON seeds of the fuzz corpus (`fuzz/corpus/<target>/seed-*`), made with
//! keygate-core and aws-lc-rs and the fixed keys of `fuzz/keys/`, plus the RFC 7515 / 7516
//! examples. The PEM seeds of `public_key` are made with openssl (docs/fuzzing.md).
//!
//! Run from `fuzz/`: `cargo run --example make_seeds`. The JWEs and PSS signatures are random,
//! so each run writes different (equally valid) bytes.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use keygate_core::jose::{b64_std_encode, b64url_encode, encrypt_compact_jwe, sha256_b64url};
use keygate_core::jose::{SigAlg, SystemKey};
use keygate_fuzz::{client, frame, setup, system, FACTS, NOW};
use serde_json::{json, Value};

const RFC7515_A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const RFC7516_A1_JWE: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    setup(std::fs::create_dir_all(&dir), "corpus directory");
    setup(
        std::fs::write(dir.join(format!("seed-{name}")), bytes),
        "seed file",
    );
}

fn sign(alg: SigAlg, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string()),
        b64url_encode(claims.to_string())
    );
    let pair = &client().pair;
    let mut sig = vec![0u8; pair.public_modulus_len()];
    setup(
        pair.sign(
            alg.signing_encoding(),
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        ),
        "signing",
    );
    format!("{input}.{}", b64url_encode(sig))
}

fn claims() -> Value {
    json!({
        "iat": NOW,
        "jti": "5f0c2b1e-8a43-4d7e-9c11-3e2f6a7b8c9d",
        "htm": FACTS.method,
        "htu": FACTS.path_and_query,
        "body_sha256": sha256_b64url(FACTS.body),
    })
}

fn signed_request() {
    let kid = client().key.kid().to_owned();
    let header = |alg: &str| json!({ "alg": alg, "typ": "JWT", "kid": kid });
    let mut with_all = claims();
    with_all["exp"] = json!(NOW + 60);
    with_all["nbf"] = json!(NOW - 1);
    with_all["ath"] = json!(sha256_b64url(FACTS.bearer_token.as_bytes()));
    let mut absolute = claims();
    absolute["htu"] = json!(format!("https://api.example.com{}#x", FACTS.path_and_query));
    let mut fractional = claims();
    fractional["iat"] = json!(NOW as f64 + 0.5);

    // Mode 0: the header as received. Valid ones first, then near misses.
    let as_received: [(&str, String); 8] = [
        ("ps256", sign(SigAlg::PS256, &header("PS256"), &claims())),
        ("rs256", sign(SigAlg::RS256, &header("RS256"), &claims())),
        (
            "rs256-nokid",
            sign(SigAlg::RS256, &json!({"alg": "RS256"}), &claims()),
        ),
        (
            "ps256-all-claims",
            sign(SigAlg::PS256, &header("PS256"), &with_all),
        ),
        (
            "rs256-absolute-htu",
            sign(SigAlg::RS256, &header("RS256"), &absolute),
        ),
        (
            "ps256-fractional-iat",
            sign(SigAlg::PS256, &header("PS256"), &fractional),
        ),
        ("rfc7515-a2", RFC7515_A2_JWS.to_owned()),
        (
            "alg-none",
            format!(
                "{}.{}.",
                b64url_encode(r#"{"alg":"none"}"#),
                b64url_encode(claims().to_string())
            ),
        ),
    ];
    for (name, jws) in as_received {
        write("signed_request", name, &frame(0, &[jws.as_bytes()]));
    }
    // Mode 2: every RSA algorithm allowed.
    let rs512 = sign(SigAlg::RS512, &header("RS512"), &claims());
    write(
        "signed_request",
        "rs512-all-algs",
        &frame(2, &[rs512.as_bytes()]),
    );

    // Mode 1 (and 3): header and payload, signed by the target.
    let mut stale = claims();
    stale["iat"] = json!(NOW - 3600);
    let mut short_jti = claims();
    short_jti["jti"] = json!("short");
    let mut no_body_hash = claims();
    no_body_hash
        .as_object_mut()
        .map(|o| o.remove("body_sha256"));
    let pairs: [(&str, u8, String, String); 8] = [
        (
            "signed-ps256",
            1,
            header("PS256").to_string(),
            claims().to_string(),
        ),
        (
            "signed-all-claims",
            1,
            header("RS256").to_string(),
            with_all.to_string(),
        ),
        (
            "signed-stale",
            1,
            header("PS256").to_string(),
            stale.to_string(),
        ),
        (
            "signed-short-jti",
            1,
            header("PS256").to_string(),
            short_jti.to_string(),
        ),
        (
            "signed-no-body-hash",
            1,
            header("RS256").to_string(),
            no_body_hash.to_string(),
        ),
        (
            "signed-crit",
            1,
            json!({"alg": "PS256", "crit": ["exp"]}).to_string(),
            claims().to_string(),
        ),
        (
            "signed-ps512-all-algs",
            3,
            header("PS512").to_string(),
            claims().to_string(),
        ),
        (
            "signed-duplicate-alg",
            1,
            r#"{"alg":"RS256","alg":"PS256"}"#.to_owned(),
            claims().to_string(),
        ),
    ];
    for (name, mode, header, payload) in pairs {
        write(
            "signed_request",
            name,
            &frame(mode, &[header.as_bytes(), payload.as_bytes()]),
        );
    }
}

fn jwe_to(key: usize, kid: bool, cty_json: bool, plaintext: &str) -> String {
    let system = system();
    let kid = kid.then(|| system.keys[key].kid());
    setup(
        encrypt_compact_jwe(&system.public[key], kid, cty_json, plaintext.as_bytes()),
        "JWE",
    )
}

fn oaep_to(key: usize, plaintext: &str) -> String {
    let public = &system().public[key];
    let mut out = vec![0u8; public.ciphertext_size()];
    let ct = setup(
        public.encrypt(
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256,
            plaintext.as_bytes(),
            &mut out,
            None,
        ),
        "OAEP",
    );
    b64_std_encode(ct)
}

fn decrypt_fields() {
    let fields: [(&str, String); 7] = [
        ("jwe-kid", jwe_to(0, true, false, "1234")),
        ("jwe-nokid", jwe_to(0, false, false, "4242424242424242")),
        ("jwe-old-key", jwe_to(1, true, false, "9876")),
        (
            "jwe-cty-json",
            jwe_to(0, true, true, r#"{"pin":"1234","n":[1,2.5]}"#),
        ),
        ("oaep", oaep_to(0, "1234")),
        ("oaep-old-key", oaep_to(1, "0042")),
        ("rfc7516-a1", RFC7516_A1_JWE.to_owned()),
    ];
    for (name, field) in &fields {
        write("decrypt_fields", name, &frame(0, &[field.as_bytes()]));
    }
    let doc = json!({
        "pin": jwe_to(0, true, false, "1234"),
        "card": { "id": "42", "cvv": oaep_to(1, "042") },
        "big": 12345678901u64,
    })
    .to_string();
    write(
        "decrypt_fields",
        "document",
        &frame(1, &[doc.as_bytes(), b"/pin", b"/card/cvv", b"/missing"]),
    );
    // The body as a client writes it: spacing, numbers beyond f64, which the text path keeps.
    let spacing = format!(
        "{{ \"amount\" : 12345678901234567890123, \"rate\": 0.1000000000000000055511151231257827,\n  \"pin\" : \"{}\", \"card\": {{\"cvv\":\"{}\", \"id\" : \"42\"}} }}",
        jwe_to(0, true, false, "1234"),
        oaep_to(0, "042")
    );
    write(
        "decrypt_fields",
        "document-spacing",
        &frame(1, &[spacing.as_bytes(), b"/pin", b"/card/cvv"]),
    );
    let nested = json!({ "a": { "b": jwe_to(0, false, true, r#"{"b":"x"}"#) } }).to_string();
    write(
        "decrypt_fields",
        "document-nested",
        &frame(1, &[nested.as_bytes(), b"/a/b", b"/a/b/b"]),
    );
    // Round trips: mode 2 + 3 * choice, choice bit 0 = key, bits 1.. = form.
    for choice in 0u8..8 {
        let plaintext: &[u8] = if (choice >> 1) % 4 == 2 {
            br#"{"pin":"1234","limits":[100,2.5e3]}"#
        } else {
            b"1234"
        };
        write(
            "decrypt_fields",
            &format!("round-trip-{choice}"),
            &frame(2 + 3 * choice, &[plaintext]),
        );
    }
}

/// A splice seed: its name, the upstream's answer, the pointers.
type Seed<'a> = (&'a str, &'a [u8], &'a [&'a [u8]]);

fn splice() {
    let card = br#"{
  "data": {
    "card": {"id": "42", "holder": "GRACE HOPPER", "number": "4242424242424242",
             "pin": "0042", "cvv": 42, "limits": [100, 2.5e3, 12345678901234567890123],
             "memo": "caf\u00e9 \"quoted\" \/slash"}
  },
  "meta": {"request_id": "r-1"}
}"#;
    let seeds: [Seed<'_>; 9] = [
        ("card", card, &[b"/data/card/number", b"/data/card/pin"]),
        (
            "card-non-strings",
            card,
            &[b"/data/card/cvv", b"/data/card/limits"],
        ),
        (
            "card-escaped",
            card,
            &[b"/data/card/memo", b"/data/card/limits/2"],
        ),
        (
            "card-missing",
            card,
            &[b"/data/card/none", b"/data/cards/0"],
        ),
        (
            "duplicate-keys",
            br#"{"a":{"pin":"1","pin":"2"},"b":1}"#,
            &[b"/a/pin"],
        ),
        ("nested-pointers", br#"{"a":{"b":"c"}}"#, &[b"/a", b"/a/b"]),
        ("whole-document", br#""secret""#, &[b""]),
        (
            "array-root",
            br#"[{"x~y/z":"v"}, "w"]"#,
            &[b"/0/x~0y~1z", b"/1"],
        ),
        ("not-json", b"<html>4242424242424242</html>", &[b"/number"]),
    ];
    for (name, body, pointers) in seeds {
        for (mode, scheme) in ["jwe", "oaep", "pkcs1"].iter().enumerate() {
            let mut parts = vec![body];
            parts.extend_from_slice(pointers);
            let mode = u8::try_from(mode).unwrap_or_default();
            write("splice", &format!("{name}-{scheme}"), &frame(mode, &parts));
        }
    }
}

fn main() {
    // Make sure the keys load before writing anything.
    let _: &[SystemKey; 2] = &system().keys;
    signed_request();
    decrypt_fields();
    splice();
}
