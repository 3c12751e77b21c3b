//! The response-field splicer (`encrypt_fields_in_json`): an upstream's JSON text, the named
//! fields replaced by their ciphertexts for the client's key.
//!
//! Input: the mode byte picks the scheme (`% 3`: jwe, rsa-oaep-256, rsa-pkcs1); part 0 is the
//! upstream's answer, parts 1..=4 are the route's pointers.
//!
//! Properties:
//! * `NotJson` exactly when the text is not one JSON document; `Unchanged` only when no pointer
//!   names anything;
//! * a rewritten answer is JSON, and equal, as a value, to the input with each named field
//!   replaced by a ciphertext that the client's private key decrypts to that field (a string's
//!   text, or the JSON of any other value);
//! * when it was spliced (not re-serialized because the text is ambiguous), every byte outside
//!   the named values is unchanged: the output is the input with each named value's text
//!   replaced by `"<ciphertext>"`, in place;
//! * errors only for a pointer that is not RFC 6901, or a value too long for a raw RSA scheme.
#![no_main]

use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
use keygate_core::jose::{
    b64_std_decode, decrypt_compact_jwe, encrypt_fields_in_json, FieldError, FieldsInJson,
    JweKeyAlg, Scheme,
};
use keygate_fuzz::{client, part, text, unframe};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;

const SCHEMES: [Scheme; 3] = [Scheme::Jwe, Scheme::RsaOaep256, Scheme::RsaPkcs1];

fuzz_target!(|data: &[u8]| {
    let (mode, parts) = unframe(data);
    let scheme = SCHEMES[usize::from(mode) % SCHEMES.len()];
    let json = part(&parts, 0);
    let pointers: Vec<String> = parts
        .iter()
        .skip(1)
        .take(4)
        .map(|p| text(p).into_owned())
        .collect();

    let result = encrypt_fields_in_json(json, &pointers, scheme, &client().key);
    let is_json = serde_json::from_slice::<IgnoredAny>(json).is_ok();
    let value: Option<Value> = serde_json::from_slice(json).ok();

    let out = match result {
        Err(FieldError::InvalidPointer(p)) => {
            assert!(!(p.is_empty() || p.starts_with('/')));
            return;
        }
        Err(FieldError::PlaintextTooLong { .. }) => {
            assert_ne!(scheme, Scheme::Jwe);
            return;
        }
        Err(e) => panic!("unexpected error: {e:?}"),
        Ok(FieldsInJson::NotJson) => {
            assert!(value.is_none(), "a JSON document was called NotJson");
            return;
        }
        Ok(FieldsInJson::Unchanged) => {
            assert!(is_json, "text that is not JSON was passed on as Unchanged");
            if let Some(value) = &value {
                assert!(
                    pointers.iter().all(|p| value.pointer(p).is_none()),
                    "Unchanged, yet a pointer names a field"
                );
            }
            return;
        }
        Ok(FieldsInJson::Rewritten(out)) => out,
    };
    assert!(is_json, "text that is not JSON was rewritten");
    assert!(
        serde_json::from_slice::<IgnoredAny>(&out).is_ok(),
        "the rewritten answer is not JSON"
    );
    let out_value: Option<Value> = serde_json::from_slice(&out).ok();
    let spliced = spliced_in_place(json, &out, scheme);
    if let Some(value) = &value {
        let out_value = out_value
            .as_ref()
            .unwrap_or_else(|| panic!("a JSON value was rewritten into text serde cannot read"));
        check_values(value, out_value, &pointers, scheme, !spliced);
    }
    if !spliced {
        // Only the re-serialized path (for ambiguous text) may touch other bytes, and it writes
        // compact JSON. (Not `to_vec(from_slice(out))` byte for byte: serde_json's default float
        // parsing is not correctly rounded, so a float printed and re-read may move an ulp.)
        assert!(out_value.is_some(), "re-serialized text serde cannot read");
        assert_eq!(
            compact(&out),
            out,
            "bytes outside the named fields changed, and the text is not re-serialized JSON"
        );
    }
});

