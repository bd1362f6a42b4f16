//! Request paths ([`RequestPath`]) and query strings ([`parse_query`]).
//!
//! (Over 600 lines with its unit tests, which pin every path form Vault accepts; the code is about 350.)

use std::collections::BTreeMap;
use std::fmt;

/// A normalised request path: the segments after the optional `/v1/` prefix, percent-decoded.
///
/// Never empty, and no segment is empty, `.`, `..` or contains a control character.
/// [`Display`](fmt::Display) writes it back without a leading slash or `v1/`, re-encoding `%`, `/`,
/// `?` and `#` inside segments, so that `RequestPath::parse(&p.to_string()) == Ok(p)`.
///
///
/// [`RequestPath::parse`] turns what a client sent (`/v1/sys/replication/status`,
/// `sys/replication/status/`, `v1/sys/replication/secondary/enable/s.abc%2Bdef`) into a list of
/// percent-decoded segments that a router can match with slice patterns:
///
/// ```
/// use replication_api::RequestPath;
///
/// let p = RequestPath::parse("/v1/sys/replication/dr/status/").unwrap();
/// assert_eq!(p.as_strs(), ["sys", "replication", "dr", "status"]);
/// assert_eq!(p, RequestPath::parse("sys/replication/dr/status").unwrap());
/// assert!(RequestPath::parse("sys/../replication").is_err());
/// ```
///
/// [`parse_query`] turns `a=1&b=x%20y&flag` into ordered `(key, value)` pairs:
///
/// ```
/// use replication_api::parse_query;
///
/// let q = parse_query("id=us-east&ttl=1h+30m&force").unwrap();
/// assert_eq!(
///     q,
///     [
///         ("id".to_string(), "us-east".to_string()),
///         ("ttl".to_string(), "1h 30m".to_string()),
///         ("force".to_string(), String::new()),
///     ]
/// );
/// ```
///
/// Decisions, where Go's `net/http` (which Vault runs on) differs or is silent:
///
/// - Each segment is percent-decoded on its own, after splitting on `/`, so `%2F` stays *inside* a
///   segment (a token in the path can never change the route). Go decodes the whole path first.
/// - `.` and `..` segments, empty segments (`sys//replication`) and control characters (raw or
///   percent-encoded, e.g. `%00`, `%0A`) are refused rather than cleaned or redirected.
/// - A `?` or `#` in the path is refused: the query string is passed separately to [`parse_query`].
/// - In a query string, a key given more than once keeps its **last** value, at the position of its
///   first occurrence. (Vault itself turns a repeated query key into a list; this layer does not.)
/// - Invalid percent escapes and escapes that do not decode to UTF-8 are errors in both paths and
///   queries (Go's `URL.Query()` silently drops such a pair).
/// - `;` in a query is refused (Go ≥ 1.17 refuses it as a separator too), and so is a pair with an
///   empty name (`=x`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestPath {
    segments: Vec<String>,
}

impl RequestPath {
    /// Parses a request path.
    ///
    /// Accepts it with or without a leading `/` and with or without a leading `v1` segment, and
    /// strips one trailing `/`. See the the docs above for what is refused.
    pub fn parse(raw: &str) -> Result<RequestPath, PathError> {
        if raw.contains(['?', '#']) {
            return Err(PathError::QueryInPath);
        }
        let trimmed = raw.strip_prefix('/').unwrap_or(raw);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(PathError::Empty);
        }
        let mut pieces: Vec<&str> = trimmed.split('/').collect();
        if pieces.first() == Some(&"v1") {
            pieces.remove(0);
        }
        if pieces.is_empty() {
            return Err(PathError::Empty);
        }
        let mut segments = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.iter().enumerate() {
            let position = i + 1;
            if piece.is_empty() {
                return Err(PathError::EmptySegment { position });
            }
            let segment = percent_decode(piece, false).map_err(|e| match e {
                DecodeError::BadEscape(escape) => PathError::BadPercentEscape { position, escape },
                DecodeError::NotUtf8 => PathError::NotUtf8 { position },
            })?;
            if segment == "." || segment == ".." {
                return Err(PathError::DotSegment { position, segment });
            }
            if segment.chars().any(char::is_control) {
                return Err(PathError::ControlCharacter { position });
            }
            segments.push(segment);
        }
        Ok(RequestPath { segments })
    }

    /// The decoded segments, e.g. `["sys", "replication", "status"]`.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The segments as `&str`, for matching with slice patterns:
    /// `match p.as_strs().as_slice() { ["sys", "replication", "status"] => …, _ => … }`.
    pub fn as_strs(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            for c in segment.chars() {
                match c {
                    '%' => f.write_str("%25")?,
                    '/' => f.write_str("%2F")?,
                    '?' => f.write_str("%3F")?,
                    '#' => f.write_str("%23")?,
                    _ => write!(f, "{c}")?,
                }
            }
        }
        Ok(())
    }
}

