//! Inbound confidential fields: `decrypt_fields_in_json` (what the gateway calls: the body's own
//! bytes, only the named values replaced) and `decrypt_fields` (the same on a parsed `Value`),
//! for compact JWE (`RSA-OAEP-256` + `A256GCM`) and standard base64 of an RSA-OAEP-256
//! ciphertext, with keygate's current and previous system keys.
//!
//! Modes (first byte % 3):
//! * 0 — **field**: part 0 is the text of one field, decrypted in `{"f": ...}`;
//! * 1 — **document**: part 0 is a JSON body, parts 1..=4 are pointers;
//! * 2 — **round trip**: part 0 is a plaintext, encrypted here to one of the system keys as a
//!   JWE (with or without `kid`, `cty: json` when the plaintext is JSON) or as base64 OAEP, as
//!   the mode's higher bits choose; then one character of the ciphertext is changed.
//!
//! Properties:
//! * `NotJson` exactly when the body is not JSON; a body returned as it was (borrowed) has no
//!   named field; the text path's answer is JSON;
//! * the text path and the `Value` path agree: same success, same resulting value;
//! * only the named fields change: put back, the document is as it was; a refused field is left
//!   as it was;
//! * what a client encrypts to either system key decrypts to exactly its plaintext, and in the
//!   text path every byte around it is kept: `{"f": <ciphertext>, ...}` becomes exactly
//!   `{"f": <plaintext as a JSON string, or the JSON text itself for cty json>, ...}`;
//! * a ciphertext changed in one character never decrypts.
#![no_main]

use std::borrow::Cow;

use keygate_core::jose::{
    b64_std_encode, decrypt_fields, decrypt_fields_in_json, encrypt_compact_jwe,
    RequestFieldsError, SystemKey,
};
use keygate_fuzz::{part, system, text, unframe};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
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
        1 => document(part(&parts, 0), &parts),
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

fn document(json: &[u8], parts: &[&[u8]]) {
    let keys: Vec<&SystemKey> = system().keys.iter().collect();
    let pointers: Vec<String> = parts
        .iter()
        .skip(1)
        .take(4)
        .map(|p| text(p).into_owned())
        .collect();
    let is_json = serde_json::from_slice::<IgnoredAny>(json).is_ok();
    let before: Option<Value> = serde_json::from_slice(json).ok();
    let named = |doc: &Value| pointers.iter().any(|p| doc.pointer(p).is_some());

    let result = decrypt_fields_in_json(json, &pointers, &keys);
    match &result {
        Err(RequestFieldsError::NotJson) => assert!(!is_json, "JSON refused as NotJson"),
        Err(RequestFieldsError::Ambiguous) => assert!(is_json, "not JSON, yet Ambiguous"),
        Err(RequestFieldsError::Invalid(_)) => assert!(is_json),
        Ok(out) => {
            assert!(is_json, "a body that is not JSON was accepted");
            assert!(
                serde_json::from_slice::<IgnoredAny>(out).is_ok(),
                "the decrypted body is not JSON"
            );
            if matches!(out, Cow::Borrowed(_)) {
                assert_eq!(&out[..], json);
                if let Some(before) = &before {
                    assert!(!named(before), "a named field was left encrypted");
                }
            }
        }
    }

    // The `Value` path on the same body and pointers.
    let Some(before) = before else { return };
    if related(&pointers) {
        return;
    }
    let mut doc = before.clone();
    let value_result = decrypt_fields(&mut doc, &pointers, &keys);
    match &result {
        Ok(out) => {
            let out: Option<Value> = serde_json::from_slice(out).ok();
            match (&value_result, out) {
                (Ok(()), Some(out)) => assert_eq!(out, doc, "the text and Value paths disagree"),
                // A `cty: json` plaintext the text path passes on as written (a number beyond
                // f64) that a `Value` cannot hold.
                (Err(_), None) => return,
                (value_result, out) => {
                    panic!("the text path gave {out:?}, the Value path {value_result:?}")
                }
            }
        }
        Err(RequestFieldsError::Invalid(_)) => {
            assert!(
                value_result.is_err(),
                "the Value path decrypted what the text path refused"
            )
        }
        Err(_) => return,
    }
    if value_result.is_err() {
        return;
    }
    // Put the named fields back as they were: the documents must be equal.
    let mut restored = doc.clone();
    for pointer in &pointers {
        if let (Some(slot), Some(old)) = (restored.pointer_mut(pointer), before.pointer(pointer)) {
            *slot = old.clone();
        }
    }
    assert_eq!(restored, before, "a field that was not named changed");
}

fn round_trip(choice: u8, plaintext: &[u8], seed: usize) {
    let system = system();
    let keys: Vec<&SystemKey> = system.keys.iter().collect();
    let which = usize::from(choice & 1);
    let public = &system.public[which];
    let as_json: Option<Value> = serde_json::from_slice(plaintext).ok();
    let cty_json = (choice >> 1) % 4 == 2;
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

    // The text path keeps every other byte, and writes the plaintext as a JSON string (or, for
    // `cty: json`, the plaintext's own text).
    let body = format!("{{ \"f\" : \"{ciphertext}\",\n \"other\": [1, \"two\"] }}");
    let replacement = match (&expected, cty_json) {
        (Value::String(s), false) => serde_json::to_string(s).unwrap_or_default(),
        _ => String::from_utf8_lossy(plaintext).into_owned(),
    };
    let wanted = format!("{{ \"f\" : {replacement},\n \"other\": [1, \"two\"] }}");
    let out = decrypt_fields_in_json(body.as_bytes(), &["/f".to_owned()], &keys);
    assert_eq!(
        out.as_deref().map(String::from_utf8_lossy).ok(),
        Some(Cow::Borrowed(wanted.as_str())),
        "the text path changed more than the field"
    );

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
