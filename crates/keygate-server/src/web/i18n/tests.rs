//! The catalogues are complete, and every message the code names exists in each language.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use fluent_bundle::FluentResource;
use fluent_syntax::ast::Entry;

use super::*;

fn ids(lang: Lang) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for source in lang.sources() {
        let resource = FluentResource::try_new(source.to_string())
            .unwrap_or_else(|(_, e)| panic!("{} catalog does not parse: {e:?}", lang.code()));
        ids.extend(resource.entries().filter_map(|entry| match entry {
            Entry::Message(m) => Some(m.id.name.to_string()),
            Entry::Term(t) => Some(format!("-{}", t.id.name)),
            _ => None,
        }));
    }
    ids
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
        include_str!("../../../templates/base.html"),
        include_str!("../../../templates/login.html"),
        include_str!("../../../templates/page.html"),
        include_str!("../../../templates/key.html"),
        include_str!("../../../templates/revoke.html"),
        include_str!("../../../templates/activate.html"),
        include_str!("../../../templates/error.html"),
        include_str!("../../../templates/self_check.html"),
        include_str!("../../../templates/self_check_encryption.html"),
        include_str!("../handlers/mod.rs"),
        include_str!("../handlers/login.rs"),
        include_str!("../handlers/page.rs"),
        include_str!("../handlers/upload.rs"),
        include_str!("../handlers/revoke.rs"),
        include_str!("../handlers/successor.rs"),
        include_str!("../handlers/key.rs"),
        include_str!("../handlers/self_check.rs"),
        include_str!("../error.rs"),
        include_str!("../layer.rs"),
        include_str!("../mod.rs"),
        include_str!("../pages.rs"),
        include_str!("mod.rs"),
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
fn every_audit_event_type_has_words_in_every_language() {
    for lang in Lang::ALL {
        let t = Tr::new(lang);
        for event in keygate_core::audit::AuditEventType::ALL {
            let id = format!("event-{}", event.as_str().replace('.', "-"));
            assert!(
                t.try_format(&id, &[]).is_some(),
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
        ApiError::NoActiveKeyToSucceed,
        ApiError::SuccessorExists,
        ApiError::NoSuccessor,
        ApiError::ChallengeUnknown,
        ApiError::ChallengeUsed,
        ApiError::ChallengeExpired,
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
                !text.contains("err-") && !text.contains("malformed-") && !text.contains("weak-"),
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
    // Odd qualities are ignored or clamped, never a panic.
    assert_eq!(
        Lang::from_accept_language("el;q=NaN, es;q=inf"),
        Some(Lang::Es)
    );
    assert_eq!(
        Lang::from_accept_language("el;q=-1, es;q=x"),
        Some(Lang::Es)
    );
    // Only the first 32 ranges are read: a huge header costs no more than that.
    let huge = format!("{}el", "xx-YY;q=0.5,".repeat(10_000));
    assert_eq!(Lang::from_accept_language(&huge), None);
    let early = format!("es,{}", "xx-YY;q=0.5,".repeat(10_000));
    assert_eq!(Lang::from_accept_language(&early), Some(Lang::Es));
}

#[test]
fn accept_language_ranges_are_matched_to_the_offered_languages() {
    // Regions and case do not matter; `_` is read as `-`.
    assert_eq!(Lang::from_accept_language("el_GR"), Some(Lang::El));
    assert_eq!(Lang::from_accept_language("ES-mx, en"), Some(Lang::Es));
    assert_eq!(
        Lang::from_accept_language("en-US;q=0.5, el-CY;q=0.6"),
        Some(Lang::El)
    );
    // Equal qualities keep the header's order; a wildcard or a foreign tag chooses nothing.
    assert_eq!(Lang::from_accept_language("es, el"), Some(Lang::Es));
    assert_eq!(Lang::from_accept_language("*"), None);
    assert_eq!(Lang::from_accept_language("de-AT, pt;q=0.9"), None);
}

#[test]
fn english_texts_come_from_the_english_catalogue() {
    assert_eq!(
        english("err-invalid_credentials", &[]),
        Tr::new(Lang::En).try_format("err-invalid_credentials", &[])
    );
    assert!(english("err-rate_limited", &[("minutes", "15")]).is_some_and(|t| t.contains("15")));
    assert_eq!(english("no-such-message", &[]), None);
}