/// Why a request path was refused. `position` counts segments from 1, after the optional `v1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathError {
    /// Nothing is left after removing slashes and the `v1` prefix (`""`, `/`, `/v1/`).
    Empty,
    /// The path contains a raw `?` or `#`; the query string belongs in [`parse_query`].
    QueryInPath,
    /// Two slashes in a row (`sys//replication`), or a second trailing slash.
    EmptySegment {
        /// Which segment is empty.
        position: usize,
    },
    /// A `.` or `..` segment (also when percent-encoded).
    DotSegment {
        /// Which segment.
        position: usize,
        /// `"."` or `".."`.
        segment: String,
    },
    /// A control character (raw or percent-encoded) in a segment.
    ControlCharacter {
        /// Which segment.
        position: usize,
    },
    /// A `%` not followed by two hex digits.
    BadPercentEscape {
        /// Which segment.
        position: usize,
        /// The `%` and up to two characters after it.
        escape: String,
    },
    /// The percent escapes of a segment do not decode to UTF-8 text.
    NotUtf8 {
        /// Which segment.
        position: usize,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Empty => f.write_str(
                "the request path is empty; send a path such as /v1/sys/replication/status",
            ),
            PathError::QueryInPath => f.write_str(
                "the request path contains '?' or '#'; pass the query string separately, \
                 or percent-encode them as %3F and %23",
            ),
            PathError::EmptySegment { position } => write!(
                f,
                "segment {position} of the request path is empty; remove the doubled slash"
            ),
            PathError::DotSegment { position, segment } => write!(
                f,
                "segment {position} of the request path is {segment:?}; \
                 relative segments are not allowed, send the full path"
            ),
            PathError::ControlCharacter { position } => write!(
                f,
                "segment {position} of the request path contains a control character; \
                 paths must be printable text"
            ),
            PathError::BadPercentEscape { position, escape } => write!(
                f,
                "segment {position} of the request path has an invalid percent escape {escape:?}; \
                 a % must be followed by two hex digits (write a literal % as %25)"
            ),
            PathError::NotUtf8 { position } => write!(
                f,
                "segment {position} of the request path does not decode to UTF-8 text; \
                 percent-encode the UTF-8 bytes of each character"
            ),
        }
    }
}

impl std::error::Error for PathError {}

/// Parses a URL query string into ordered `(key, value)` pairs.
///
/// A leading `?` is ignored; pairs are separated by `&`; empty pairs (`a=1&&b=2`) are skipped; a pair
/// without `=` (`flag`) has the value `""`. Keys and values are percent-decoded with `+` meaning a
/// space. A key given more than once keeps its **last** value, at the position where it first
/// appeared. See the the docs above for what is refused.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, QueryError> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, piece) in raw.split('&').enumerate() {
        let position = i + 1;
        if piece.is_empty() {
            continue;
        }
        if piece.contains(';') {
            return Err(QueryError::Semicolon { position });
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let map_err = |e| match e {
            DecodeError::BadEscape(escape) => QueryError::BadPercentEscape { position, escape },
            DecodeError::NotUtf8 => QueryError::NotUtf8 { position },
        };
        let key = percent_decode(key, true).map_err(map_err)?;
        let value = percent_decode(value, true).map_err(map_err)?;
        if key.is_empty() {
            return Err(QueryError::EmptyName { position });
        }
        match index.get(&key) {
            Some(&at) => pairs[at].1 = value,
            None => {
                index.insert(key.clone(), pairs.len());
                pairs.push((key, value));
            }
        }
    }
    Ok(pairs)
}

