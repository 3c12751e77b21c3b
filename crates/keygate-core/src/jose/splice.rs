//! Response fields encrypted where they stand (docs/design.md §6): the upstream's JSON text is
//! kept byte for byte and only the named values are replaced by their ciphertext strings.
//!
//! No `Value` tree is built: each container on the way to a field is read as borrowed
//! [`RawValue`]s, so the answer costs a scan instead of a parse, an allocation per node and a
//! re-serialization, and whatever the upstream wrote (key order, spacing, numbers too large for
//! an `f64`) reaches the client unchanged. Where the text is ambiguous — a key on a field's path
//! appears twice in its object, one field lies inside another, the same field is named twice,
//! or the pointer is `""` (the whole document) — the answer goes through [`encrypt_fields`]
//! instead, whose `Value` keeps one of the duplicates, so no plaintext copy can slip through
//! beside a ciphertext.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::client_key::ClientKey;
use super::fields::{
    check_pointers, encrypt_fields, encrypt_plaintext, jwe_randomness, FieldError, Scheme,
};
use super::jwe::JWE_RANDOM_LEN;

/// What [`encrypt_fields_in_json`] made of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldsInJson {
    /// The text with the named fields encrypted: send this.
    Rewritten(Vec<u8>),
    /// A JSON document in which no pointer names anything: send it as it is.
    Unchanged,
    /// Not a JSON document (empty, HTML, JSON with trailing bytes, ...): its fields cannot be
    /// found, and it may hold them in plaintext.
    NotJson,
}

/// Encrypts the fields named by `pointers` (RFC 6901) in the JSON text `json` for `key`.
///
/// Same rules as [`encrypt_fields`] (a string is encrypted as its UTF-8 text, anything else as
/// its compact JSON; a pointer naming nothing changes nothing), but everything outside the
/// encrypted values is copied unchanged.
///
/// # Errors
/// [`FieldError`], as [`encrypt_fields`]; the caller must then send nothing of the answer.
pub fn encrypt_fields_in_json(
    json: &[u8],
    pointers: &[String],
    scheme: Scheme,
    key: &ClientKey,
) -> Result<FieldsInJson, FieldError> {
    check_pointers(pointers)?;
    if pointers.iter().any(String::is_empty) {
        return through_value(json, pointers, scheme, key);
    }
    // All the fields' CEKs and IVs from one call to the generator, made only once a field is
    // found (an answer without the fields costs no randomness).
    let mut random = None;
    let spliced = splice(json, pointers, |index, raw| {
        let pointer = pointers.get(index).map_or("", String::as_str);
        let random = match &mut random {
            Some(random) => random,
            None => random.insert(jwe_randomness(scheme, pointers)?),
        };
        let field_random = random.get(index * JWE_RANDOM_LEN..(index + 1) * JWE_RANDOM_LEN);
        let ciphertext = match serde_json::from_str::<Text<'_>>(raw) {
            Ok(Text(text)) => {
                encrypt_plaintext(text.as_bytes(), false, scheme, key, pointer, field_random)?
            }
            // Not a string: its exact JSON text, compacted (a number keeps every digit).
            Err(_) => {
                let compact = compact_json(raw);
                encrypt_plaintext(compact.as_bytes(), true, scheme, key, pointer, field_random)?
            }
        };
        // Ciphertexts are base64 / base64url / compact JWE: nothing in them needs escaping.
        Ok(format!("\"{ciphertext}\""))
    });
    match spliced {
        Ok(Some(out)) => Ok(FieldsInJson::Rewritten(out)),
        // Only now is it worth knowing whether the rest of the text is JSON at all.
        Ok(None) => Ok(
            if serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok() {
                FieldsInJson::Unchanged
            } else {
                FieldsInJson::NotJson
            },
        ),
        Err(SpliceError::Ambiguous) => through_value(json, pointers, scheme, key),
        Err(SpliceError::Replace(e)) => Err(e),
    }
}

/// Why [`splice`] did not give a text.
pub(crate) enum SpliceError<E> {
    /// The text is ambiguous (see the module comment), or not JSON where a field was sought.
    Ambiguous,
    /// `replace` refused a value.
    Replace(E),
}

impl<E> From<E> for SpliceError<E> {
    fn from(e: E) -> Self {
        SpliceError::Replace(e)
    }
}

