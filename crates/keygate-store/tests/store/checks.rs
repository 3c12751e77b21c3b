//! The self-check's encryption challenges: single use under concurrency, bounded per API key,
//! purged once expired.

use keygate_store::{ChallengeTaken, Store};
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{new_api_key, open, NOW};

both_backends!(
    a_challenge_is_taken_once_by_its_api_key_only,
    challenges_are_bounded_per_api_key_and_purged
);

async fn a_challenge_is_taken_once_by_its_api_key_only(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let (mine, theirs) = (new_api_key(&store).await, new_api_key(&store).await);
    let id = Uuid::new_v4();
    store
        .insert_check_challenge(id, mine.id, &[7; 32], NOW, NOW + 300, 16)
        .await
        .unwrap();
    assert_eq!(
        store.take_check_challenge(id, theirs.id).await.unwrap(),
        ChallengeTaken::Unknown,
        "another API key's challenge is unknown to it"
    );
    assert_eq!(
        store
            .take_check_challenge(Uuid::new_v4(), mine.id)
            .await
            .unwrap(),
        ChallengeTaken::Unknown
    );

    // Many concurrent answers (PostgreSQL: over two nodes): exactly one takes it.
    let mut nodes = vec![store.clone()];
    if kind == Backend::Postgres {
        nodes.push(Store::connect(&url).await.unwrap());
    }
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let node: Store = nodes[i % nodes.len()].clone();
            tokio::spawn(async move { node.take_check_challenge(id, mine.id).await.unwrap() })
        })
        .collect();
    let mut open_answers = 0;
    for task in tasks {
        match task.await.unwrap() {
            ChallengeTaken::Open {
                answer_sha256,
                expires_at,
            } => {
                assert_eq!((answer_sha256, expires_at), (vec![7; 32], NOW + 300));
                open_answers += 1;
            }
            ChallengeTaken::Used { expires_at } => assert_eq!(expires_at, NOW + 300),
            ChallengeTaken::Unknown => panic!("the challenge vanished"),
        }
    }
    assert_eq!(open_answers, 1);
}

async fn challenges_are_bounded_per_api_key_and_purged(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let (mine, theirs) = (new_api_key(&store).await, new_api_key(&store).await);
    let other = Uuid::new_v4();
    store
        .insert_check_challenge(other, theirs.id, &[1; 32], NOW, NOW + 300, 3)
        .await
        .unwrap();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    for (i, id) in ids.iter().enumerate() {
        let at = NOW + i64::try_from(i).unwrap();
        store
            .insert_check_challenge(*id, mine.id, &[2; 32], at, at + 300, 3)
            .await
            .unwrap();
    }
    // The three newest are kept; the two oldest were dropped; the other API key's is untouched.
    for (i, id) in ids.iter().enumerate() {
        let taken = store.take_check_challenge(*id, mine.id).await.unwrap();
        assert_eq!(
            taken == ChallengeTaken::Unknown,
            i < 2,
            "challenge {i}: {taken:?}"
        );
    }
    // Purged once expired, used or not.
    assert_eq!(store.purge_check_challenges(NOW + 299).await.unwrap(), 0);
    assert_eq!(store.purge_check_challenges(NOW + 303).await.unwrap(), 3);
    assert_eq!(store.purge_check_challenges(NOW + 304).await.unwrap(), 1);
    assert_eq!(
        store.take_check_challenge(ids[4], mine.id).await.unwrap(),
        ChallengeTaken::Unknown
    );
}