/// The output value is the input value with each named field replaced by its ciphertext.
///
/// `reserialized`: the answer went through a `Value` (ambiguous text), so its floats went through
/// serde_json's default float parsing, which is not correctly rounded (no `float_roundtrip`):
/// printing and re-reading may move one by an ulp.
fn check_values(
    input: &Value,
    output: &Value,
    pointers: &[String],
    scheme: Scheme,
    reserialized: bool,
) {
    if related(pointers) {
        return; // a later pointer may name an earlier one's ciphertext
    }
    let mut restored = output.clone();
    for pointer in pointers {
        let Some(original) = input.pointer(pointer) else {
            continue;
        };
        let slot = restored
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("the field at {pointer:?} is gone"));
        let Value::String(ciphertext) = slot else {
            panic!("the field at {pointer:?} is not a ciphertext string");
        };
        let (plaintext, json) = decrypt(ciphertext, scheme);
        match original {
            Value::String(s) => {
                assert_eq!(plaintext, s.as_bytes());
                assert!(!json.unwrap_or(false), "a string was marked cty json");
            }
            other => {
                let decrypted: Value = serde_json::from_slice(&plaintext)
                    .unwrap_or_else(|e| panic!("a non-string field is not JSON text: {e}"));
                assert!(
                    same(&decrypted, other, reserialized),
                    "field {pointer:?}: {other} was encrypted as {decrypted}"
                );
                assert!(json.unwrap_or(true), "a JSON value lacks cty json");
            }
        }
        *slot = original.clone();
    }
    assert!(
        same(&restored, input, reserialized),
        "a field that was not named changed"
    );
}

/// `a == b`, floats within a few ulps when `tolerant`.
fn same(a: &Value, b: &Value, tolerant: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if tolerant && x != y => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x.to_bits().abs_diff(y.to_bits()) <= 2,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y, tolerant))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && same(x, y, tolerant))
        }
        _ => a == b,
    }
}

/// JSON text without its insignificant whitespace (outside strings), every other byte kept: what
/// a non-string field is encrypted as.
fn compact(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in raw {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = b == b'"';
            out.push(b);
        }
    }
    out
}

/// Whether one pointer is another, or names a field inside another.
fn related(pointers: &[String]) -> bool {
    pointers.iter().enumerate().any(|(i, a)| {
        pointers
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && (a == b || b.starts_with(&format!("{a}/")) || a.is_empty()))
    })
}

/// Decrypts a field's ciphertext with the client's private key: the plaintext, and for a JWE
/// whether it says `cty: json`. Panics when it does not decrypt.
fn decrypt(ciphertext: &str, scheme: Scheme) -> (Vec<u8>, Option<bool>) {
    try_decrypt(ciphertext, scheme)
        .unwrap_or_else(|| panic!("a ciphertext made for the client does not decrypt"))
}

fn try_decrypt(ciphertext: &str, scheme: Scheme) -> Option<(Vec<u8>, Option<bool>)> {
    let client = client();
    match scheme {
        Scheme::Jwe => {
            let jwe =
                decrypt_compact_jwe(ciphertext, &client.private, JweKeyAlg::RsaOaep256).ok()?;
            assert_eq!(jwe.kid.as_deref(), Some(client.key.kid()));
            let json = jwe.cty.as_deref() == Some("json");
            Some((jwe.plaintext, Some(json)))
        }
        Scheme::RsaOaep256 => {
            let ct = b64_std_decode(ciphertext)?;
            let mut out = vec![0u8; ct.len()];
            let len = client
                .oaep
                .decrypt(&OAEP_SHA256_MGF1SHA256, &ct, &mut out, None)
                .ok()?
                .len();
            out.truncate(len);
            Some((out, None))
        }
        Scheme::RsaPkcs1 => {
            let ct = b64_std_decode(ciphertext)?;
            let mut out = vec![0u8; ct.len()];
            let len = client.pkcs1.decrypt(&ct, &mut out).ok()?.len();
            out.truncate(len);
            Some((out, None))
        }
    }
}

