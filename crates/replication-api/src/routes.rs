//! The route table: [`ROUTES`], every `/v1/sys/replication` endpoint of the seed documents, as data.

use std::fmt;

use replication_core::Kind;

use crate::path::RequestPath;

/// An HTTP method the replication endpoints take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET`: reads (status, filters, token progress) and the oldest `secondary-token` form.
    Get,
    /// `POST`: every mutating call.
    Post,
    /// `PUT`: Vault treats it exactly as `POST`.
    Put,
    /// `DELETE`: removing a paths filter, cancelling an operation-token attempt.
    Delete,
}

impl Method {
    /// Every method, in the order the docs list them.
    pub const ALL: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];

    /// Parses a method name, ignoring ASCII case (`get` ≡ `GET`). `None` for any other method
    /// (`HEAD`, `LIST`, `PATCH`, …), which no replication endpoint takes.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// The upper-case name: `GET`, `POST`, `PUT`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether parameters come from the JSON body (`POST`, `PUT`) rather than the query string.
    pub fn is_write(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Authority {
    /// Anyone, without a Vault token: the three status endpoints and the DR operation-token
    /// generation endpoints (which exist precisely because a DR secondary has no usable token).
    Unauthenticated,
    /// A Vault token (any policy that allows the path; the model has no ACLs).
    Token,
    /// A Vault token with `sudo` capability on the path.
    Sudo,
    /// On a DR secondary: anyone, because the `dr_operation_token` in the body authorises the call
    /// (the core checks it and refuses with 403). On any other cluster: a Vault token, as [`Token`].
    ///
    /// [`Token`]: Authority::Token
    DrOperationToken,
}

impl Authority {
    /// The name the docs use: `unauthenticated`, `token`, `sudo`, `dr-operation-token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Authority::Unauthenticated => "unauthenticated",
            Authority::Token => "token",
            Authority::Sudo => "sudo",
            Authority::DrOperationToken => "dr-operation-token",
        }
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operation a route performs. Together with the route's [`Kind`] and the request method it
/// determines the core [`replication_core::Request`] (or status read) the handler makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Both kinds' status (`sys/replication/status`).
    Status,
    /// One kind's status (`dr/status`, `performance/status`).
    KindStatus,
    /// Restart a stalled connection or sync.
    Recover,
    /// Rebuild the Merkle index from storage.
    Reindex,
    /// `primary/enable`.
    EnablePrimary,
    /// `primary/demote`.
    DemotePrimary,
    /// `primary/disable`.
    DisablePrimary,
    /// `primary/secondary-token`.
    SecondaryToken,
    /// `primary/revoke-secondary` (also spelled `secondary/revoke-secondary`).
    RevokeSecondary,
    /// `secondary/generate-public-key`.
    GeneratePublicKey,
    /// `secondary/enable`.
    EnableSecondary,
    /// `secondary/promote`.
    PromoteSecondary,
    /// `secondary/disable`.
    DisableSecondary,
    /// `secondary/update-primary`.
    UpdatePrimary,
    /// `performance/primary/paths-filter/:id`: `GET` reads, `POST`/`PUT` set, `DELETE` removes.
    PathsFilter,
    /// `performance/primary/dynamic-filter/:id`.
    DynamicFilterPrimary,
    /// `performance/secondary/dynamic-filter/:id`.
    DynamicFilterSecondary,
    /// `dr/secondary/generate-operation-token/attempt`: `GET` reads, `POST`/`PUT` start, `DELETE`
    /// cancels.
    OperationTokenAttempt,
    /// `dr/secondary/generate-operation-token/update`: one key share.
    OperationTokenUpdate,
    /// `dr/secondary/operation-token/delete`.
    OperationTokenDelete,
}

