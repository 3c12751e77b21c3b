//! The JSON API's texts: `locales/en/api.ftl`, embedded at build time and keyed by slug, so
//! each text lives once (docs/architecture.md, "Texts for people"). The web page's texts are in
//! `locales/*/keygate.ftl` (`web::i18n`).

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

static CATALOG: LazyLock<FluentBundle<FluentResource>> = LazyLock::new(|| {
    let en: unic_langid::LanguageIdentifier = "en".parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![en]);
    // Plain text for JSON: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    let source = include_str!("../locales/en/api.ftl").to_string();
    let resource = FluentResource::try_new(source).unwrap_or_else(|(resource, errors)| {
        tracing::error!(?errors, "the API catalog has syntax errors");
        resource
    });
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(?errors, "the API catalog has duplicate messages");
    }
    bundle
});

/// The API's text for `id` (a slug, or a slug and a variant) with its arguments, or `None`
/// when the catalog lacks it.
pub fn try_message(id: &str, args: &[(&str, &str)]) -> Option<String> {
    let pattern = CATALOG.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, FluentValue::from(*value));
    }
    let mut errors = Vec::new();
    let text = CATALOG
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned();
    if !errors.is_empty() {
        tracing::warn!(id, ?errors, "API message formatted with errors");
    }
    Some(text)
}

/// The API's text for `id`; a missing id shows the id (and the catalog test fails).
pub fn message(id: &str, args: &[(&str, &str)]) -> String {
    try_message(id, args).unwrap_or_else(|| {
        tracing::warn!(id, "missing API message");
        id.to_string()
    })
}
