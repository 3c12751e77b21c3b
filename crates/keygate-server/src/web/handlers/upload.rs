//! Upload: a pasted key or a chosen file, refused beside the form or stored — for the upload
//! form and the stage-successor form alike.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::public_key::KeyRejection;

use super::page::{main_page, FormAt, Refusal};
use super::redirect;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::i18n::Lang;
use crate::web::session::WebSession;

/// The upload form's fields.
#[derive(Default)]
struct UploadForm {
    csrf: String,
    pasted: String,
    file: Vec<u8>,
}

/// Read the multipart form; a body too large or unreadable is the error page.
async fn read_form(multipart: &mut Multipart) -> Result<UploadForm, WebError> {
    let mut form = UploadForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(form),
            Err(e) => {
                let id = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "err-payload_too_large"
                } else {
                    "err-invalid_request"
                };
                return Err(WebError::page(e.status(), id, "/"));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| WebError::page(e.status(), "err-invalid_request", "/"))?;
        match name.as_str() {
            "csrf" => form.csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "public_key" => form.pasted = String::from_utf8_lossy(&bytes).into_owned(),
            "key_file" => form.file = bytes.to_vec(),
            _ => {}
        }
    }
}

/// `POST /upload`: see other `/?done=uploaded`, or the page with the refusal.
pub async fn upload(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    receive_key(&state, lang, &session, multipart, FormAt::Upload).await
}

/// A key form's POST, for the upload form and the stage-successor form alike: read the form,
/// check its CSRF token, hand the key to the registry (`upload` or `stage_successor`), then
/// see other `/?done=…`, or the page with the refusal beside the form that was sent.
pub(super) async fn receive_key(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
    multipart: Result<Multipart, MultipartRejection>,
    at: FormAt,
) -> Result<Response, WebError> {
    let mut multipart = multipart.map_err(|_| WebError::bad_request("/"))?;
    let form = read_form(&mut multipart).await?;
    session.check_csrf(&form.csrf)?;
    // A chosen file wins over the paste area.
    let submitted = if form.file.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&form.file).into_owned()
    } else {
        form.pasted.clone()
    };
    let (received, done) = match at {
        FormAt::Upload => (
            state
                .registry
                .upload(&session.principal, &submitted, &session.origin)
                .await,
            "/?done=uploaded",
        ),
        FormAt::Successor => (
            state
                .registry
                .stage_successor(&session.principal, &submitted, &session.origin)
                .await,
            "/?done=staged",
        ),
    };
    match received.map_err(ApiError::from) {
        Ok(_) => Ok(redirect(done)),
        Err(
            error @ (ApiError::Key(_)
            | ApiError::PublicKeyReused
            | ApiError::ActiveKeyExists
            | ApiError::NoActiveKeyToSucceed
            | ApiError::SuccessorExists),
        ) => {
            // A private key is never echoed back: the box is emptied.
            let private = matches!(error, ApiError::Key(KeyRejection::PrivateKeySubmitted));
            let pasted = if private || form.pasted.contains("PRIVATE KEY") {
                String::new()
            } else {
                form.pasted
            };
            let refusal = Refusal { at, error, pasted };
            main_page(state, lang, session, None, Some(refusal)).await
        }
        Err(e) => Err(e.into()),
    }
}
