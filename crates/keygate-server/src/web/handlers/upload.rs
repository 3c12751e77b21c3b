//! Upload: a pasted key or a chosen file, refused beside the form or stored.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::public_key::KeyRejection;

use super::page::main_page;
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
    let mut multipart = multipart.map_err(|_| WebError::bad_request("/"))?;
    let form = read_form(&mut multipart).await?;
    session.check_csrf(&form.csrf)?;
    // A chosen file wins over the paste area.
    let submitted = if form.file.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&form.file).into_owned()
    } else {
        form.pasted.clone()
    };
    let uploaded = state.registry.upload(&session.principal, &submitted).await;
    match uploaded.map_err(ApiError::from) {
        Ok(_) => Ok(redirect("/?done=uploaded")),
        Err(e @ (ApiError::Key(_) | ApiError::PublicKeyReused | ApiError::ActiveKeyExists)) => {
            // A private key is never echoed back: the box is emptied.
            let private = matches!(e, ApiError::Key(KeyRejection::PrivateKeySubmitted));
            let keep = if private || form.pasted.contains("PRIVATE KEY") {
                String::new()
            } else {
                form.pasted
            };
            main_page(&state, lang, &session, None, Some(e), keep).await
        }
        Err(e) => Err(e.into()),
    }
}
