//! The request-target check (`keygate_core::target::check`), against a URL parser nobody here
//! wrote: the WHATWG URL parser of the `url` crate, the one reqwest (keygate's upstream client)
//! and many upstream stacks build their URLs with.
//!
//! Input: the bytes as a request line's target, parsed by the `http` crate as hyper parses it
//! (a target it refuses never reaches keygate).
//!
//! Properties:
//! * `check` never panics;
//! * a target it accepts, appended to an upstream's origin, is read by the URL parser as the
//!   same path and query: the same segments, each decoding to the same bytes (no dot segment
//!   resolved, no backslash or encoded slash read as a separator, nothing stripped or
//!   reordered). That is the promise of docs/gateway.md, "The request target": a request
//!   matched on one route cannot reach another path of the upstream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

fuzz_target!(|data: &[u8]| {
    if std::str::from_utf8(data).is_err() {
        return;
    }
    let Ok(target) = http::uri::PathAndQuery::try_from(data) else {
        return;
    };
    let (path, query) = (target.path(), target.query());
    if keygate_core::target::check(path, query).is_err() {
        return;
    }
    // An accepted target that the parser refuses altogether cannot reach another path (keygate
    // answers 400 when it cannot build the URL); only one it reads differently is an escape.
    let Ok(url) = url::Url::parse(&format!("http://upstream.test{target}")) else {
        return;
    };
    let decoded = |text: &str| -> Vec<Vec<u8>> {
        text.split('/')
            .map(|segment| percent_decode_str(segment).collect())
            .collect()
    };
    assert_eq!(
        decoded(url.path()),
        decoded(path),
        "accepted {target:?}, but the URL parser reads the path as {:?}",
        url.path()
    );
    let query_bytes =
        |q: Option<&str>| -> Vec<u8> { percent_decode_str(q.unwrap_or_default()).collect() };
    assert_eq!(
        query_bytes(url.query()),
        query_bytes(query),
        "accepted {target:?}, but the URL parser reads the query as {:?}",
        url.query()
    );
});