impl Op {
    /// A short kebab-case name, as the docs' table shows it.
    pub fn name(self) -> &'static str {
        match self {
            Op::Status => "status",
            Op::KindStatus => "kind-status",
            Op::Recover => "recover",
            Op::Reindex => "reindex",
            Op::EnablePrimary => "enable-primary",
            Op::DemotePrimary => "demote-primary",
            Op::DisablePrimary => "disable-primary",
            Op::SecondaryToken => "secondary-token",
            Op::RevokeSecondary => "revoke-secondary",
            Op::GeneratePublicKey => "generate-public-key",
            Op::EnableSecondary => "enable-secondary",
            Op::PromoteSecondary => "promote-secondary",
            Op::DisableSecondary => "disable-secondary",
            Op::UpdatePrimary => "update-primary",
            Op::PathsFilter => "paths-filter",
            Op::DynamicFilterPrimary => "dynamic-filter-primary",
            Op::DynamicFilterSecondary => "dynamic-filter-secondary",
            Op::OperationTokenAttempt => "operation-token-attempt",
            Op::OperationTokenUpdate => "operation-token-update",
            Op::OperationTokenDelete => "operation-token-delete",
        }
    }

    /// What the operation does and answers, in a line.
    pub fn summary(self) -> &'static str {
        match self {
            Op::Status => "both kinds' status: `data.dr`, `data.performance`",
            Op::KindStatus => "the kind's status in `data`",
            Op::Recover => "restarts a stalled connection or sync; 200 with `warnings`",
            Op::Reindex => "rebuilds the Merkle index; 200 with `warnings`",
            Op::EnablePrimary => "disabled → primary, fresh `cluster_id`; 204",
            Op::DemotePrimary => "primary → secondary with no primary; 204",
            Op::DisablePrimary => "primary → disabled; 204",
            Op::SecondaryToken => {
                "activation token for `id` in `wrap_info` (with `secondary_public_key`: `data.token`)"
            }
            Op::RevokeSecondary => "revokes secondary `id`; 204",
            Op::GeneratePublicKey => "key pair for an encrypted token; `data.secondary_public_key`",
            Op::EnableSecondary => "disabled → bootstrapping → secondary (wipes once accepted); 204",
            Op::PromoteSecondary => {
                "secondary → primary; DR: `progress`/`required`/`complete` (seed 002 shape), performance: 204"
            }
            Op::DisableSecondary => "secondary → disabled; 204",
            Op::UpdatePrimary => {
                "re-points the secondary (`token` or `update_primary_addrs`), never wipes; 204"
            }
            Op::PathsFilter => "GET `data.{mode,paths}`; POST/PUT sets (204); DELETE removes (204)",
            Op::DynamicFilterPrimary | Op::DynamicFilterSecondary => {
                "`data.{dynamic_filtered_mounts,dynamic_filtered_namespaces}`"
            }
            Op::OperationTokenAttempt => {
                "GET progress; POST/PUT starts (returns `otp`); DELETE cancels (204)"
            }
            Op::OperationTokenUpdate => "one unseal key share; `encoded_token` once complete",
            Op::OperationTokenDelete => "revokes a DR operation token; 204",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One endpoint: a path pattern and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The path without `/v1/`, with `:name` captures: `sys/replication/dr/secondary/enable`,
    /// `sys/replication/secondary/enable/:token`.
    pub pattern: &'static str,
    /// The methods it takes; any other is answered 405.
    pub methods: &'static [Method],
    /// Who may call it.
    pub authority: Authority,
    /// The replication kind it addresses; `None` for the top-level endpoints that concern both.
    pub kind: Option<Kind>,
    /// What it does.
    pub op: Op,
}

impl Route {
    /// The captures of `path` if it matches this route's pattern: `(name, value)` in pattern order.
    pub fn matches(&self, path: &RequestPath) -> Option<Vec<(&'static str, String)>> {
        // Every request is matched against the table: compare without allocating, then capture.
        let segments = path.segments();
        let parts = || self.pattern.as_bytes().split(|b| *b == b'/');
        if parts().count() != segments.len()
            || !parts()
                .zip(segments)
                .all(|(p, s)| p.first() == Some(&b':') || p == s.as_bytes())
        {
            return None;
        }
        Some(
            self.pattern
                .split('/')
                .zip(segments)
                .filter_map(|(p, s)| p.strip_prefix(':').map(|name| (name, s.clone())))
                .collect(),
        )
    }

    /// Whether the route takes `method`.
    pub fn allows(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }

