//! The layers and the refusals, read through `Settings::load`.
#![allow(clippy::unwrap_used)]

use super::*;
use keygate_core::audit::AuditEventType;

#[test]
fn layers_apply_in_order() {
    let dir = std::env::temp_dir().join(format!("kg-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keygate.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\nkey_validity = \"30d\"\ntoken_ttl = \"5m\"\nallowed_key_bits = [2048, 3072]\n",
    )
    .unwrap();
    let env = vec![
        ("KEYGATE_LISTEN".to_string(), "127.0.0.1:2".to_string()),
        ("KEYGATE_TOKEN_TTL".to_string(), "3s".to_string()),
        ("KEYGATE_MAX_BODY_BYTES".to_string(), "4096".to_string()),
        ("KEYGATE_MASTER_KEY".to_string(), "ignored here".to_string()),
        ("OTHER".to_string(), "x".to_string()),
    ];
    let flags = Overrides {
        listen: Some("127.0.0.1:3".into()),
        ..Default::default()
    };
    let s = Settings::load(Some(&file), env, &flags).unwrap();
    assert_eq!(s.listen.port(), 3);
    assert_eq!(s.key_validity, Duration::from_secs(30 * 86_400));
    assert_eq!(s.token_ttl, Duration::from_secs(3));
    assert_eq!(s.max_body_bytes, 4096);
    assert_eq!(s.allowed_key_bits, vec![2048, 3072]);
}

#[test]
fn bad_values_are_refused_clearly() {
    let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let err = Settings::load(
        None,
        env("KEYGATE_KEY_VALIDITY", "soon"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("key_validity"), "{err}");
    let err = Settings::load(
        None,
        env("KEYGATE_ALLOWED_KEY_BITS", "2048,abc"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("allowed_key_bits"), "{err}");
    assert_eq!(
        Settings::load(
            None,
            env("KEYGATE_ALLOWED_KEY_BITS", "2048,3072"),
            &Overrides::default()
        )
        .unwrap()
        .allowed_key_bits,
        vec![2048, 3072]
    );
    assert_eq!(
        parse_duration("365d").unwrap(),
        Duration::from_secs(365 * 86_400)
    );
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    let err = Settings::load(
        None,
        env("KEYGATE_DATABASE_TIMEOUT", "0s"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("database_timeout"), "{err}");
    assert_eq!(
        Settings::load(
            None,
            env("KEYGATE_DATABASE_TIMEOUT", "1500ms"),
            &Overrides::default()
        )
        .unwrap()
        .database_timeout,
        Duration::from_millis(1500)
    );
    assert_eq!(Settings::default().database_timeout, Duration::from_secs(5));
}

#[test]
fn usage_flush_interval_is_a_bounded_duration() {
    assert_eq!(
        Settings::default().usage_flush_interval,
        Duration::from_secs(5)
    );
    let set = |value: &str| {
        Settings::load(
            None,
            vec![(
                "KEYGATE_USAGE_FLUSH_INTERVAL".to_string(),
                value.to_string(),
            )],
            &Overrides::default(),
        )
    };
    assert_eq!(
        set("2s").unwrap().usage_flush_interval,
        Duration::from_secs(2)
    );
    for bad in ["0s", "50ms", "2h"] {
        let err = set(bad).unwrap_err();
        assert!(
            err.to_string().contains("usage_flush_interval"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn keys_are_the_fields_of_settings() {
    let keys = keys();
    assert_eq!(keys.len(), 38, "{keys:?}");
    for key in [
        "listen",
        "webhooks",
        "usage_flush_interval",
        "webhook_poll_interval",
        "allowed_key_bits",
        "cookie_secure",
        "routes",
        "system_key_grace",
    ] {
        assert!(keys.contains(&key), "{key}");
    }
    assert!(!keys.contains(&"master_key"), "never read from the file");
}

#[test]
fn errors_name_the_key_at_fault() {
    let load = |k: &str, v: &str| {
        Settings::load(
            None,
            vec![(k.to_string(), v.to_string())],
            &Overrides::default(),
        )
    };
    let err = load("KEYGATE_LISTEN", "nowhere").unwrap_err().to_string();
    assert!(
        err.contains("listen: `nowhere` is not an address like 127.0.0.1:8080"),
        "{err}"
    );
    let err = load("KEYGATE_KEY_VALIDITY", "soon")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key_validity: `soon` is not a duration"),
        "{err}"
    );
    let err = load("KEYGATE_ALLOWED_KEY_BITS", "1024")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("allowed_key_bits: sizes must be between 2048 and 8192"),
        "{err}"
    );
    let err = load("KEYGATE_MAX_CONNECTIONS", "0")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("max_connections must be between 1 and"),
        "{err}"
    );
    let err = load("KEYGATE_MAX_BODY_BYTES", "\"lots\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_body_bytes"), "{err}");
    // With TLS on, the session cookie is Secure unless the operator says otherwise.
    let tls = |extra: &[(&str, &str)]| {
        let mut env = vec![
            ("KEYGATE_TLS_CERT_FILE".to_string(), "c.pem".to_string()),
            ("KEYGATE_TLS_KEY_FILE".to_string(), "k.pem".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::load(None, env, &Overrides::default()).unwrap()
    };
    assert!(tls(&[]).cookie_secure);
    assert!(!tls(&[("KEYGATE_COOKIE_SECURE", "false")]).cookie_secure);
    assert!(
        !Settings::load(None, vec![], &Overrides::default())
            .unwrap()
            .cookie_secure
    );
}

#[test]
fn route_fields_are_read_into_their_types() {
    let dir = std::env::temp_dir().join(format!("kg-config-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keygate.toml");
    let with_route = |fields: &str| {
        std::fs::write(
            &file,
            format!("[[routes]]\npath = \"/a\"\nupstream = \"http://127.0.0.1:9\"\n{fields}\n"),
        )
        .unwrap();
        Settings::load(Some(&file), Vec::new(), &Overrides::default())
    };
    let s = with_route("signature = \"none\"\nscheme = \"rsa-oaep-256\"").unwrap();
    assert_eq!(s.routes[0].signature, Signature::None);
    assert_eq!(s.routes[0].scheme, Scheme::RsaOaep256);
    assert_eq!(s.routes[0].methods, vec!["GET".to_string()]);
    let s = with_route("").unwrap();
    assert_eq!(s.routes[0].signature, Signature::Required);
    assert_eq!(s.routes[0].scheme, Scheme::Jwe);
    let err = with_route("scheme = \"rot13\"").unwrap_err().to_string();
    assert!(
        err.contains("scheme must be jwe, rsa-oaep-256 or rsa-pkcs1, not \"rot13\""),
        "{err}"
    );
    assert!(err.contains("routes[0].scheme"), "{err}");
    let err = with_route("signature = \"maybe\"").unwrap_err().to_string();
    assert!(
        err.contains("signature must be \"required\" or \"none\", not \"maybe\""),
        "{err}"
    );
    let err = with_route("colour = \"red\"").unwrap_err().to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn rotation_settings_have_the_seeds_defaults_and_a_bound() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let s = Settings::load(None, env(&[]), &Overrides::default()).unwrap();
    assert_eq!(s.rotation_overlap, Duration::ZERO);
    assert_eq!(s.key_expiry_warning, Duration::from_secs(30 * 86_400));
    let s = Settings::load(
        None,
        env(&[
            ("KEYGATE_ROTATION_OVERLAP", "1h"),
            ("KEYGATE_KEY_EXPIRY_WARNING", "7d"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(s.rotation_overlap, Duration::from_secs(3600));
    assert_eq!(s.key_expiry_warning, Duration::from_secs(7 * 86_400));
    let err = Settings::load(
        None,
        env(&[
            ("KEYGATE_KEY_VALIDITY", "1d"),
            ("KEYGATE_ROTATION_OVERLAP", "1d"),
        ]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("rotation_overlap"), "{err}");
}

/// `[[webhooks]]` from a file: a good entry, then each refusal naming what is wrong.
#[test]
fn webhooks_are_checked_and_name_the_fault() {
    let dir = std::env::temp_dir().join(format!("kg-config-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keygate.toml");
    let load = |text: &str| {
        std::fs::write(&file, text).unwrap();
        Settings::load(Some(&file), Vec::new(), &Overrides::default())
    };
    let entry = |url: &str, events: &str, secret: &str| {
        format!("[[webhooks]]\nurl = \"{url}\"\nevents = {events}\n{secret}\n")
    };
    let good = load(
        &(entry(
            "https://hooks.example.com/keygate?token=abc",
            r#"["key.revoked", "key.expiring", "key.revoked"]"#,
            "secret_file = \"/etc/keygate/hook.secret\"",
        ) + &entry(
            "http://127.0.0.1:9000/hook",
            r#"["login.locked"]"#,
            "secret_env = \"HOOK_SECRET\"\nretry_for = \"1h\"\ntimeout = \"3s\"",
        )),
    )
    .unwrap();
    let hooks = &good.webhooks;
    assert_eq!(hooks.len(), 2);
    assert_eq!(
        hooks[0].events,
        [AuditEventType::KeyRevoked, AuditEventType::KeyExpiring]
    );
    assert_eq!(hooks[0].retry_for, Duration::from_secs(86_400));
    assert_eq!(hooks[0].timeout, Duration::from_secs(10));
    assert_eq!(hooks[1].retry_for, Duration::from_secs(3600));
    assert_eq!(hooks[0].url.display(), "https://hooks.example.com/keygate");
    assert!(
        !format!("{good:?}").contains("token=abc"),
        "Debug hides the query"
    );
    assert_ne!(hooks[0].url.id(), hooks[1].url.id());
    assert_eq!(hooks[0].url.id().len(), 32);

    let file_secret = "secret_file = \"/s\"";
    for (text, expected) in [
        (
            entry("https://h/x", r#"["key.deleted"]"#, file_secret),
            "unknown event \"key.deleted\"",
        ),
        (
            entry("https://h/x", "[]", file_secret),
            "list at least one event",
        ),
        (
            entry(
                "http://hooks.example.com/x",
                r#"["key.revoked"]"#,
                file_secret,
            ),
            "must be https (http only to a loopback address",
        ),
        (
            entry("https://u:p@h/x", r#"["key.revoked"]"#, file_secret),
            "no user, password",
        ),
        (
            entry("ftp://h/x", r#"["key.revoked"]"#, file_secret),
            "the scheme must be https",
        ),
        (
            entry("https://h/x", r#"["key.revoked"]"#, ""),
            "webhooks[0]: set exactly one of secret_file and secret_env",
        ),
        (
            entry(
                "https://h/x",
                r#"["key.revoked"]"#,
                "secret_file = \"/s\"\nsecret_env = \"S\"",
            ),
            "set exactly one of secret_file and secret_env",
        ),
        (
            entry(
                "https://h/x",
                r#"["key.revoked"]"#,
                "secret_file = \"/s\"\ntimeout = \"2m\"",
            ),
            "webhooks[0].timeout must be between 1s and 60s",
        ),
        (
            entry("https://h/x", r#"["key.revoked"]"#, file_secret)
                + &entry("https://h/x", r#"["key.expired"]"#, file_secret),
            "webhooks[1].url is the same as webhooks[0].url",
        ),
        (
            entry("https://h/x", r#"["key.revoked"]"#, "secret = \"whsec_x\""),
            "unknown field `secret`",
        ),
    ] {
        let err = load(&text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}: {err}");
        assert!(!err.contains("whsec_x"), "{err}");
    }
    let err = load(&entry("https://h/x", r#"["key.nope"]"#, file_secret))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("webhooks[0].events"),
        "the key is named: {err}"
    );
}
