//! The rotation part of the real-browser scenario (docs/web.md): stage a successor by pasting,
//! withdraw it, stage another from a file, cancel then confirm its activation — by clicking,
//! as a person would.

use keygate_core::model::KeyStatus;
use keygate_testkit::{new_public_key, Credentials, KeyPair, TestApp};

use super::{click_and_load, find, path, statuses, text};
use fantoccini::Client;

/// From a page with one ACTIVE key over one REVOKED key, in English. Returns the key pair now
/// active.
pub(super) async fn stage_withdraw_and_activate(
    b: &Client,
    app: &TestApp,
    creds: &Credentials,
) -> KeyPair {
    // Stage by pasting.
    let area = find(b, "#successor_public_key").await;
    area.send_keys(&new_public_key()).await.unwrap();
    click_and_load(b, "#stage-button").await;
    assert!(text(b, "#notice")
        .await
        .contains("successor key was staged"));
    assert!(text(b, "#successor-key").await.contains("Staged successor"));
    assert_eq!(statuses(b).await, ["PENDING", "ACTIVE", "REVOKED"]);

    // Withdraw.
    click_and_load(b, "#withdraw-button").await;
    assert!(text(b, "#notice").await.contains("withdrawn"));
    assert_eq!(statuses(b).await, ["WITHDRAWN", "ACTIVE", "REVOKED"]);

    // Stage another with the file chooser: a pair whose private key the self-check uses.
    let pair = KeyPair::openssl();
    let next = pair.public_pem.clone();
    let file = std::env::temp_dir().join(format!("kg-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, &next).unwrap();
    find(b, "#successor_key_file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    click_and_load(b, "#stage-button").await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        statuses(b).await,
        ["PENDING", "WITHDRAWN", "ACTIVE", "REVOKED"]
    );

    // Activate: the confirmation can be cancelled, and changes nothing.
    click_and_load(b, "#activate-button").await;
    assert_eq!(path(b).await, "/successor/activate");
    assert!(text(b, "#activate-question")
        .await
        .contains("Activate the staged key"));
    assert!(text(b, "#activate-consequence")
        .await
        .contains("revoked at once"));
    click_and_load(b, "#cancel-activate").await;
    assert_eq!(path(b).await, "/");
    assert_eq!(
        statuses(b).await,
        ["PENDING", "WITHDRAWN", "ACTIVE", "REVOKED"]
    );
    click_and_load(b, "#activate-button").await;
    click_and_load(b, "#confirm-activate").await;
    assert!(text(b, "#notice")
        .await
        .contains("successor key is now active"));
    assert_eq!(
        statuses(b).await,
        ["ACTIVE", "WITHDRAWN", "REVOKED", "REVOKED"]
    );
    let active = app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.public_key_pem, next.trim_end());
    assert_eq!(active.status(app.now()), KeyStatus::Active);
    // A new successor can be staged again.
    find(b, "#successor_public_key").await;
    pair
}
