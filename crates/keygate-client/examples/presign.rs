//! Pre-signs `COUNT` requests (unique `jti`s) for a load test: one `X-Request-Signature` per
//! line. See BENCHMARKS.md.
//!
//!     cargo run --release -p keygate-client --example presign -- \
//!         PRIVATE_PEM TOKEN KID METHOD PATH COUNT OUT_FILE
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use keygate_client::crypto::{sign_request, ClientPrivateKey};
use keygate_core::jose::SigAlg;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, token, kid, method, path, count, out] = args.as_slice() else {
        eprintln!("usage: presign PRIVATE_PEM TOKEN KID METHOD PATH COUNT OUT_FILE");
        std::process::exit(2);
    };
    let key = ClientPrivateKey::from_pem(&std::fs::read_to_string(key).expect("read key"))
        .expect("private key");
    let count: usize = count.parse().expect("COUNT");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = count.div_ceil(threads);
    let lines: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let key = &key;
                s.spawn(move || {
                    (t * per..((t + 1) * per).min(count))
                        .map(|i| {
                            let jti = format!("load-{now}-{i:012}");
                            sign_request(
                                key,
                                SigAlg::RS256,
                                Some(kid),
                                method,
                                path,
                                b"",
                                Some(token),
                                now,
                                &jti,
                            )
                            .expect("sign")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("create OUT_FILE"));
    for line in lines {
        writeln!(file, "{line}").expect("write");
    }
}
