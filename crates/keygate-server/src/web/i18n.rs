//! Translations with Project Fluent: `locales/{en,el,es}/keygate.ftl`, embedded at build time.
//!
//! The language comes from `?lang=` (remembered in the `lang` cookie), else that cookie, else
//! `Accept-Language`, else English.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use keygate_core::model::UnixTime;
use keygate_core::public_key::{KeyRejection, MalformedReason, WeakReason};
use unic_langid::LanguageIdentifier;

use crate::error::ApiError;

/// A language the page is offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    El,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::El, Lang::Es];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::El => "el",
            Lang::Es => "es",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::El => "Ελληνικά",
            Lang::Es => "Español",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The best offered language of an `Accept-Language` header, by quality then order.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut candidates: Vec<(u16, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let primary = tag.split(['-', '_']).next()?;
                let lang = Lang::parse(primary)?;
                let quality = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .filter_map(|q| q.trim().parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0);
                let quality = (quality.clamp(0.0, 1.0) * 1000.0) as u16;
                (quality > 0).then_some((quality, position, lang))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.first().map(|c| c.2)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en/keygate.ftl"),
            Lang::El => include_str!("../../locales/el/keygate.ftl"),
            Lang::Es => include_str!("../../locales/es/keygate.ftl"),
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn build_bundle(lang: Lang) -> Bundle {
    let id: LanguageIdentifier = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // The output goes into HTML: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(lang.source().to_string()) {
        Ok(resource) => resource,
        Err((resource, errors)) => {
            tracing::error!(
                lang = lang.code(),
                ?errors,
                "the Fluent catalog has syntax errors"
            );
            resource
        }
    };
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(
            lang = lang.code(),
            ?errors,
            "the Fluent catalog has duplicate messages"
        );
    }
    bundle
}

static BUNDLES: LazyLock<[Bundle; 3]> = LazyLock::new(|| {
    [
        build_bundle(Lang::En),
        build_bundle(Lang::El),
        build_bundle(Lang::Es),
    ]
});

/// The translator for one request's language. Cheap to copy into templates.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    fn bundle(&self) -> &'static Bundle {
        let index = match self.lang {
            Lang::En => 0,
            Lang::El => 1,
            Lang::Es => 2,
        };
        &BUNDLES[index]
    }

    /// The message, or `None` when the catalog lacks it.
    pub fn try_format(&self, id: &str, args: &[(&str, &str)]) -> Option<String> {
        let bundle = self.bundle();
        let pattern = bundle.get_message(id)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(*value));
        }
        let mut errors = Vec::new();
        let text = bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned();
        if errors.is_empty() {
            Some(text)
        } else {
            tracing::warn!(
                id,
                lang = self.lang.code(),
                ?errors,
                "message formatted with errors"
            );
            Some(text)
        }
    }

    /// A message with arguments; a missing id shows the id (and the completeness test fails).
    pub fn fmt(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.try_format(id, args).unwrap_or_else(|| {
            tracing::warn!(id, lang = self.lang.code(), "missing message");
            id.to_string()
        })
    }

    /// A message without arguments. Used by the templates: `{{ t.msg("id") }}`.
    pub fn msg(&self, id: &str) -> String {
        self.fmt(id, &[])
    }

    /// A calendar date (UTC) in the language's format, from the catalog's `date` message.
    pub fn date(&self, t: UnixTime) -> String {
        use chrono::Datelike;
        let Some(d) = chrono::DateTime::from_timestamp(t, 0) else {
            return String::new();
        };
        let day = d.day().to_string();
        let dd = format!("{:02}", d.day());
        let mm = format!("{:02}", d.month());
        let month_name = self.msg(&format!("month-{}", d.month()));
        let year = d.year().to_string();
        self.fmt(
            "date",
            &[
                ("day", &day),
                ("dd", &dd),
                ("mm", &mm),
                ("monthname", &month_name),
                ("year", &year),
            ],
        )
    }

    /// A date and time (UTC), for revocations.
    pub fn date_time(&self, t: UnixTime) -> String {
        let time = chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%H:%M").to_string())
            .unwrap_or_default();
        self.fmt("date-time", &[("date", &self.date(t)), ("time", &time)])
    }

    /// The translated message for an upload refusal, by slug and reason.
    pub fn key_rejection(&self, rejection: &KeyRejection) -> String {
        match rejection {
            KeyRejection::Malformed(reason) => {
                let reason = self.msg(malformed_id(*reason));
                self.fmt("err-public_key_malformed", &[("reason", &reason)])
            }
            KeyRejection::PrivateKeySubmitted => self.msg("err-private_key_submitted"),
            KeyRejection::NotRsa(kind) => self.fmt("err-public_key_not_rsa", &[("kind", kind)]),
            KeyRejection::WrongSize { found, allowed } => {
                let allowed_text = allowed
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                let example = allowed.first().copied().unwrap_or(2048).to_string();
                self.fmt(
                    "err-public_key_wrong_size",
                    &[
                        ("found", &found.to_string()),
                        ("allowed", &allowed_text),
                        ("example", &example),
                    ],
                )
            }
            KeyRejection::Weak(reason) => {
                let (id, value) = weak_id(*reason);
                let reason = self.fmt(id, &[("value", &value)]);
                self.fmt("err-public_key_weak", &[("reason", &reason)])
            }
        }
    }

    /// The translated message of any error the page shows, by its slug.
    pub fn error(&self, error: &ApiError) -> String {
        match error {
            ApiError::Key(rejection) => self.key_rejection(rejection),
            ApiError::RateLimited { retry_after } => {
                let minutes = retry_after.div_ceil(60).max(1).to_string();
                self.fmt("err-rate_limited", &[("minutes", &minutes)])
            }
            other => {
                let (_, _, slug) = other.parts();
                self.try_format(&format!("err-{slug}"), &[])
                    .unwrap_or_else(|| self.msg("err-internal_error"))
            }
        }
    }
}