/// Replaces each value named by `pointers` (none empty) in the JSON text `json` with what
/// `replace(pointer index, raw value text)` gives, copying every other byte unchanged.
/// `Ok(None)` when no pointer names anything (the text may then not even be JSON).
pub(crate) fn splice<E>(
    json: &[u8],
    pointers: &[String],
    mut replace: impl FnMut(usize, &str) -> Result<String, E>,
) -> Result<Option<Vec<u8>>, SpliceError<E>> {
    let tokens: Vec<Vec<Cow<'_, str>>> = pointers.iter().map(|p| pointer_tokens(p)).collect();
    let targets: Vec<Target<'_, '_>> = tokens
        .iter()
        .enumerate()
        // Text that is not an RFC 6901 pointer (neither empty nor starting with `/`) names
        // nothing, as `Value::pointer` reads it: `a/pin` is not `/pin`.
        .filter(|(index, _)| pointers.get(*index).is_some_and(|p| p.starts_with('/')))
        .map(|(index, tokens)| Target {
            index,
            rest: tokens,
        })
        .collect();
    let mut found = Vec::with_capacity(pointers.len());
    if pointers.iter().any(String::is_empty) || locate(json, &targets, &mut found).is_err() {
        return Err(SpliceError::Ambiguous);
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut spans = Vec::with_capacity(found.len());
    for (index, raw) in found {
        let start = offset_in(json, raw).ok_or(SpliceError::Ambiguous)?;
        let replacement = replace(index, raw.get())?;
        spans.push((start, start + raw.get().len(), replacement));
    }
    spans.sort_unstable_by_key(|(start, _, _)| *start);

    let grown: usize = spans.iter().map(|(_, _, r)| r.len()).sum();
    let mut out = Vec::with_capacity(json.len() + grown);
    let mut copied = 0;
    for (start, end, replacement) in spans {
        out.extend_from_slice(json.get(copied..start).unwrap_or_default());
        out.extend_from_slice(replacement.as_bytes());
        copied = end;
    }
    out.extend_from_slice(json.get(copied..).unwrap_or_default());
    Ok(Some(out))
}

/// Valid JSON text without its insignificant whitespace; every other byte (digits of numbers,
/// string contents) as written.
pub(crate) fn compact_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// The ambiguous cases: parse, encrypt in the tree, serialize.
fn through_value(
    json: &[u8],
    pointers: &[String],
    scheme: Scheme,
    key: &ClientKey,
) -> Result<FieldsInJson, FieldError> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(json) else {
        return Ok(FieldsInJson::NotJson);
    };
    encrypt_fields(&mut doc, pointers, scheme, key)?;
    serde_json::to_vec(&doc)
        .map(FieldsInJson::Rewritten)
        .map_err(|_| FieldError::Encryption(pointers.first().cloned().unwrap_or_default()))
}

/// The reference tokens of an RFC 6901 pointer, unescaped (`~1` → `/`, then `~0` → `~`).
fn pointer_tokens(pointer: &str) -> Vec<Cow<'_, str>> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| {
            if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            }
        })
        .collect()
}

/// An array index token as RFC 6901 (and serde_json) read it: digits, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// A pointer on its way down: which one it is and the tokens still to follow.
struct Target<'t, 's> {
    index: usize,
    rest: &'t [Cow<'s, str>],
}

/// The text is ambiguous for splicing (see the module comment).
struct Ambiguous;

/// Finds the value each target names in the JSON `text`, as `(pointer index, raw value)`. Every
/// target has at least one token left.
fn locate<'a>(
    text: &'a [u8],
    targets: &[Target<'_, '_>],
    found: &mut Vec<(usize, &'a RawValue)>,
) -> Result<(), Ambiguous> {
    let first = text
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let members = match first {
        Some(b'{') => Members::Object(
            serde_json::from_slice::<Entries<'a>>(text)
                .map_err(|_| Ambiguous)?
                .0,
        ),
        Some(b'[') => Members::Array(
            serde_json::from_slice::<Vec<&'a RawValue>>(text).map_err(|_| Ambiguous)?,
        ),
        // A scalar (or not JSON at all) has no members: the pointers name nothing.
        _ => return Ok(()),
    };
    for (position, target) in targets.iter().enumerate() {
        let Some(token) = target.rest.first() else {
            continue;
        };
        if targets
            .iter()
            .take(position)
            .any(|earlier| earlier.rest.first() == Some(token))
        {
            continue; // this member was followed already, with every target through it
        }
        let child = match &members {
            Members::Array(items) => array_index(token).and_then(|i| items.get(i)).copied(),
            Members::Object(entries) => {
                let mut matching = entries.iter().filter(|(name, _)| name == token);
                let child = matching.next().map(|(_, value)| *value);
                if matching.next().is_some() {
                    return Err(Ambiguous); // a duplicate key on the way to a field
                }
                child
            }
        };
        let Some(child) = child else { continue };
        let (here, deeper): (Vec<Target<'_, '_>>, Vec<Target<'_, '_>>) = targets
            .iter()
            .filter(|t| t.rest.first() == Some(token))
            .map(|t| Target {
                index: t.index,
                rest: t.rest.get(1..).unwrap_or_default(),
            })
            .partition(|t| t.rest.is_empty());
        match here.first() {
            // The same field twice, or a field inside another: which bytes would be which?
            Some(_) if here.len() > 1 || !deeper.is_empty() => return Err(Ambiguous),
            Some(hit) => found.push((hit.index, child)),
            None => locate(child.get().as_bytes(), &deeper, found)?,
        }
    }
    Ok(())
}

/// A container's members, borrowed from the text.
enum Members<'a> {
    /// In document order, duplicate keys kept.
    Object(Vec<(Cow<'a, str>, &'a RawValue)>),
    Array(Vec<&'a RawValue>),
}

/// Where `raw` (borrowed from `json` by the parser) starts in `json`, checked.
fn offset_in(json: &[u8], raw: &RawValue) -> Option<usize> {
    let bytes = raw.get().as_bytes();
    let start = (bytes.as_ptr() as usize).checked_sub(json.as_ptr() as usize)?;
    let end = start.checked_add(bytes.len())?;
    (json.get(start..end)? == bytes).then_some(start)
}

/// A JSON string, borrowed when it has no escapes.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An object's members in document order, duplicates kept.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(name), value)) = map.next_entry::<Text<'de>, &RawValue>()? {
                    entries.push((name, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}
