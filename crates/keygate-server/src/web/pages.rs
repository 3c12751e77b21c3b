//! The page templates (askama, auto-escaped HTML) and the view models they show.

use askama::Template;
use keygate_core::audit::AuditEvent;
use keygate_core::model::{KeyRecord, KeyStatus, KeyUsage, Principal, UnixTime};

use super::i18n::{Lang, Tr};

/// One entry of the language switcher.
pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

/// What every page shares: language, title, who is logged in and the logout form's token.
pub struct Chrome {
    pub t: Tr,
    pub lang: &'static str,
    pub title: String,
    pub langs: Vec<LangLink>,
    pub who: Option<String>,
    pub csrf: String,
}

impl Chrome {
    pub fn new(lang: Lang, title_id: &str) -> Chrome {
        let t = Tr::new(lang);
        Chrome {
            t,
            lang: lang.code(),
            title: t.msg(title_id),
            langs: Lang::ALL
                .into_iter()
                .map(|l| LangLink {
                    code: l.code(),
                    name: l.native_name(),
                    current: l == lang,
                })
                .collect(),
            who: None,
            csrf: String::new(),
        }
    }

    /// The header of a logged-in page: who, and the logout form.
    pub fn logged_in(mut self, principal: &Principal, csrf: &str) -> Chrome {
        self.who = Some(self.t.fmt(
            "who",
            &[
                ("client", &principal.client.name),
                ("apikey", &principal.api_key.alias),
            ],
        ));
        self.csrf = csrf.to_string();
        self
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub c: Chrome,
    pub csrf: String,
    pub api_key: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "page.html")]
pub struct MainPage {
    pub c: Chrome,
    pub csrf: String,
    pub notice: Option<String>,
    pub banner: Option<String>,
    pub active: Option<ActiveView>,
    pub no_active_detail: Option<String>,
    /// The staged successor while it is PENDING.
    pub successor: Option<String>,
    /// The upload form: `POST /upload`.
    pub upload: KeyForm,
    /// The stage-successor form (`POST /successor`), also where a refused withdrawal or
    /// activation is shown.
    pub stage: KeyForm,
    pub rows: Vec<RowView>,
    /// The newest events of the API key's audit trail (docs/design.md §11).
    pub activity: Vec<ActivityView>,
}

/// A line of the "Activity" section, already in the page's language.
pub struct ActivityView {
    /// The event's type name (`data-event`, a test hook).
    pub event_type: String,
    pub when: String,
    pub what: String,
    pub who: String,
    pub from: String,
}

/// An audit event in the visitor's words: the event type from `event-<type>` (an unknown one
/// shown as stored), who did it (this API key is "you"; an operator is never named) and from
/// where.
pub fn activity_view(t: Tr, event: &AuditEvent, me: uuid::Uuid) -> ActivityView {
    let id = format!("event-{}", event.event_type.replace('.', "-"));
    let what = t
        .try_format(&id, &[])
        .unwrap_or_else(|| event.event_type.clone());
    let who = if event.actor == format!("api_key:{me}") {
        t.msg("actor-you")
    } else if event.actor.starts_with("operator:") {
        t.msg("actor-operator")
    } else if event.actor == "keygate" {
        t.msg("actor-keygate")
    } else {
        t.msg("actor-other")
    };
    ActivityView {
        event_type: event.event_type.clone(),
        when: t.date_time(event.at),
        what,
        who,
        from: event.source.clone().unwrap_or_default(),
    }
}

/// A form that takes a public key (paste area or file): its refusal, if any, and the paste
/// it keeps. The upload form and the stage-successor form are the same form (the `key_form`
/// macro of `page.html`) posted to different routes.
#[derive(Default)]
pub struct KeyForm {
    pub error: Option<String>,
    /// The refusal's slug (`data-slug`, a test hook), or empty.
    pub error_slug: &'static str,
    pub pasted: String,
}

#[derive(Template)]
#[template(path = "activate.html")]
pub struct ActivatePage {
    pub c: Chrome,
    pub csrf: String,
    pub question: String,
    pub consequence: String,
}

#[derive(Template)]
#[template(path = "key.html")]
pub struct KeyPage {
    pub c: Chrome,
    pub k: KeyDetail,
}

#[derive(Template)]
#[template(path = "revoke.html")]
pub struct RevokePage {
    pub c: Chrome,
    pub csrf: String,
    pub question: String,
    pub reason: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub heading: String,
    pub message: String,
    pub back_href: &'static str,
}

pub struct ActiveView {
    pub summary: String,
}

