//! keygate's own routes — the JSON API's and the web page's — and the first path segments they
//! take, both recorded by the same `.route` calls. The router (`router::router`) and the front
//! door's split between the router and the gateway (`front::is_own_path`) are built from
//! `router::own_routes`, so a route added later cannot be left out of either
//! (docs/architecture.md, "How to add a route").

use std::collections::BTreeSet;

use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// Builds the router once the state is known.
type Build = Box<dyn FnOnce(&AppState) -> Router<AppState>>;

/// Routes and the first path segments they claim. Built without a state (so the segments are
/// known to tests and to the front door alone); the router itself is made by
/// [`OwnRoutes::into_router`].
pub struct OwnRoutes {
    first_segments: BTreeSet<&'static str>,
    build: Build,
}

impl Default for OwnRoutes {
    fn default() -> Self {
        Self::new()
    }
}

impl OwnRoutes {
    /// No routes.
    pub fn new() -> OwnRoutes {
        OwnRoutes {
            first_segments: BTreeSet::new(),
            build: Box::new(|_| Router::new()),
        }
    }

    /// Adds a route, as `axum::Router::route`, and records its first segment.
    pub fn route(mut self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        self.first_segments.insert(first_segment(path));
        let build = self.build;
        self.build = Box::new(move |state| build(state).route(path, method_router));
        self
    }

    /// Adds another set of routes.
    pub fn merge(mut self, other: OwnRoutes) -> Self {
        self.first_segments.extend(other.first_segments);
        let (build, other) = (self.build, other.build);
        self.build = Box::new(move |state| build(state).merge(other(state)));
        self
    }

    /// Wraps the routes added so far, with the state at hand (e.g. a layer made by
    /// `axum::middleware::from_fn_with_state`). For layers only: a route added here would not
    /// be recorded.
    pub fn layer_with_state(
        mut self,
        layer: impl FnOnce(Router<AppState>, &AppState) -> Router<AppState> + 'static,
    ) -> Self {
        let build = self.build;
        self.build = Box::new(move |state| layer(build(state), state));
        self
    }

    /// The first path segments of the routes (`""` for `/`).
    pub fn paths(&self) -> OwnPaths {
        OwnPaths(self.first_segments.clone())
    }

    /// The router of these routes, for `state`.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        (self.build)(state)
    }
}

/// The first path segments of keygate's own routes.
#[derive(Debug, Clone)]
pub struct OwnPaths(BTreeSet<&'static str>);

impl OwnPaths {
    /// Is `path` in keygate's own part of the URL space (its first segment one of ours)?
    pub fn claims(&self, path: &str) -> bool {
        self.0.contains(first_segment(path))
    }

    /// The segments, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }
}

fn first_segment(path: &str) -> &str {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .next()
        .unwrap_or_default()
}
