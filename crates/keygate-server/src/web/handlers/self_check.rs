//! The self-check on the page (docs/design.md §5, "Self-check"; docs/web.md, "Self-check"):
//! `/self-check` runs the gateway's signature checks on the parts of a request a developer
//! pastes (the shared run of `crate::self_check`, in the page's language), and
//! `/self-check/encryption` hands out an encryption challenge and takes back its text (the
//! registry's rules, as the JSON API's routes do). The browser cannot sign or decrypt for the
//! developer (the private key stays on their servers), so the page checks what their program
//! made; `keygate client check` does both ends in one command.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use crate::error::ApiError;
use crate::self_check::{self, Attempt, SentSignature};
use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{
    AnswerOutcome, ChallengeView, CheckResults, CheckRow, Chrome, EncryptionCheckPage,
    MethodOption, SchemeView, SelfCheckPage,
};
use crate::web::session::WebSession;

/// The methods a gateway route can be called with (docs/design.md §7).
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The longest path and query the form takes: far beyond any route, short enough to show.
const MAX_PATH: usize = 2048;

/// The signed-request form's fields. The token is compared and dropped: never stored, logged
/// or put back into the page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignedRequestForm {
    csrf: String,
    method: String,
    path: String,
    body: String,
    newlines: String,
    signature: String,
    token: String,
}

/// The encryption answer's fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    challenge_id: String,
    plaintext: String,
}

fn page(lang: Lang, session: &WebSession, form: &SignedRequestForm) -> SelfCheckPage {
    let method = if form.method.is_empty() {
        "GET"
    } else {
        &form.method
    };
    SelfCheckPage {
        c: Chrome::new(lang, "selfcheck-title").logged_in(&session.principal, &session.csrf),
        csrf: session.csrf.clone(),
        methods: METHODS
            .into_iter()
            .map(|name| MethodOption {
                name,
                selected: name == method,
            })
            .collect(),
        path: form.path.clone(),
        body: form.body.clone(),
        crlf: form.newlines == "crlf",
        signature: form.signature.clone(),
        error: None,
        results: None,
    }
}

/// `GET /self-check`: the empty form.
pub async fn self_check_form(lang: Lang, session: WebSession) -> Result<Response, WebError> {
    render(
        StatusCode::OK,
        &page(lang, &session, &SignedRequestForm::default()),
    )
}

/// A path and query as a request line carries it: starts with `/`, visible ASCII only.
fn valid_path(path: &str) -> bool {
    path.starts_with('/') && path.len() <= MAX_PATH && path.bytes().all(|b| b.is_ascii_graphic())
}

/// `POST /self-check`: the form again, with every check's result (or what is wrong with the
/// form, 400).
pub async fn self_check(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    form: Result<Form<SignedRequestForm>, FormRejection>,
) -> Result<Response, WebError> {
    let t = Tr::new(lang);
    let form = match form {
        Ok(Form(form)) => form,
        // Over `max_body_bytes` (the form, body and all): said so, not taken for a stale form.
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let mut view = page(lang, &session, &SignedRequestForm::default());
            let max = state.settings.max_body_bytes.to_string();
            view.error = Some(t.fmt("selfcheck-body-too-large", &[("bytes", &max)]));
            return render(StatusCode::PAYLOAD_TOO_LARGE, &view);
        }
        Err(_) => SignedRequestForm::default(),
    };
    session.check_csrf(&form.csrf)?;
    let mut view = page(lang, &session, &form);
    let refuse = |mut view: SelfCheckPage, error: String| {
        view.error = Some(error);
        render(StatusCode::BAD_REQUEST, &view)
    };
    if !METHODS.contains(&form.method.as_str()) {
        return refuse(view, t.msg("selfcheck-bad-method"));
    }
    let path = form.path.trim();
    if !valid_path(path) {
        return refuse(view, t.msg("selfcheck-bad-path"));
    }
    // Browsers send a textarea's line breaks as CRLF (HTML's form submission rules); the
    // developer says which their program sends.
    let body = if view.crlf {
        form.body.clone()
    } else {
        form.body.replace("\r\n", "\n")
    };
    let api_key_id = session.principal.api_key.id;
    let token = form.token.trim();
    let bearer_token = if token.is_empty() {
        None
    } else {
        // Only a live token of this API key: the same answer for any other text, so the form
        // tells nothing about other API keys' tokens.
        match state.registry.session(token).await {
            Ok((principal, _)) if principal.api_key.id == api_key_id => Some(token),
            Ok(_) | Err(keygate_registry::RegistryError::SessionUnknown) => {
                return refuse(view, t.msg("selfcheck-bad-token"));
            }
            Err(e) => return Err(ApiError::from(e).into()),
        }
    };
    let signature = form.signature.trim();
    let signature = if signature.is_empty() {
        SentSignature::Missing
    } else if !signature.is_ascii() {
        SentSignature::NotAscii
    } else {
        SentSignature::Jws(signature)
    };
    let attempt = Attempt {
        method: &form.method,
        path_and_query: path,
        body: body.as_bytes(),
        signature,
        bearer_token,
    };
    let words = move |id: &str, args: &[(&str, &str)]| t.fmt(id, args);
    let report = self_check::check_signature(&state, api_key_id, &attempt, &words).await?;
    view.results = Some(CheckResults {
        all_ok: report.ok,
        rows: report
            .checks
            .into_iter()
            .map(|c| CheckRow {
                name: c.check.as_str(),
                ok: c.ok,
                detail: c.detail,
            })
            .collect(),
    });
    render(StatusCode::OK, &view)
}

