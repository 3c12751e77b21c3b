//! Translations with Project Fluent: `locales/{en,el,es}/keygate.ftl`, embedded at build time.
//!
//! The web layer (`super::layer`) chooses a request's language: `?lang=` (remembered in the
//! `lang` cookie), else that cookie, else `Accept-Language` (matched by `fluent-langneg`), else
//! English. [`english`] gives the English text of any message, for callers outside the page.
//!
//! To add a message: write it in all three `.ftl` files (`tests.rs` fails otherwise), then
//! use it with `t.msg("id")` or `t.fmt("id", &[("arg", value)])`.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use keygate_core::model::UnixTime;
use keygate_core::public_key::{KeyRejection, MalformedReason, WeakReason};
use unic_langid::LanguageIdentifier;

use crate::error::ApiError;

/// A language the page is offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    En,
    /// Greek.
    El,
    /// Spanish.
    Es,
}

/// The offered languages as language identifiers, for negotiation.
static OFFERED: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .filter_map(|l| l.code().parse().ok())
        .collect()
});

impl Lang {
    /// Every language offered, in the switcher's order.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::El, Lang::Es];

    /// The language's code: `lang` attribute, cookie and `?lang=` value.
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

    /// The language of a code, case-insensitively.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The best offered language of an `Accept-Language` header, by quality then order.
    ///
    /// `fluent-langneg` matches the ranges to the languages offered (`el-GR` is Greek), but
    /// its own parser drops q-values, so the ranges are put in quality order here first; a
    /// range with `q=0` is one the visitor refuses.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        // At most 32 ranges are read: a browser sends a handful, and a header of thousands
        // (up to hyper's header limit) would only cost parsing.
        let mut ranges: Vec<(u16, &str)> = header
            .split(',')
            .take(32)
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let quality = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .filter_map(|q| q.trim().parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0);
                let quality = (quality.clamp(0.0, 1.0) * 1000.0) as u16;
                (quality > 0).then_some((quality, tag))
            })
            .collect();
        // A stable sort: equal qualities keep the header's order.
        ranges.sort_by_key(|(quality, _)| std::cmp::Reverse(*quality));
        let requested: Vec<LanguageIdentifier> = ranges
            .into_iter()
            .filter_map(|(_, tag)| tag.parse().ok())
            .collect();
        let chosen = negotiate_languages(&requested, &OFFERED, None, NegotiationStrategy::Lookup);
        chosen
            .first()
            .and_then(|id| Lang::parse(id.language.as_str()))
    }

    /// The page's catalogue and the self-check's details (shared with the JSON API).
    fn sources(self) -> [&'static str; 2] {
        match self {
            Lang::En => [
                include_str!("../../../locales/en/keygate.ftl"),
                include_str!("../../../locales/en/checks.ftl"),
            ],
            Lang::El => [
                include_str!("../../../locales/el/keygate.ftl"),
                include_str!("../../../locales/el/checks.ftl"),
            ],
            Lang::Es => [
                include_str!("../../../locales/es/keygate.ftl"),
                include_str!("../../../locales/es/checks.ftl"),
            ],
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn build_bundle(lang: Lang) -> Bundle {
    let id: LanguageIdentifier = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // The output goes into HTML: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    for source in lang.sources() {
        let resource = match FluentResource::try_new(source.to_string()) {
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
    /// The language it translates into.
    pub lang: Lang,
}

/// The English text of a message: for texts outside the page (the JSON API's refusals), so
/// each text for people lives once, in the catalogues. `None` when the catalogue lacks `id`.
pub fn english(id: &str, args: &[(&str, &str)]) -> Option<String> {
    Tr::new(Lang::En).try_format(id, args)
}

impl Tr {
    /// The translator for a language.
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
        self.format_with(id, args, &[])
    }

    /// The message with text arguments and number arguments (a number picks a plural form:
    /// `{ $n -> [one] … *[other] … }`), or `None` when the catalog lacks it.
    fn format_with(
        &self,
        id: &str,
        args: &[(&str, &str)],
        numbers: &[(&str, i64)],
    ) -> Option<String> {
        let bundle = self.bundle();
        let pattern = bundle.get_message(id)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(*value));
        }
        for (name, value) in numbers {
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

    /// A message with text and number arguments; a missing id shows the id.
    pub fn num_fmt(&self, id: &str, args: &[(&str, &str)], numbers: &[(&str, i64)]) -> String {
        self.format_with(id, args, numbers).unwrap_or_else(|| {
            tracing::warn!(id, lang = self.lang.code(), "missing message");
            id.to_string()
        })
    }

    /// How long before `now` the instant `at` was, in words ("3 minutes ago", "just now"), in
    /// the largest whole unit; an instant after `now` (another node's clock) is "just now".
    pub fn ago(&self, at: UnixTime, now: UnixTime) -> String {
        let secs = now.saturating_sub(at).max(0);
        match secs {
            0..=59 => self.num_fmt("ago-seconds", &[], &[("n", secs)]),
            60..=3599 => self.num_fmt("ago-minutes", &[], &[("n", secs / 60)]),
            3600..=86_399 => self.num_fmt("ago-hours", &[], &[("n", secs / 3600)]),
            _ => self.num_fmt("ago-days", &[], &[("n", secs / 86_400)]),
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
            // Staging with no active key: the slug is `no_active_key`, the advice is to upload.
            ApiError::NoActiveKeyToSucceed => self.msg("err-no_active_key-successor"),
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

/// The catalogue id of the reason a key is malformed.
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
mod tests;
