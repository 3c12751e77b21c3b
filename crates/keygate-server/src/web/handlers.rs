//! The page's routes: thin handlers over `auth` and `registry`, as the JSON API's are.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use keygate_core::model::UnixTime;
use keygate_core::public_key::KeyRejection;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::{Lang, Tr};
use super::pages::{self, ActiveView, Chrome, KeyDetail, KeyPage, LoginPage, MainPage, RevokePage};
use super::session::{self, WebSession};
use super::{error_page, internal, render};
use crate::auth::{self, client_address, PeerAddress};
use crate::error::ApiError;
use crate::state::AppState;
use keygate_registry::RegistryError;

const DAY: i64 = 24 * 3600;
/// The active key's expiry is announced this long before it happens.
const EXPIRY_WARNING: i64 = 30 * DAY;
/// How long the pre-login CSRF secret lives.
const LOGIN_COOKIE_AGE: u64 = 12 * 3600;

fn redirect(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Send a visitor without a live session to the login page (clearing a stale cookie).
fn to_login(state: &AppState, headers: &HeaderMap) -> Response {
    let mut response = redirect("/login");
    if session::cookie(headers, session::SESSION_COOKIE).is_some() {
        if let Some(cookie) = session::clear_session_cookie(state) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

fn forbidden(lang: Lang, back: &'static str) -> Response {
    error_page(lang, StatusCode::FORBIDDEN, "err-csrf", back)
}

/// The session of the request, or the response to send instead (redirect or error page).
async fn require_session(
    state: &AppState,
    lang: Lang,
    headers: &HeaderMap,
) -> Result<WebSession, Response> {
    match session::current(state, headers).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(to_login(state, headers)),
        Err(e) => Err(internal(lang, e)),
    }
}

// ---- login and logout ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    api_key: String,
    password: String,
}

fn login_page(
    lang: Lang,
    secret: &str,
    api_key: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        status,
        &LoginPage {
            c: Chrome::new(lang, "login-title"),
            csrf: session::csrf_token(secret),
            api_key: api_key.to_string(),
            error,
        },
    )
}