    /// The methods as the docs and 405 answers list them: `GET, POST, PUT`.
    pub fn methods_text(&self) -> String {
        self.methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The result of looking a request up in [`ROUTES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The path matches a route that takes the method.
    Found {
        /// The route.
        route: &'static Route,
        /// The path captures, `(name, value)` in pattern order.
        captures: Vec<(&'static str, String)>,
    },
    /// The path matches a route, but not with this method (HTTP 405).
    WrongMethod {
        /// The route.
        route: &'static Route,
    },
    /// No route has this path (HTTP 404).
    NotFound,
}

/// The route whose pattern matches `path`, whatever the method, with its captures.
pub(crate) fn route_for_path(
    path: &RequestPath,
) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    ROUTES
        .iter()
        .find_map(|route| route.matches(path).map(|captures| (route, captures)))
}

/// Finds the route for `path` and `method`.
pub fn lookup(path: &RequestPath, method: Method) -> Lookup {
    match route_for_path(path) {
        None => Lookup::NotFound,
        Some((route, captures)) if route.allows(method) => Lookup::Found { route, captures },
        Some((route, _)) => Lookup::WrongMethod { route },
    }
}

const GET: &[Method] = &[Method::Get];
const WRITE: &[Method] = &[Method::Post, Method::Put];
const ALL: &[Method] = &[Method::Get, Method::Post, Method::Put, Method::Delete];
const GET_WRITE: &[Method] = &[Method::Get, Method::Post, Method::Put];

const DR: Option<Kind> = Some(Kind::Dr);
const PERF: Option<Kind> = Some(Kind::Performance);

const fn r(
    pattern: &'static str,
    methods: &'static [Method],
    authority: Authority,
    kind: Option<Kind>,
    op: Op,
) -> Route {
    Route {
        pattern,
        methods,
        authority,
        kind,
        op,
    }
}

use Authority::{DrOperationToken as DrOp, Sudo, Token, Unauthenticated as Anyone};

/// Every endpoint of the five seed documents, for both kinds, plus the legacy un-prefixed performance
/// paths (seeds 001 and 003) and the DR operation-token endpoints (notes §2.2).
///
///
/// [`ROUTES`] is the one place that says which paths exist, which methods each takes, who may call it,
/// which replication kind it addresses and which operation it performs. The handler
/// (`handler.rs`) only looks things up here; `docs/api.md` shows [`route_table_markdown`], and a
/// test fails when the two disagree.
///
/// ```
/// use replication_api::{lookup, Authority, Lookup, Method, Op, RequestPath};
/// use replication_core::Kind;
///
/// let path = RequestPath::parse("/v1/sys/replication/performance/primary/paths-filter/us-east").unwrap();
/// let Lookup::Found { route, captures } = lookup(&path, Method::Delete) else { panic!() };
/// assert_eq!(route.op, Op::PathsFilter);
/// assert_eq!(route.kind, Some(Kind::Performance));
/// assert_eq!(route.authority, Authority::Token);
/// assert_eq!(captures, [("id", "us-east".to_string())]);
///
/// let status = RequestPath::parse("sys/replication/status").unwrap();
/// assert!(matches!(lookup(&status, Method::Post), Lookup::WrongMethod { .. }));
/// ```
///
/// # Patterns
///
/// A pattern is a `/`-separated list of literal segments and `:name` captures, each capture matching
/// exactly one (non-empty, percent-decoded) path segment. Patterns are written without `/v1/`; the
/// request path may carry it ([`RequestPath::parse`] strips it). No two patterns match the
/// same path, so the order of [`ROUTES`] only matters for the documentation.
#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    // Top level (seed 000).
    r("sys/replication/status", GET, Anyone, None, Op::Status),
    r("sys/replication/recover", WRITE, Token, None, Op::Recover),
    r("sys/replication/reindex", WRITE, Sudo, None, Op::Reindex),
    // DR (seed 002 and notes §2.2).
    r("sys/replication/dr/status", GET, Anyone, DR, Op::KindStatus),
    r("sys/replication/dr/primary/enable", WRITE, Token, DR, Op::EnablePrimary),
    r("sys/replication/dr/primary/demote", WRITE, Token, DR, Op::DemotePrimary),
    r("sys/replication/dr/primary/disable", WRITE, Token, DR, Op::DisablePrimary),
    r("sys/replication/dr/primary/secondary-token", GET_WRITE, Sudo, DR, Op::SecondaryToken),
    r("sys/replication/dr/primary/revoke-secondary", WRITE, Token, DR, Op::RevokeSecondary),
    r("sys/replication/dr/secondary/generate-public-key", WRITE, Token, DR, Op::GeneratePublicKey),
    r("sys/replication/dr/secondary/enable", WRITE, Token, DR, Op::EnableSecondary),
    r("sys/replication/dr/secondary/promote", WRITE, DrOp, DR, Op::PromoteSecondary),
    r("sys/replication/dr/secondary/disable", WRITE, DrOp, DR, Op::DisableSecondary),
    r("sys/replication/dr/secondary/update-primary", WRITE, DrOp, DR, Op::UpdatePrimary),
    r("sys/replication/dr/secondary/recover", WRITE, DrOp, DR, Op::Recover),
    r("sys/replication/dr/secondary/reindex", WRITE, DrOp, DR, Op::Reindex),
    r("sys/replication/dr/secondary/generate-operation-token/attempt", ALL, Anyone, DR, Op::OperationTokenAttempt),
    r("sys/replication/dr/secondary/generate-operation-token/update", WRITE, Anyone, DR, Op::OperationTokenUpdate),
    r("sys/replication/dr/secondary/operation-token/delete", WRITE, DrOp, DR, Op::OperationTokenDelete),
    // Performance (seed 004).
    r("sys/replication/performance/status", GET, Anyone, PERF, Op::KindStatus),
    r("sys/replication/performance/primary/enable", WRITE, Token, PERF, Op::EnablePrimary),
    r("sys/replication/performance/primary/demote", WRITE, Token, PERF, Op::DemotePrimary),
    r("sys/replication/performance/primary/disable", WRITE, Token, PERF, Op::DisablePrimary),
    r("sys/replication/performance/primary/secondary-token", GET_WRITE, Sudo, PERF, Op::SecondaryToken),
    r("sys/replication/performance/primary/revoke-secondary", WRITE, Token, PERF, Op::RevokeSecondary),
    r("sys/replication/performance/primary/paths-filter/:id", ALL, Token, PERF, Op::PathsFilter),
    r("sys/replication/performance/primary/dynamic-filter/:id", GET, Token, PERF, Op::DynamicFilterPrimary),
    r("sys/replication/performance/secondary/dynamic-filter/:id", GET, Token, PERF, Op::DynamicFilterSecondary),
    r("sys/replication/performance/secondary/generate-public-key", WRITE, Token, PERF, Op::GeneratePublicKey),
    r("sys/replication/performance/secondary/enable", WRITE, Token, PERF, Op::EnableSecondary),
    r("sys/replication/performance/secondary/promote", WRITE, Token, PERF, Op::PromoteSecondary),
    r("sys/replication/performance/secondary/disable", WRITE, Token, PERF, Op::DisableSecondary),
    r("sys/replication/performance/secondary/update-primary", WRITE, Token, PERF, Op::UpdatePrimary),
    // Legacy un-prefixed performance paths (seeds 001 and 003).
    r("sys/replication/primary/enable", WRITE, Token, PERF, Op::EnablePrimary),
    r("sys/replication/primary/demote", WRITE, Token, PERF, Op::DemotePrimary),
    r("sys/replication/primary/disable", WRITE, Token, PERF, Op::DisablePrimary),
    r("sys/replication/primary/secondary-token", GET_WRITE, Sudo, PERF, Op::SecondaryToken),
    r("sys/replication/primary/revoke-secondary", WRITE, Token, PERF, Op::RevokeSecondary),
    r("sys/replication/primary/revoke-secondary/:id", WRITE, Token, PERF, Op::RevokeSecondary),
    r("sys/replication/secondary/revoke-secondary", WRITE, Token, PERF, Op::RevokeSecondary),
    r("sys/replication/secondary/revoke-secondary/:id", WRITE, Token, PERF, Op::RevokeSecondary),
    r("sys/replication/secondary/enable", WRITE, Token, PERF, Op::EnableSecondary),
    r("sys/replication/secondary/enable/:token", WRITE, Token, PERF, Op::EnableSecondary),
    r("sys/replication/secondary/promote", WRITE, Token, PERF, Op::PromoteSecondary),
    r("sys/replication/secondary/disable", WRITE, Token, PERF, Op::DisableSecondary),
    r("sys/replication/secondary/update-primary", WRITE, Token, PERF, Op::UpdatePrimary),
    r("sys/replication/secondary/update-primary/:token", WRITE, Token, PERF, Op::UpdatePrimary),
];

/// [`ROUTES`] as a Markdown table (pattern, methods, authority, kind, operation), one row per route
/// in table order, ending with a newline. `docs/api.md` holds exactly this text between its
/// `<!-- routes:begin -->` and `<!-- routes:end -->` markers.
pub fn route_table_markdown() -> String {
    let mut out = String::from(
        "| pattern | methods | authority | kind | operation |\n|---|---|---|---|---|\n",
    );
    for route in ROUTES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | `{}`: {} |\n",
            route.pattern,
            route.methods_text(),
            route.authority,
            route.kind.map(Kind::as_str).unwrap_or("both"),
            route.op,
            route.op.summary().replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn path(raw: &str) -> RequestPath {
        RequestPath::parse(raw).unwrap()
    }

    #[test]
    fn patterns_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for route in ROUTES {
            assert!(seen.insert(route.pattern), "duplicate {}", route.pattern);
            assert!(
                route.pattern.starts_with("sys/replication/"),
                "{}",
                route.pattern
            );
            assert!(!route.methods.is_empty(), "{}", route.pattern);
            for seg in route.pattern.split('/') {
                assert!(!seg.is_empty() && seg != ":", "{}", route.pattern);
            }
            // The pattern parses as a path and matches itself.
            assert!(route.matches(&path(route.pattern)).is_some());
        }
    }

    #[test]
    fn no_two_routes_match_one_path() {
        for a in ROUTES {
            // Instantiate the captures with a value and check no other route matches.
            let concrete = a
                .pattern
                .split('/')
                .map(|s| if s.starts_with(':') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let p = path(&concrete);
            let hits: Vec<_> = ROUTES.iter().filter(|b| b.matches(&p).is_some()).collect();
            assert_eq!(hits.len(), 1, "{concrete}: {hits:?}");
        }
    }

    #[test]
    fn both_kinds_have_the_same_primary_and_secondary_endpoints() {
        for op in [
            "primary/enable",
            "primary/demote",
            "primary/disable",
            "primary/secondary-token",
            "primary/revoke-secondary",
            "secondary/generate-public-key",
            "secondary/enable",
            "secondary/promote",
            "secondary/disable",
            "secondary/update-primary",
            "status",
        ] {
            for kind in ["dr", "performance"] {
                let p = path(&format!("sys/replication/{kind}/{op}"));
                assert!(
                    !matches!(lookup(&p, Method::Post), Lookup::NotFound),
                    "{kind}/{op}"
                );
            }
        }
    }

    #[test]
    fn lookup_distinguishes_404_405_and_captures() {
        assert_eq!(
            lookup(&path("sys/replication/nope"), Method::Get),
            Lookup::NotFound
        );
        assert_eq!(lookup(&path("sys/other"), Method::Get), Lookup::NotFound);
        let Lookup::WrongMethod { route } =
            lookup(&path("sys/replication/dr/status"), Method::Delete)
        else {
            panic!()
        };
        assert_eq!(route.methods_text(), "GET");
        let Lookup::Found { route, captures } = lookup(
            &path("/v1/sys/replication/secondary/enable/v1.abc.def"),
            Method::Put,
        ) else {
            panic!()
        };
        assert_eq!(route.op, Op::EnableSecondary);
        assert_eq!(captures, [("token", "v1.abc.def".to_string())]);
    }

    #[test]
    fn methods_parse_case_insensitively() {
        assert_eq!(Method::parse("get"), Some(Method::Get));
        assert_eq!(Method::parse("DELETE"), Some(Method::Delete));
        assert_eq!(Method::parse("LIST"), None);
        assert_eq!(Method::parse(""), None);
    }

    #[test]
    fn markdown_has_one_row_per_route() {
        let md = route_table_markdown();
        assert_eq!(md.lines().count(), ROUTES.len() + 2);
        assert!(md.ends_with('\n'));
        for line in md.lines().skip(2) {
            assert_eq!(line.matches(" | ").count(), 4, "{line}");
        }
    }
}