pub fn malformed_id(reason: MalformedReason) -> &'static str {
    match reason {
        MalformedReason::Empty => "malformed-empty",
        MalformedReason::NoPemBlock => "malformed-no-pem-block",
        MalformedReason::SeveralBlocks => "malformed-several-blocks",
        MalformedReason::TrailingData => "malformed-trailing-data",
        MalformedReason::BadEnvelope => "malformed-bad-envelope",
        MalformedReason::Headers => "malformed-headers",
        MalformedReason::BadBase64 => "malformed-bad-base64",
        MalformedReason::UnknownLabel => "malformed-unknown-label",
        MalformedReason::BadDer => "malformed-bad-der",
    }
}

fn weak_id(reason: WeakReason) -> (&'static str, String) {
    match reason {
        WeakReason::Exponent(e) => ("weak-exponent", e.to_string()),
        WeakReason::ExponentTooLarge => ("weak-exponent-too-large", String::new()),
        WeakReason::EvenModulus => ("weak-even-modulus", String::new()),
        WeakReason::SmallFactor(p) => ("weak-small-factor", p.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;

    use fluent_bundle::FluentResource;
    use fluent_syntax::ast::Entry;

    use super::*;

    fn ids(lang: Lang) -> BTreeSet<String> {
        let resource = FluentResource::try_new(lang.source().to_string())
            .unwrap_or_else(|(_, e)| panic!("{} catalog does not parse: {e:?}", lang.code()));
        resource
            .entries()
            .filter_map(|entry| match entry {
                Entry::Message(m) => Some(m.id.name.to_string()),
                Entry::Term(t) => Some(format!("-{}", t.id.name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalog_has_every_message() {
        let en = ids(Lang::En);
        assert!(en.len() > 50, "the English catalog looks empty");
        for lang in [Lang::El, Lang::Es] {
            let other = ids(lang);
            let missing: Vec<_> = en.difference(&other).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(
                extra.is_empty(),
                "en lacks {extra:?} (present in {})",
                lang.code()
            );
        }
    }

    /// Message ids written literally in the templates and in the web module: `msg("id")` and
    /// `fmt("id", ...)`.
    fn ids_used_in_code() -> BTreeSet<String> {
        let sources = [
            include_str!("../../templates/base.html"),
            include_str!("../../templates/login.html"),
            include_str!("../../templates/page.html"),
            include_str!("../../templates/key.html"),
            include_str!("../../templates/revoke.html"),
            include_str!("../../templates/error.html"),
            include_str!("handlers.rs"),
            include_str!("mod.rs"),
            include_str!("pages.rs"),
            include_str!("i18n.rs"),
        ];
        let mut found = BTreeSet::new();
        for source in sources {
            for marker in ["msg(", "fmt(", "try_format("] {
                for piece in source.split(marker).skip(1) {
                    let Some(rest) = piece.trim_start().strip_prefix('"') else {
                        continue;
                    };
                    if let Some(id) = rest.split('"').next() {
                        let is_id = id.starts_with(|c: char| c.is_ascii_alphabetic())
                            && id
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                        if is_id && id != "id" {
                            found.insert(id.to_string());
                        }
                    }
                }
            }
        }
        for m in 1..=12 {
            found.insert(format!("month-{m}"));
        }
        found
    }

    #[test]
    fn every_message_the_code_uses_exists_in_every_language() {
        let used = ids_used_in_code();
        assert!(used.len() > 30, "the scan found too few ids: {used:?}");
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            for id in &used {
                assert!(
                    t.try_format(id, &[]).is_some(),
                    "{} lacks `{id}`",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn every_refusal_and_error_is_translated() {
        use MalformedReason::*;
        let mut rejections: Vec<KeyRejection> = [
            Empty,
            NoPemBlock,
            SeveralBlocks,
            TrailingData,
            BadEnvelope,
            Headers,
            BadBase64,
            UnknownLabel,
            BadDer,
        ]
        .into_iter()
        .map(KeyRejection::Malformed)
        .collect();
        rejections.extend([
            KeyRejection::PrivateKeySubmitted,
            KeyRejection::NotRsa("EC"),
            KeyRejection::WrongSize {
                found: 1024,
                allowed: vec![2048],
            },
            KeyRejection::Weak(WeakReason::Exponent(3)),
            KeyRejection::Weak(WeakReason::ExponentTooLarge),
            KeyRejection::Weak(WeakReason::EvenModulus),
            KeyRejection::Weak(WeakReason::SmallFactor(7)),
        ]);
        let mut errors: Vec<ApiError> = rejections.into_iter().map(ApiError::Key).collect();
        errors.extend([
            ApiError::PublicKeyReused,
            ApiError::ActiveKeyExists,
            ApiError::NoActiveKey,
            ApiError::InvalidCredentials,
            ApiError::RateLimited { retry_after: 900 },
            ApiError::InvalidRequest("x".into()),
            ApiError::NotFound("x"),
            ApiError::Unauthorized("x"),
            ApiError::PayloadTooLarge,
            ApiError::Internal("x".into()),
            ApiError::ServiceUnavailable("x".into()),
        ]);
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            for error in &errors {
                let (_, _, slug) = error.parts();
                if !matches!(error, ApiError::Internal(_)) {
                    assert!(
                        t.try_format(&format!("err-{slug}"), &[]).is_some(),
                        "{} lacks err-{slug}",
                        lang.code()
                    );
                }
                let text = t.error(error);
                assert!(
                    !text.contains("err-")
                        && !text.contains("malformed-")
                        && !text.contains("weak-"),
                    "{text}"
                );
                assert!(
                    !text.contains('{'),
                    "unresolved placeable in {}: {text}",
                    lang.code()
                );
            }
        }
        // A database outage and a busy login queue are both 503s; each keeps its own words.
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            assert_ne!(
                t.error(&ApiError::ServiceUnavailable("x".into())),
                t.error(&ApiError::LoginBusy { retry_after: 1 }),
                "{}",
                lang.code()
            );
        }
        let t = Tr::new(Lang::Es);
        let text = t.error(&ApiError::Key(KeyRejection::WrongSize {
            found: 1024,
            allowed: vec![2048],
        }));
        assert!(text.contains("1024") && text.contains("2048"), "{text}");
    }

    #[test]
    fn dates_follow_the_language() {
        let t = 1_795_428_000; // 2026-11-23T10:00:00Z
        assert_eq!(Tr::new(Lang::En).date(t), "23 Nov 2026");
        assert_eq!(Tr::new(Lang::El).date(t), "23/11/2026");
        assert_eq!(Tr::new(Lang::Es).date(t), "23/11/2026");
        assert_eq!(Tr::new(Lang::En).date_time(t), "23 Nov 2026, 10:00 UTC");
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("el-GR,el;q=0.9,en;q=0.8"),
            Some(Lang::El)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, es;q=0.5, en;q=0.4"),
            Some(Lang::Es)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, es;q=0.9"),
            Some(Lang::Es)
        );
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("es;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language(""), None);
        assert_eq!(Lang::parse("EL"), Some(Lang::El));
        assert_eq!(Lang::parse("de"), None);
    }
}
