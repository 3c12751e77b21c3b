//! The page: the active key, the expiry banner, the status table and the upload form.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::model::UnixTime;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{self, ActiveView, Chrome, MainPage};
use crate::web::session::WebSession;

const DAY: i64 = 24 * 3600;
/// The active key's expiry is announced this long before it happens.
const EXPIRY_WARNING: i64 = 30 * DAY;

/// `?done=`: the notice after an upload or a revocation.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PageQuery {
    done: Option<String>,
}

/// `GET /`: the page.
pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let t = Tr::new(lang);
    let notice = match query.ok().and_then(|Query(q)| q.done).as_deref() {
        Some("uploaded") => Some(t.msg("notice-uploaded")),
        Some("revoked") => Some(t.msg("notice-revoked")),
        _ => None,
    };
    main_page(&state, lang, &session, notice, None, String::new()).await
}

/// The page, with an optional notice, or an upload refusal shown beside the form.
pub(super) async fn main_page(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
    notice: Option<String>,
    refusal: Option<ApiError>,
    pasted: String,
) -> Result<Response, WebError> {
    let table = state
        .registry
        .key_table(session.principal.api_key.id)
        .await?;
    let (keys, now) = (&table.keys, table.now);
    let t = Tr::new(lang);
    // The registry's one definition of the active key.
    let current = table.current();
    let active_record = current.active();
    let active = active_record.map(|k| ActiveView {
        summary: t.fmt(
            "active-summary",
            &[
                (
                    "fingerprint",
                    &pages::short_fingerprint(&k.fingerprint_sha256),
                ),
                ("issued", &t.date(k.issued_at)),
                ("expires", &t.date(k.expires_at)),
            ],
        ),
    });
    let banner = active_record
        .filter(|k| k.expires_at - now <= EXPIRY_WARNING)
        .map(|k| expiry_banner(t, k.expires_at, now));
    let no_active_detail = match (active_record, current.newest()) {
        (Some(_), _) => None,
        (None, None) => Some(t.msg("no-key-yet")),
        (None, Some(last)) => Some(match last.revoked_by(now) {
            Some(at) => t.fmt("last-key-revoked", &[("when", &t.date_time(at))]),
            None => t.fmt("last-key-expired", &[("date", &t.date(last.expires_at))]),
        }),
    };
    let (status, error, error_slug) = match &refusal {
        Some(e) => {
            let (status, _, slug) = e.parts();
            (status, Some(t.error(e)), slug)
        }
        None => (StatusCode::OK, None, ""),
    };
    let page = MainPage {
        c: Chrome::new(lang, "page-title").logged_in(&session.principal, &session.csrf),
        csrf: session.csrf.clone(),
        notice,
        banner,
        active,
        no_active_detail,
        error,
        error_slug,
        pasted,
        rows: keys.iter().map(|k| pages::row_view(t, k, now)).collect(),
    };
    render(status, &page)
}

fn expiry_banner(t: Tr, expires_at: UnixTime, now: UnixTime) -> String {
    let days = ((expires_at - now).max(0) + DAY - 1) / DAY;
    t.fmt(
        "expiry-banner",
        &[("date", &t.date(expires_at)), ("days", &days.to_string())],
    )
}