/// Why a query string was refused. `position` counts `&`-separated pairs from 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueryError {
    /// A `;` in a pair.
    Semicolon {
        /// Which pair.
        position: usize,
    },
    /// A pair with an empty name (`=x`).
    EmptyName {
        /// Which pair.
        position: usize,
    },
    /// A `%` not followed by two hex digits.
    BadPercentEscape {
        /// Which pair.
        position: usize,
        /// The `%` and up to two characters after it.
        escape: String,
    },
    /// The percent escapes of a pair do not decode to UTF-8 text.
    NotUtf8 {
        /// Which pair.
        position: usize,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Semicolon { position } => write!(
                f,
                "query parameter {position} contains ';'; separate parameters with '&' \
                 (write a literal ; as %3B)"
            ),
            QueryError::EmptyName { position } => write!(
                f,
                "query parameter {position} has an empty name; send name=value"
            ),
            QueryError::BadPercentEscape { position, escape } => write!(
                f,
                "query parameter {position} has an invalid percent escape {escape:?}; \
                 a % must be followed by two hex digits (write a literal % as %25)"
            ),
            QueryError::NotUtf8 { position } => write!(
                f,
                "query parameter {position} does not decode to UTF-8 text; \
                 percent-encode the UTF-8 bytes of each character"
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// Why [`percent_decode`] failed.
enum DecodeError {
    /// `%` and up to two characters after it.
    BadEscape(String),
    NotUtf8,
}

/// Decodes `%XX` escapes (either hex case) and, if `plus_is_space`, `+` as a space.
fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 3;
                    }
                    _ => {
                        // `i` is at an ASCII '%', so it is a char boundary.
                        let escape: String = s[i..].chars().take(3).collect();
                        return Err(DecodeError::BadEscape(escape));
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn segs(raw: &str) -> Vec<String> {
        RequestPath::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
            .segments()
            .to_vec()
    }

    #[test]
    fn accepts_every_spelling_of_the_same_path() {
        let want = ["sys", "replication", "status"];
        for raw in [
            "/v1/sys/replication/status",
            "v1/sys/replication/status",
            "/sys/replication/status",
            "sys/replication/status",
            "/v1/sys/replication/status/",
            "sys/replication/status/",
        ] {
            assert_eq!(segs(raw), want, "{raw}");
        }
    }

    #[test]
    fn only_a_leading_v1_segment_is_stripped() {
        assert_eq!(segs("sys/v1/x"), ["sys", "v1", "x"]);
        assert_eq!(segs("v1/v1/x"), ["v1", "x"]);
        assert_eq!(segs("v10/x"), ["v10", "x"]);
    }

    #[test]
    fn refuses_empty_paths() {
        for raw in ["", "/", "//", "v1", "/v1", "/v1/", "v1/"] {
            assert_eq!(RequestPath::parse(raw), Err(PathError::Empty), "{raw:?}");
        }
    }

    #[test]
    fn refuses_empty_segments() {
        assert_eq!(
            RequestPath::parse("sys//replication"),
            Err(PathError::EmptySegment { position: 2 })
        );
        assert_eq!(
            RequestPath::parse("/v1/sys/replication//"),
            Err(PathError::EmptySegment { position: 3 })
        );
        assert_eq!(
            RequestPath::parse("//v1/sys"),
            Err(PathError::EmptySegment { position: 1 })
        );
    }

    #[test]
    fn refuses_dot_segments_also_when_encoded() {
        for (raw, seg, pos) in [
            ("sys/../replication", "..", 2),
            ("/v1/sys/./status", ".", 2),
            ("sys/%2E%2E/x", "..", 2),
            ("sys/replication/%2e", ".", 3),
        ] {
            assert_eq!(
                RequestPath::parse(raw),
                Err(PathError::DotSegment {
                    position: pos,
                    segment: seg.to_string()
                }),
                "{raw}"
            );
        }
        // Dots inside a segment are fine.
        assert_eq!(segs("sys/a..b/..c"), ["sys", "a..b", "..c"]);
    }

    #[test]
    fn refuses_control_characters_raw_or_encoded() {
        for raw in [
            "sys/a\u{0}b",
            "sys/a%00b",
            "sys/x%0A",
            "sys/\u{7f}",
            "sys/%C2%85",
        ] {
            assert_eq!(
                RequestPath::parse(raw),
                Err(PathError::ControlCharacter { position: 2 }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn refuses_query_and_fragment_in_path() {
        assert_eq!(
            RequestPath::parse("sys/replication/status?x=1"),
            Err(PathError::QueryInPath)
        );
        assert_eq!(RequestPath::parse("sys/x#y"), Err(PathError::QueryInPath));
    }

    #[test]
    fn percent_decodes_each_segment() {
        assert_eq!(
            segs("/v1/sys/replication/secondary/enable/eyJhbGc%2Bx%2Fy%3D%3D"),
            ["sys", "replication", "secondary", "enable", "eyJhbGc+x/y=="]
        );
        // `+` is literal in a path; both hex cases decode; UTF-8 escapes decode.
        assert_eq!(segs("a+b/%c3%A9"), ["a+b", "é"]);
        assert_eq!(segs("a%20b"), ["a b"]);
    }

    #[test]
    fn refuses_invalid_percent_escapes() {
        for (raw, esc) in [
            ("sys/a%zz", "%zz"),
            ("sys/a%4", "%4"),
            ("sys/a%", "%"),
            ("sys/%g1x", "%g1"),
            ("sys/%4é", "%4é"),
        ] {
            assert_eq!(
                RequestPath::parse(raw),
                Err(PathError::BadPercentEscape {
                    position: 2,
                    escape: esc.to_string()
                }),
                "{raw}"
            );
        }
        assert_eq!(
            RequestPath::parse("sys/%ff%fe"),
            Err(PathError::NotUtf8 { position: 2 })
        );
    }

    #[test]
    fn display_round_trips() {
        let p = RequestPath::parse("/v1/sys/x%2Fy%25z%3F%23/w/").unwrap();
        assert_eq!(p.to_string(), "sys/x%2Fy%25z%3F%23/w");
        assert_eq!(RequestPath::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn as_strs_matches_slice_patterns() {
        let p = RequestPath::parse("sys/replication/performance/primary/paths-filter/abc").unwrap();
        match p.as_strs().as_slice() {
            ["sys", "replication", "performance", "primary", "paths-filter", id] => {
                assert_eq!(*id, "abc")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_query_strings() {
        assert_eq!(
            parse_query("a=1&b=x%20y&flag").unwrap(),
            pairs(&[("a", "1"), ("b", "x y"), ("flag", "")])
        );
        assert_eq!(
            parse_query("?c=a+b%2Bc&&d=&e==x").unwrap(),
            pairs(&[("c", "a b+c"), ("d", ""), ("e", "=x")])
        );
        assert_eq!(
            parse_query("na%6De=%C3%A9").unwrap(),
            pairs(&[("name", "é")])
        );
        assert_eq!(parse_query("").unwrap(), pairs(&[]));
        assert_eq!(parse_query("?").unwrap(), pairs(&[]));
        assert_eq!(parse_query("&&").unwrap(), pairs(&[]));
    }

    #[test]
    fn repeated_query_keys_keep_the_last_value_at_the_first_position() {
        assert_eq!(
            parse_query("a=1&b=2&a=3").unwrap(),
            pairs(&[("a", "3"), ("b", "2")])
        );
    }

    #[test]
    fn refuses_bad_query_strings() {
        assert_eq!(
            parse_query("a=1&b=%zz"),
            Err(QueryError::BadPercentEscape {
                position: 2,
                escape: "%zz".into()
            })
        );
        assert_eq!(
            parse_query("a%=1"),
            Err(QueryError::BadPercentEscape {
                position: 1,
                escape: "%".into()
            })
        );
        assert_eq!(
            parse_query("a=%ff"),
            Err(QueryError::NotUtf8 { position: 1 })
        );
        assert_eq!(
            parse_query("a=1;b=2"),
            Err(QueryError::Semicolon { position: 1 })
        );
        assert_eq!(
            parse_query("a=1&=2"),
            Err(QueryError::EmptyName { position: 2 })
        );
    }

    #[test]
    fn error_messages_say_what_to_send() {
        let e = RequestPath::parse("sys/%zz").unwrap_err().to_string();
        assert!(e.contains("%25") && e.contains("two hex digits"), "{e}");
        let e = RequestPath::parse("").unwrap_err().to_string();
        assert!(e.contains("/v1/sys/replication/status"), "{e}");
        let e = parse_query("a;b").unwrap_err().to_string();
        assert!(e.contains("'&'"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_paths_never_panic(raw in prop_oneof![
            any::<String>(),
            "[a-z/.%0-9A-Fv?#+\u{0}é]{0,40}",
        ]) {
            match RequestPath::parse(&raw) {
                Ok(p) => {
                    prop_assert!(!p.segments().is_empty());
                    prop_assert_eq!(RequestPath::parse(&p.to_string()), Ok(p));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn arbitrary_queries_never_panic(raw in prop_oneof![
            any::<String>(),
            "[a-z=&;%0-9A-F+?é]{0,40}",
        ]) {
            match parse_query(&raw) {
                Ok(pairs) => {
                    let mut keys: Vec<_> = pairs.iter().map(|(k, _)| k).collect();
                    prop_assert!(keys.iter().all(|k| !k.is_empty()));
                    keys.sort();
                    keys.dedup();
                    prop_assert_eq!(keys.len(), pairs.len());
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