/// A row of the status table, already formatted for the page's language.
pub struct RowView {
    pub id: String,
    pub fingerprint: String,
    pub fingerprint_short: String,
    pub issued: String,
    pub expires: String,
    pub status: String,
    /// `pending`, `active`, `retiring`, `expired`, `revoked`, `withdrawn`: a CSS class and a
    /// test hook.
    pub status_code: &'static str,
    pub revoked: Option<String>,
    /// When the status changes next, or changed last for a withdrawn key (pending: activates;
    /// retiring: revoked at; withdrawn: when), in the page's language.
    pub change: Option<String>,
    /// What the gateway counted for the key (docs/design.md §5, "Usage").
    pub usage: UsageView,
}

/// A key's usage in words: "Last used 3 minutes ago", the counts, "Last refusal:
/// signature_stale, 3 minutes ago".
pub struct UsageView {
    pub last_used: String,
    /// The counts, when any call was counted.
    pub counts: Option<String>,
    pub last_refusal: Option<String>,
    /// The last refusal's slug (`data-slug`, a test hook), or empty.
    pub last_refusal_slug: String,
}

/// A key's usage, said at `now`.
pub fn usage_view(t: Tr, usage: &KeyUsage, now: UnixTime) -> UsageView {
    let refused: u64 = usage.refusals.iter().map(|(_, n)| *n).sum();
    let number = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    UsageView {
        last_used: match usage.last_used_at {
            Some(at) => t.fmt("usage-last-used", &[("ago", &t.ago(at, now))]),
            None => t.msg("usage-never"),
        },
        counts: (usage.accepted > 0 || refused > 0).then(|| {
            t.num_fmt(
                "usage-counts",
                &[],
                &[
                    ("accepted", number(usage.accepted)),
                    ("refused", number(refused)),
                ],
            )
        }),
        last_refusal: usage.last_refusal.as_ref().map(|(slug, at)| {
            t.fmt(
                "usage-last-refusal",
                &[("slug", slug), ("ago", &t.ago(*at, now))],
            )
        }),
        last_refusal_slug: usage
            .last_refusal
            .as_ref()
            .map(|(slug, _)| slug.clone())
            .unwrap_or_default(),
    }
}

pub struct KeyDetail {
    pub row: RowView,
    pub thumbprint: String,
    pub bits: u32,
    pub exponent: u64,
    pub pem: String,
}

/// The first eight bytes of a colon-separated fingerprint, then an ellipsis.
pub fn short_fingerprint(fingerprint: &str) -> String {
    let bytes: Vec<&str> = fingerprint.split(':').collect();
    if bytes.len() <= 8 {
        fingerprint.to_string()
    } else {
        format!("{}…", bytes[..8].join(":"))
    }
}

pub fn status_code(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Pending => "pending",
        KeyStatus::Active => "active",
        KeyStatus::Retiring => "retiring",
        KeyStatus::Expired => "expired",
        KeyStatus::Revoked => "revoked",
        KeyStatus::Withdrawn => "withdrawn",
    }
}

