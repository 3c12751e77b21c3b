//! The one-node replay table's worst-case memory (docs/gateway.md, "Replay detection"): fills
//! it with 128-character `jti`s over four API keys until its first refusal (the first of its
//! shards to fill, close to `MEMORY_CAPACITY`) and prints the growth of VmRSS.
//!
//!     cargo run --release -p keygate-server --example replay_memory
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keygate_server::gateway::replay::{ReplayError, ShardedTable, MEMORY_CAPACITY};
use keygate_testkit::process::rss_kib;
use uuid::Uuid;

fn main() {
    let table = ShardedTable::default();
    let keys: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let before = rss_kib();
    for i in 0..MEMORY_CAPACITY {
        let jti = format!("{i:0128}");
        match table.record(keys[i % 4], &jti, 0, 600) {
            Ok(true) => {}
            Err(ReplayError::Full { .. }) => break,
            other => {
                eprintln!("unexpected: {other:?}");
                std::process::exit(1);
            }
        }
    }
    let after = rss_kib();
    println!(
        "{} entries (128-character jtis): {} MiB, {} bytes an entry",
        table.len(),
        (after - before) / 1024,
        (after - before) * 1024 / table.len() as u64
    );
}
