//! How the values of the settings are read from TOML (the file, `KEYGATE_*`, the flags), each
//! with the error text an operator sees; `load` puts the key at fault in front of it.

use std::net::SocketAddr;
use std::time::Duration;

use keygate_core::jose::Scheme;
use serde::de::{Deserializer, Error, Visitor};
use serde::Deserialize;

use super::Signature;

/// `365d`, `15m`, `3s`, `1h 30m`, or a bare number of seconds (a TOML integer or a string).
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DurationValue {
        Seconds(u64),
        Text(String),
    }
    match DurationValue::deserialize(d)? {
        DurationValue::Seconds(s) => Ok(Duration::from_secs(s)),
        DurationValue::Text(t) => super::parse_duration(&t).map_err(D::Error::custom),
    }
}

/// An address like `127.0.0.1:8080`.
pub fn address<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| D::Error::custom(format!("`{text}` is not an address like 127.0.0.1:8080")))
}

/// RSA key sizes: a list (`[2048, 3072]`), one size, or a text like `2048,3072`.
pub fn key_bits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BitsValue {
        List(Vec<u32>),
        One(u32),
        Text(String),
    }
    match BitsValue::deserialize(d)? {
        BitsValue::List(list) => Ok(list),
        BitsValue::One(bits) => Ok(vec![bits]),
        BitsValue::Text(text) => text
            .split(',')
            .map(|part| part.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                D::Error::custom(format!("`{text}` is not a list of sizes like 2048,3072"))
            }),
    }
}

/// A route's `signature`: `required` or `none`.
pub fn signature<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "required" => Ok(Signature::Required),
        "none" => Ok(Signature::None),
        other => Err(D::Error::custom(format!(
            "signature must be \"required\" or \"none\", not {other:?}"
        ))),
    }
}

/// A route's `scheme`: `jwe`, `rsa-oaep-256` or `rsa-pkcs1`.
pub fn scheme<'de, D: Deserializer<'de>>(d: D) -> Result<Scheme, D::Error> {
    let text = String::deserialize(d)?;
    Scheme::from_name(&text).ok_or_else(|| {
        D::Error::custom(format!(
            "scheme must be jwe, rsa-oaep-256 or rsa-pkcs1, not {text:?}"
        ))
    })
}

/// The field names serde reads for `T`, in order: asked of `T`'s own `Deserialize`, so the list
/// of keys is the struct itself and cannot fall out of step with it.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that only records the fields a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("only a struct's field names are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
