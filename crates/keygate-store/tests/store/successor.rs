//! Staged successors (docs/design.md §2, "Rotation"): the store's rows move so that each status
//! stays a function of one row and *now*, one key is active at any instant, and the flags the
//! unique indexes read are settled by the next write.

use keygate_core::model::KeyStatus;
use keygate_store::InsertKeyError;
use keygate_testkit::{both_backends, Backend};

use crate::support::{new_api_key, new_key, open, open_rows, NOW, YEAR};

both_backends!(
    a_successor_is_staged_then_takes_over_by_time,
    withdraw_activate_and_revoke_move_the_rows_together,
);

async fn a_successor_is_staged_then_takes_over_by_time(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    match store
        .stage_successor(new_key(api_key.id), NOW, YEAR, |_| Vec::new())
        .await
    {
        Err(InsertKeyError::NoActiveKey) => {}
        other => panic!("expected NoActiveKey, got {other:?}"),
    }
    let first = store
        .insert_key(new_key(api_key.id), NOW, 100, &[])
        .await
        .unwrap();
    let reused = new_key(api_key.id);
    let next = store
        .stage_successor(new_key(api_key.id), NOW + 10, 100, |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(
        (next.issued_at, next.activates_at, next.expires_at),
        (NOW + 10, NOW + 100, NOW + 200)
    );
    assert_eq!(next.status(NOW + 10), KeyStatus::Pending);
    match store
        .stage_successor(new_key(api_key.id), NOW + 11, 100, |_| Vec::new())
        .await
    {
        Err(InsertKeyError::SuccessorExists) => {}
        other => panic!("expected SuccessorExists, got {other:?}"),
    }
    let mut again = reused.clone();
    again.fingerprint_sha256 = first.fingerprint_sha256.clone();
    match store
        .stage_successor(again, NOW + 11, 100, |_| Vec::new())
        .await
    {
        Err(InsertKeyError::Reused) => {}
        other => panic!("expected Reused, got {other:?}"),
    }
    assert_eq!(
        store.pending_successor(api_key.id, NOW + 99).await.unwrap(),
        Some(next.clone())
    );
    // At the first key's expiry the successor is active, with no write.
    assert_eq!(
        store
            .pending_successor(api_key.id, NOW + 100)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .active_key(api_key.id, NOW + 99)
            .await
            .unwrap()
            .map(|k| k.id),
        Some(first.id)
    );
    assert_eq!(
        store
            .active_key(api_key.id, NOW + 100)
            .await
            .unwrap()
            .map(|k| k.id),
        Some(next.id)
    );
    let current = store.current_keys(api_key.id).await.unwrap();
    assert_eq!(
        current.iter().map(|k| k.id).collect::<Vec<_>>(),
        [next.id, first.id]
    );
    // The next write settles the flags: the successor is the open key, so an upload is refused.
    match store
        .insert_key(new_key(api_key.id), NOW + 150, 100, &[])
        .await
    {
        Err(InsertKeyError::ActiveKeyExists) => {}
        other => panic!("expected ActiveKeyExists, got {other:?}"),
    }
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);
    let revoked = store
        .revoke_active(api_key.id, None, NOW + 150, |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(revoked.and_then(|c| c.ended).map(|k| k.id), Some(next.id));
}

async fn withdraw_activate_and_revoke_move_the_rows_together(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let first = store
        .insert_key(new_key(api_key.id), NOW, YEAR, &[])
        .await
        .unwrap();
    let staged = store
        .stage_successor(new_key(api_key.id), NOW, YEAR, |_| Vec::new())
        .await
        .unwrap();
    let withdrawn = store
        .withdraw_successor(api_key.id, NOW + 1, |_| Vec::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (withdrawn.id, withdrawn.withdrawn_at),
        (staged.id, Some(NOW + 1))
    );
    assert_eq!(withdrawn.status(NOW + YEAR * 2), KeyStatus::Withdrawn);
    assert_eq!(
        store
            .withdraw_successor(api_key.id, NOW + 2, |_| Vec::new())
            .await
            .unwrap(),
        None
    );
    // Withdrawn keys are skipped by the rows that say where an API key stands.
    assert_eq!(
        store
            .current_keys(api_key.id)
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect::<Vec<_>>(),
        [first.id]
    );

    // Activated with an overlap of 30: the first key retires until NOW + 40.
    let next = store
        .stage_successor(new_key(api_key.id), NOW + 5, YEAR, |_| Vec::new())
        .await
        .unwrap();
    let change = store
        .activate_successor(api_key.id, next.id, "replaced", NOW + 10, 30, |_| {
            Vec::new()
        })
        .await
        .unwrap()
        .unwrap();
    let (active, previous) = (change.activated.unwrap(), change.ended);
    assert_eq!(
        (active.id, active.activates_at, active.expires_at),
        (next.id, NOW + 10, NOW + 10 + YEAR)
    );
    let previous = previous.unwrap();
    assert_eq!(previous.id, first.id);
    assert_eq!(previous.status(NOW + 39), KeyStatus::Retiring);
    assert_eq!(previous.status(NOW + 40), KeyStatus::Revoked);
    assert_eq!(previous.revoke_reason.as_deref(), Some("replaced"));
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);
    // Activating the same key again: it is not pending any more.
    assert_eq!(
        store
            .activate_successor(api_key.id, next.id, "x", NOW + 11, 30, |_| Vec::new())
            .await
            .unwrap(),
        None
    );

    // A third key staged, then the active key revoked during the overlap: the retiring key is
    // revoked at once and the staged one takes over now, for its whole validity.
    let third = store
        .stage_successor(new_key(api_key.id), NOW + 12, YEAR, |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(third.activates_at, NOW + 10 + YEAR);
    store
        .revoke_active(api_key.id, Some("incident"), NOW + 20, |_| Vec::new())
        .await
        .unwrap();
    let first_now = store.get_key(api_key.id, first.id).await.unwrap().unwrap();
    assert_eq!(first_now.revoked_at, Some(NOW + 20));
    assert_eq!(first_now.revoke_reason.as_deref(), Some("incident"));
    let third_now = store.get_key(api_key.id, third.id).await.unwrap().unwrap();
    assert_eq!(
        (third_now.activates_at, third_now.expires_at),
        (NOW + 20, NOW + 20 + YEAR)
    );
    assert_eq!(
        store
            .active_key(api_key.id, NOW + 20)
            .await
            .unwrap()
            .map(|k| k.id),
        Some(third.id)
    );
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);
}