fn encryption_page(
    lang: Lang,
    session: &WebSession,
    challenge: Option<ChallengeView>,
    outcome: Option<AnswerOutcome>,
) -> EncryptionCheckPage {
    EncryptionCheckPage {
        c: Chrome::new(lang, "selfcheck-encryption-title")
            .logged_in(&session.principal, &session.csrf),
        csrf: session.csrf.clone(),
        challenge,
        outcome,
    }
}

/// The openssl command that decrypts a raw RSA ciphertext (standard base64) with the
/// developer's private key, `private.pem`.
fn openssl_command(ciphertext: &str, padding: &str) -> String {
    format!(
        "printf '%s' '{ciphertext}' | openssl base64 -d -A | openssl pkeyutl -decrypt -inkey private.pem {padding}"
    )
}

/// `GET /self-check/encryption`: a new challenge (at most 16 are open per API key; this one
/// drops the oldest), or why there is none.
pub async fn encryption_form(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
) -> Result<Response, WebError> {
    let t = Tr::new(lang);
    let challenge = match state
        .registry
        .new_challenge(session.principal.api_key.id)
        .await
        .map_err(ApiError::from)
    {
        Ok(challenge) => challenge,
        Err(error @ ApiError::NoActiveKey) => {
            let outcome = AnswerOutcome {
                ok: false,
                text: t.error(&error),
            };
            return render(
                error.status(),
                &encryption_page(lang, &session, None, Some(outcome)),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let intro = t.fmt(
        "selfcheck-encryption-intro",
        &[
            ("kid", &challenge.key_id.to_string()),
            ("when", &t.date_time(challenge.expires_at)),
        ],
    );
    let oaep =
        "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256";
    let pkcs1 = "-pkeyopt rsa_padding_mode:pkcs1";
    let schemes = vec![
        SchemeView {
            name: "jwe",
            label: t.msg("selfcheck-scheme-jwe"),
            openssl: None,
            ciphertext: challenge.jwe,
        },
        SchemeView {
            name: "rsa-oaep-256",
            label: t.msg("selfcheck-scheme-oaep"),
            openssl: Some(openssl_command(&challenge.rsa_oaep_256, oaep)),
            ciphertext: challenge.rsa_oaep_256,
        },
        SchemeView {
            name: "rsa-pkcs1",
            label: t.msg("selfcheck-scheme-pkcs1"),
            openssl: Some(openssl_command(&challenge.rsa_pkcs1, pkcs1)),
            ciphertext: challenge.rsa_pkcs1,
        },
    ];
    let view = ChallengeView {
        id: challenge.id.to_string(),
        intro,
        schemes,
    };
    render(
        StatusCode::OK,
        &encryption_page(lang, &session, Some(view), None),
    )
}

/// `POST /self-check/encryption`: right or not, in words; a challenge that is unknown, used
/// or expired is said so (409/410/404 as on the API). Any answer uses the challenge up.
pub async fn answer_encryption(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    session.check_csrf(&form.csrf)?;
    let t = Tr::new(lang);
    let answered = state
        .registry
        .answer_challenge(
            session.principal.api_key.id,
            form.challenge_id.trim(),
            form.plaintext.trim(),
        )
        .await
        .map_err(ApiError::from);
    let (status, outcome) = match answered {
        Ok(true) => (
            StatusCode::OK,
            AnswerOutcome {
                ok: true,
                text: t.msg("selfcheck-answer-ok"),
            },
        ),
        Ok(false) => (
            StatusCode::OK,
            AnswerOutcome {
                ok: false,
                text: t.msg("selfcheck-answer-wrong"),
            },
        ),
        Err(
            error @ (ApiError::ChallengeUnknown
            | ApiError::ChallengeUsed
            | ApiError::ChallengeExpired),
        ) => (
            error.status(),
            AnswerOutcome {
                ok: false,
                text: t.error(&error),
            },
        ),
        Err(e) => return Err(e.into()),
    };
    render(
        status,
        &encryption_page(lang, &session, None, Some(outcome)),
    )
}
