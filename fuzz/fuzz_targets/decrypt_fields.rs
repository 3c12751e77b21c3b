//! Inbound confidential fields (`decrypt_fields`): compact JWE (`RSA-OAEP-256` + `A256GCM`) and
//! standard base64 of an RSA-OAEP-256 ciphertext, with keygate's current and previous system
//! keys.
//!
//! Modes (first byte % 3):
//! * 0 — **field**: part 0 is the text of one field, decrypted in `{"f": ...}`;
//! * 1 — **document**: part 0 is a JSON body, parts 1.. are pointers;
//! * 2 — **round trip**: part 0 is a plaintext, encrypted here to one of the system keys as a
//!   JWE (with or without `kid`, `cty: json` when the plaintext is JSON) or as base64 OAEP, as
//!   the mode's higher bits choose; then one character of the ciphertext is changed.
//!
//! Properties:
//! * a decrypted field only ever replaces the named field: the rest of the document is as it
//!   was, and a pointer naming nothing changes nothing;
//! * what a client encrypts to either system key decrypts to exactly its plaintext (the string,
//!   or the JSON value for `cty: json`);
//! * a ciphertext changed in one character never decrypts.
#![no_main]

use keygate_core::jose::{b64_std_encode, decrypt_fields, encrypt_compact_jwe, SystemKey};
use keygate_fuzz::{part, system, text, unframe};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let (mode, parts) = unframe(data);
    let system = system();
    let keys: Vec<&SystemKey> = system.keys.iter().collect();
    match mode % 3 {
        0 => {
            let mut doc = json!({ "f": text(part(&parts, 0)) });
            let before = doc.clone();
            if decrypt_fields(&mut doc, &["/f".to_owned()], &keys).is_ok() {
                // Only `f` may change, and it is there.
                assert!(doc.get("f").is_some());
                assert_eq!(doc.as_object().map(|o| o.len()), Some(1));
            } else {
                assert_eq!(doc, before, "a refused field must not be replaced");
            }
        }
        1 => {
            let Ok(mut doc) = serde_json::from_slice::<Value>(part(&parts, 0)) else {
                return;
            };
            let pointers: Vec<String> = parts
                .iter()
                .skip(1)
                .take(4)
                .map(|p| text(p).into_owned())
                .collect();
            let before = doc.clone();
            let result = decrypt_fields(&mut doc, &pointers, &keys);
            let named: Vec<&String> = pointers
                .iter()
                .filter(|p| before.pointer(p).is_some())
                .collect();
            if named.is_empty() {
                assert!(result.is_ok());
                assert_eq!(doc, before, "pointers naming nothing changed the document");
                return;
            }
            if result.is_ok() && !related(&pointers) {
                // Put the named fields back as they were: the documents must be equal.
                let mut restored = doc.clone();
                for pointer in &named {
                    if let (Some(slot), Some(old)) =
                        (restored.pointer_mut(pointer), before.pointer(pointer))
                    {
                        *slot = old.clone();
                    }
                }
                assert_eq!(restored, before, "a field that was not named changed");
            }
        }
        _ => round_trip(mode / 3, part(&parts, 0), data.len()),
    }
});

/// Whether one pointer names a field inside (or equal to) another's: then a later pointer may
/// see an earlier one's plaintext, and the simple restore check above does not apply.
fn related(pointers: &[String]) -> bool {
    pointers.iter().enumerate().any(|(i, a)| {
        pointers
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && (a == b || b.starts_with(&format!("{a}/")) || a.is_empty()))
    })
}

fn round_trip(choice: u8, plaintext: &[u8], seed: usize) {
    let system = system();
    let keys: Vec<&SystemKey> = system.keys.iter().collect();
    let which = usize::from(choice & 1);
    let public = &system.public[which];
    let as_json: Option<Value> = serde_json::from_slice(plaintext).ok();
    let (ciphertext, expected) = match (choice >> 1) % 4 {
        // JWE with the key's kid, without a kid, and with `cty: json`.
        form @ (0 | 1) => {
            let Ok(text) = std::str::from_utf8(plaintext) else {
                return;
            };
            let kid = (form == 0).then(|| system.keys[which].kid());
            let Ok(jwe) = encrypt_compact_jwe(public, kid, false, plaintext) else {
                return;
            };
            (jwe, Value::String(text.to_owned()))
        }
        2 => {
            let Some(value) = as_json else { return };
            let kid = Some(system.keys[which].kid());
            let Ok(jwe) = encrypt_compact_jwe(public, kid, true, plaintext) else {
                return;
            };
            (jwe, value)
        }
        _ => {
            let Ok(text) = std::str::from_utf8(plaintext) else {
                return;
            };
            let oaep = &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
            if plaintext.len() > public.max_plaintext_size(oaep) {
                return;
            }
            let mut out = vec![0u8; public.ciphertext_size()];
            let Ok(ct) = public.encrypt(oaep, plaintext, &mut out, None) else {
                return;
            };
            (b64_std_encode(ct), Value::String(text.to_owned()))
        }
    };

    let mut doc = json!({ "f": ciphertext, "other": [1, "two"] });
    let result = decrypt_fields(&mut doc, &["/f".to_owned()], &keys);
    assert!(
        result.is_ok(),
        "a field encrypted to system key {which} was refused"
    );
    assert_eq!(doc, json!({ "f": expected, "other": [1, "two"] }));

    let mut tampered = ciphertext.into_bytes();
    let at = seed % tampered.len();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8_lossy(&tampered).into_owned();
    let mut doc = json!({ "f": tampered });
    assert!(
        decrypt_fields(&mut doc, &["/f".to_owned()], &keys).is_err(),
        "a ciphertext changed at byte {at} still decrypted"
    );
}