pub fn row_view(t: Tr, record: &KeyRecord, now: UnixTime, usage: &KeyUsage) -> RowView {
    let status = record.status(now);
    let code = status_code(status);
    // A retiring key's revocation is in the future: shown as its change, not as revoked.
    let revoked = record.revoked_by(now).map(|at| {
        let when = t.date_time(at);
        match record.revoke_reason.as_deref() {
            Some(reason) if !reason.is_empty() => {
                t.fmt("revoked-on-because", &[("when", &when), ("reason", reason)])
            }
            _ => t.fmt("revoked-on", &[("when", &when)]),
        }
    });
    RowView {
        id: record.id.to_string(),
        fingerprint: record.fingerprint_sha256.clone(),
        fingerprint_short: short_fingerprint(&record.fingerprint_sha256),
        issued: t.date(record.issued_at),
        expires: t.date(record.expires_at),
        status: t.msg(&format!("status-{code}")),
        status_code: code,
        revoked,
        change: match status {
            KeyStatus::Pending => Some(t.fmt(
                "pending-activates",
                &[("when", &t.date_time(record.activates_at))],
            )),
            KeyStatus::Retiring => record
                .retires_at(now)
                .map(|at| t.fmt("retiring-until", &[("when", &t.date_time(at))])),
            KeyStatus::Withdrawn => record
                .withdrawn_at
                .map(|at| t.fmt("withdrawn-on", &[("when", &t.date_time(at))])),
            _ => None,
        },
        usage: usage_view(t, usage, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_shortened() {
        let fp = "00:11:22:33:44:55:66:77:88:99";
        assert_eq!(short_fingerprint(fp), "00:11:22:33:44:55:66:77…");
        assert_eq!(short_fingerprint("aa:bb"), "aa:bb");
    }

    #[test]
    fn usage_is_said_in_relative_words_in_every_language() {
        let usage = KeyUsage {
            accepted: 12,
            last_used_at: Some(1_000),
            refusals: vec![("signature_stale".into(), 2)],
            last_refusal: Some(("signature_stale".into(), 1_000 - 120)),
        };
        let said = |lang| usage_view(Tr::new(lang), &usage, 1_000 + 60);
        let en = said(Lang::En);
        assert_eq!(en.last_used, "Last used 1 minute ago");
        assert_eq!(en.counts.as_deref(), Some("12 calls accepted, 2 refused"));
        assert_eq!(
            en.last_refusal.as_deref(),
            Some("Last refusal: signature_stale, 3 minutes ago")
        );
        let el = said(Lang::El);
        assert_eq!(el.last_used, "Τελευταία χρήση: πριν από 1 λεπτό");
        assert_eq!(
            el.last_refusal.as_deref(),
            Some("Τελευταία απόρριψη: signature_stale, πριν από 3 λεπτά")
        );
        let es = said(Lang::Es);
        assert_eq!(
            es.counts.as_deref(),
            Some("12 llamadas aceptadas, 2 rechazadas")
        );
        assert_eq!(
            es.last_refusal.as_deref(),
            Some("Último rechazo: signature_stale, hace 3 minutos")
        );
        let t = Tr::new(Lang::En);
        assert_eq!(t.ago(50, 50), "just now");
        assert_eq!(
            t.ago(60, 50),
            "just now",
            "another node's clock a little ahead"
        );
        assert_eq!(t.ago(0, 1), "1 second ago");
        assert_eq!(t.ago(0, 7200), "2 hours ago");
        assert_eq!(t.ago(0, 86_400), "1 day ago");
        let never = usage_view(t, &KeyUsage::default(), 0);
        assert_eq!(never.last_used, "Never used");
        assert!(never.counts.is_none() && never.last_refusal.is_none());
    }

    #[test]
    fn every_status_has_a_label() {
        for lang in Lang::ALL {
            for status in [
                KeyStatus::Pending,
                KeyStatus::Active,
                KeyStatus::Retiring,
                KeyStatus::Expired,
                KeyStatus::Revoked,
                KeyStatus::Withdrawn,
            ] {
                let id = format!("status-{}", status_code(status));
                assert!(
                    Tr::new(lang).try_format(&id, &[]).is_some(),
                    "{} lacks {id}",
                    lang.code()
                );
            }
        }
    }
}

/// `/self-check`: the signed-request form, and the report once it is run.
#[derive(Template)]
#[template(path = "self_check.html")]
pub struct SelfCheckPage {
    pub c: Chrome,
    pub csrf: String,
    pub methods: Vec<MethodOption>,
    pub path: String,
    pub body: String,
    /// The body's line breaks are CRLF (else LF).
    pub crlf: bool,
    pub signature: String,
    /// What is wrong with the form, in words.
    pub error: Option<String>,
    pub results: Option<CheckResults>,
}

/// One method of the form's choice.
pub struct MethodOption {
    pub name: &'static str,
    pub selected: bool,
}

/// The self-check's report, as the page shows it.
pub struct CheckResults {
    pub all_ok: bool,
    pub rows: Vec<CheckRow>,
}

/// One check: its wire name, whether it passed, and the detail in the page's language.
pub struct CheckRow {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// `/self-check/encryption`: a challenge to decrypt, and the outcome of an answer.
#[derive(Template)]
#[template(path = "self_check_encryption.html")]
pub struct EncryptionCheckPage {
    pub c: Chrome,
    pub csrf: String,
    pub challenge: Option<ChallengeView>,
    pub outcome: Option<AnswerOutcome>,
}

/// A challenge: its id, the words around it, and its text in every scheme.
pub struct ChallengeView {
    pub id: String,
    pub intro: String,
    pub schemes: Vec<SchemeView>,
}

/// One scheme's ciphertext, with the openssl command that reads it (raw RSA schemes).
pub struct SchemeView {
    pub name: &'static str,
    pub label: String,
    pub ciphertext: String,
    pub openssl: Option<String>,
}

/// Whether the answer was right, in words.
pub struct AnswerOutcome {
    pub ok: bool,
    pub text: String,
}
