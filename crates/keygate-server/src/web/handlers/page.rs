//! The page: the active key, the expiry banner, the staged successor, the status table, the
//! stage-successor form and the upload form.

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
use crate::web::pages::{self, ActiveView, Chrome, KeyForm, MainPage};
use crate::web::session::WebSession;

const DAY: i64 = 24 * 3600;

/// Which form a refusal is shown beside.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FormAt {
    /// The upload form (`POST /upload`).
    Upload,
    /// The stage-successor form (`POST /successor`), also where a refused withdrawal or
    /// activation is shown.
    Successor,
}

/// A refusal shown on the page beside its form, with the paste that form keeps.
pub(super) struct Refusal {
    pub at: FormAt,
    pub error: ApiError,
    pub pasted: String,
}

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
        Some("staged") => Some(t.msg("notice-staged")),
        Some("withdrawn") => Some(t.msg("notice-withdrawn")),
        Some("activated") => Some(t.msg("notice-activated")),
        _ => None,
    };
    main_page(&state, lang, &session, notice, None).await
}

/// Events the "Activity" section shows, newest first (the API pages through the rest).
const ACTIVITY_EVENTS: u32 = 10;

/// The page, with an optional notice, or a refusal shown beside its form.
pub(super) async fn main_page(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
    notice: Option<String>,
    refusal: Option<Refusal>,
) -> Result<Response, WebError> {
    let table = state
        .registry
        .key_table(session.principal.api_key.id)
        .await?;
    let (keys, now) = (&table.keys, table.now);
    let activity = state
        .registry
        .api_key_trail(session.principal.api_key.id, None, ACTIVITY_EVENTS)
        .await?;
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
    // The registry's `key_expiry_warning` rule, the same as the gateway's header: none while a
    // successor is staged (docs/design.md §2, "Rotation").
    let banner = state
        .registry
        .expiry_warning(&current, now)
        .map(|expires_at| expiry_banner(t, expires_at, now));
    let successor = current.successor().map(|k| {
        t.fmt(
            "successor-summary",
            &[
                (
                    "fingerprint",
                    &pages::short_fingerprint(&k.fingerprint_sha256),
                ),
                ("when", &t.date_time(k.activates_at)),
            ],
        )
    });
    let no_active_detail = match (active_record, current.newest()) {
        (Some(_), _) => None,
        (None, None) => Some(t.msg("no-key-yet")),
        (None, Some(last)) => Some(match last.revoked_by(now) {
            Some(at) => t.fmt("last-key-revoked", &[("when", &t.date_time(at))]),
            None => t.fmt("last-key-expired", &[("date", &t.date(last.expires_at))]),
        }),
    };
    let (mut upload, mut stage) = (KeyForm::default(), KeyForm::default());
    let status = match refusal {
        Some(Refusal { at, error, pasted }) => {
            let (status, _, slug) = error.parts();
            let form = match at {
                FormAt::Upload => &mut upload,
                FormAt::Successor => &mut stage,
            };
            *form = KeyForm {
                error: Some(t.error(&error)),
                error_slug: slug,
                pasted,
            };
            status
        }
        None => StatusCode::OK,
    };
    let page = MainPage {
        c: Chrome::new(lang, "page-title").logged_in(&session.principal, &session.csrf),
        csrf: session.csrf.clone(),
        notice,
        banner,
        active,
        no_active_detail,
        successor,
        upload,
        stage,
        rows: keys
            .iter()
            .map(|k| pages::row_view(t, k, now, &table.usage_of(k.id)))
            .collect(),
        activity: activity
            .iter()
            .map(|e| pages::activity_view(t, e, session.principal.api_key.id))
            .collect(),
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