/// Whether `out` is `json` with some values replaced, in place, by `"<ciphertext>"` (each
/// ciphertext a string the client's key decrypts to that value) and nothing else changed.
fn spliced_in_place(json: &[u8], out: &[u8], scheme: Scheme) -> bool {
    // The ciphertexts in `out`: string tokens of the ciphertext's shape that decrypt.
    let mut segments = Vec::new(); // (start, end) of each ciphertext token, quotes included
    let mut at = 0;
    while let Some(offset) = out
        .get(at..)
        .and_then(|rest| rest.iter().position(|b| *b == b'"'))
    {
        let start = at + offset;
        let Some(end) = string_end(out, start) else {
            return false;
        };
        // A ciphertext is fresh, so never in the input; and it decrypts with the client's key.
        let body = &out[start + 1..end - 1];
        if looks_like_ciphertext(body, scheme)
            && !json.windows(body.len()).any(|w| w == body)
            && try_decrypt(&String::from_utf8_lossy(body), scheme).is_some()
        {
            segments.push((start, end));
        }
        at = end;
    }
    let mut i = 0; // in `json`
    let mut o = 0; // in `out`
    for (start, end) in segments {
        let same = &out[o..start];
        if !json.get(i..).unwrap_or_default().starts_with(same) {
            return false;
        }
        i += same.len();
        let Some(value_len) = json_value_len(&json[i..]) else {
            return false;
        };
        let Ok(original) = serde_json::from_slice::<Value>(&json[i..i + value_len]) else {
            // A value serde_json cannot hold (a number beyond f64): compare the text.
            let ciphertext = String::from_utf8_lossy(&out[start + 1..end - 1]);
            if try_decrypt(&ciphertext, scheme).map(|(p, _)| p)
                != Some(compact(&json[i..i + value_len]))
            {
                return false;
            }
            i += value_len;
            o = end;
            continue;
        };
        let ciphertext = String::from_utf8_lossy(&out[start + 1..end - 1]);
        let Some((plaintext, _)) = try_decrypt(&ciphertext, scheme) else {
            return false;
        };
        // A string as its text, anything else as its exact JSON text (numbers keep every digit).
        let matches = match &original {
            Value::String(s) => plaintext == s.as_bytes(),
            _ => plaintext == compact(&json[i..i + value_len]),
        };
        if !matches {
            return false;
        }
        i += value_len;
        o = end;
    }
    json.get(i..) == out.get(o..)
}

/// The end (after the closing quote) of the JSON string token opening at `start`.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut k = start + 1;
    while let Some(b) = text.get(k) {
        match b {
            b'\\' => k += 2,
            b'"' => return Some(k + 1),
            _ => k += 1,
        }
    }
    None
}

/// A string's contents have the ciphertext's shape: a compact JWE for this key, or one RSA block
/// of standard base64.
fn looks_like_ciphertext(body: &[u8], scheme: Scheme) -> bool {
    match scheme {
        Scheme::Jwe => {
            body.split(|b| *b == b'.').count() == 5
                && body.starts_with(b"eyJ")
                && body
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        Scheme::RsaOaep256 | Scheme::RsaPkcs1 => {
            b64_std_decode(&String::from_utf8_lossy(body)).is_some_and(|ct| ct.len() == 256)
        }
    }
}

/// The length of the JSON value at the start of `text`.
fn json_value_len(text: &[u8]) -> Option<usize> {
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<IgnoredAny>();
    match stream.next() {
        Some(Ok(_)) => Some(stream.byte_offset()),
        _ => None,
    }
}