pub async fn login_form(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
) -> Response {
    match session::current(&state, &headers).await {
        Ok(Some(_)) => return redirect("/"),
        Ok(None) => {}
        Err(e) => return internal(lang, e),
    }
    let existing = session::cookie(&headers, session::LOGIN_COOKIE).map(str::to_string);
    let secret = match existing {
        Some(secret) => secret,
        None => match auth::random_secret(32) {
            Ok(secret) => secret,
            Err(e) => return internal(lang, e.into()),
        },
    };
    let mut response = login_page(lang, &secret, "", None, StatusCode::OK);
    let cookie = session::set_cookie(
        session::LOGIN_COOKIE,
        &secret,
        LOGIN_COOKIE_AGE,
        true,
        "Strict",
        state.settings.cookie_secure,
    );
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn login(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(
            lang,
            StatusCode::BAD_REQUEST,
            "err-invalid_request",
            "/login",
        );
    };
    let Some(secret) = session::cookie(&headers, session::LOGIN_COOKIE) else {
        return forbidden(lang, "/login");
    };
    if !session::csrf_ok(secret, &form.csrf) {
        return forbidden(lang, "/login");
    }
    let t = Tr::new(lang);
    let api_key = form.api_key.trim();
    if api_key.is_empty()
        || form.password.is_empty()
        || api_key.len() > 256
        || form.password.len() > 1024
    {
        let message = t.msg("err-login-missing");
        return login_page(
            lang,
            secret,
            api_key,
            Some(message),
            StatusCode::BAD_REQUEST,
        );
    }
    if api_key.chars().any(char::is_control) {
        // No API key holds one (and PostgreSQL text cannot hold NUL): wrong, and not echoed.
        let e = ApiError::InvalidCredentials;
        return login_page(lang, secret, "", Some(t.error(&e)), e.parts().0);
    }
    let address = client_address(&headers, peer, state.settings.trust_forwarded_for);
    let login = state.registry.login(api_key, &form.password, address).await;
    match login.map_err(ApiError::from) {
        Ok(new_session) => {
            let mut response = redirect("/");
            if let Some(cookie) =
                session::session_cookie(&state, &new_session.token, new_session.expires_in)
            {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(
            e @ (ApiError::InvalidCredentials
            | ApiError::RateLimited { .. }
            | ApiError::LoginBusy { .. }),
        ) => {
            let (status, _, _) = e.parts();
            let mut response = login_page(lang, secret, api_key, Some(t.error(&e)), status);
            if let Some(retry_after) = e.retry_after() {
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            response
        }
        Err(e) => internal(lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !session.csrf_ok(&csrf) {
        return forbidden(lang, "/");
    }
    if let Err(e) = state.registry.logout(&session.token_hash).await {
        return internal(lang, e.into());
    }
    let mut response = redirect("/login");
    if let Some(cookie) = session::clear_session_cookie(&state) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

// ---- the page ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let t = Tr::new(lang);
    let notice = match query.ok().and_then(|Query(q)| q.done).as_deref() {
        Some("uploaded") => Some(t.msg("notice-uploaded")),
        Some("revoked") => Some(t.msg("notice-revoked")),
        _ => None,
    };
    main_page(&state, lang, &session, notice, None, String::new()).await
}

/// The page, with an optional notice, or an upload refusal shown beside the form.
async fn main_page(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
    notice: Option<String>,
    refusal: Option<ApiError>,
    pasted: String,
) -> Response {
    let table = match state.registry.key_table(session.principal.api_key.id).await {
        Ok(table) => table,
        Err(e) => return internal(lang, e.into()),
    };
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
    let no_active_detail = match (active_record, keys.first()) {
        (Some(_), _) => None,
        (None, None) => Some(t.msg("no-key-yet")),
        (None, Some(last)) => Some(match last.revoked_at {
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

// ---- upload ----

pub async fn upload(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(mut multipart) = multipart else {
        return error_page(lang, StatusCode::BAD_REQUEST, "err-invalid_request", "/");
    };
    let mut csrf = String::new();
    let mut pasted = String::new();
    let mut file: Vec<u8> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let id = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "err-payload_too_large"
                } else {
                    "err-invalid_request"
                };
                return error_page(lang, e.status(), id, "/");
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return error_page(lang, e.status(), "err-invalid_request", "/"),
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "public_key" => pasted = String::from_utf8_lossy(&bytes).into_owned(),
            "key_file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    if !session.csrf_ok(&csrf) {
        return forbidden(lang, "/");
    }
    // A chosen file wins over the paste area.
    let submitted = if file.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&file).into_owned()
    } else {
        pasted.clone()
    };
    let uploaded = state.registry.upload(&session.principal, &submitted).await;
    match uploaded.map_err(ApiError::from) {
        Ok(_) => redirect("/?done=uploaded"),
        Err(e @ (ApiError::Key(_) | ApiError::PublicKeyReused | ApiError::ActiveKeyExists)) => {
            // A private key is never echoed back: the box is emptied.
            let private = matches!(e, ApiError::Key(KeyRejection::PrivateKeySubmitted));
            let keep = if private || pasted.contains("PRIVATE KEY") {
                String::new()
            } else {
                pasted
            };
            main_page(&state, lang, &session, None, Some(e), keep).await
        }
        Err(e) => internal(lang, e),
    }
}

// ---- revoke ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

fn revoke_page(
    lang: Lang,
    session: &WebSession,
    question: String,
    reason: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        status,
        &RevokePage {
            c: Chrome::new(lang, "revoke-title").logged_in(&session.principal, &session.csrf),
            csrf: session.csrf.clone(),
            question,
            reason: reason.to_string(),
            error,
        },
    )
}

/// "Revoke the key … issued on …?", or `None` when there is no active key to revoke.
async fn revoke_question(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
) -> Result<Option<String>, ApiError> {
    let t = Tr::new(lang);
    let current = state
        .registry
        .current_key(session.principal.api_key.id)
        .await?;
    Ok(current.active().map(|k| {
        t.fmt(
            "revoke-question",
            &[
                (
                    "fingerprint",
                    &pages::short_fingerprint(&k.fingerprint_sha256),
                ),
                ("issued", &t.date(k.issued_at)),
            ],
        )
    }))
}

pub async fn revoke_form(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match revoke_question(&state, lang, &session).await {
        Ok(Some(question)) => revoke_page(lang, &session, question, "", None, StatusCode::OK),
        Ok(None) => redirect("/"),
        Err(e) => internal(lang, e),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !session.csrf_ok(&form.csrf) {
        return forbidden(lang, "/");
    }
    let api_key_id = session.principal.api_key.id;
    let revoked = state.registry.revoke(api_key_id, Some(&form.reason)).await;
    match revoked.map_err(ApiError::from) {
        Ok(_) => redirect("/?done=revoked"),
        Err(ApiError::NoActiveKey) => redirect("/"),
        Err(ApiError::InvalidRequest(_)) => match revoke_question(&state, lang, &session).await {
            Ok(Some(question)) => {
                let message = Tr::new(lang).msg("err-reason-invalid");
                revoke_page(
                    lang,
                    &session,
                    question,
                    &form.reason,
                    Some(message),
                    StatusCode::BAD_REQUEST,
                )
            }
            Ok(None) => redirect("/"),
            Err(e) => internal(lang, e),
        },
        Err(e) => internal(lang, e),
    }
}

// ---- view key ----

pub async fn view_key(
    State(state): State<AppState>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match require_session(&state, lang, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(lang, StatusCode::NOT_FOUND, "err-not_found", "/");
    };
    let record = match state.registry.key(session.principal.api_key.id, id).await {
        Ok(record) => record,
        Err(RegistryError::UnknownKey) => {
            return error_page(lang, StatusCode::NOT_FOUND, "err-not_found", "/")
        }
        Err(e) => return internal(lang, e.into()),
    };
    let t = Tr::new(lang);
    let now = state.now();
    let page = KeyPage {
        c: Chrome::new(lang, "key-title").logged_in(&session.principal, &session.csrf),
        k: KeyDetail {
            row: pages::row_view(t, &record, now),
            thumbprint: record.jwk_thumbprint.clone(),
            bits: record.bits,
            exponent: record.exponent,
            pem: record.public_key_pem.clone(),
        },
    };
    render(StatusCode::OK, &page)
}
