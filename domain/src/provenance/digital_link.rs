//! GS1 Digital Link URI syntax (1.1 and later), parsed strictly: one primary key, the key qualifiers
//! its path allows in the order the standard fixes (e.g. GTIN `/22/` `/10/` `/21/`), each value's
//! length and character set from the GS1 Application Identifier table (fixed-length numeric keys with
//! their check digit, CSET 82 for lots, serials and other alphanumerics, CSET 39 for CPIDs), and data
//! attributes in the query string. Values must be percent-encoded as the standard requires (only
//! `A–Z a–z 0–9 - . _` may appear raw). Short path names (`gtin`, `lot`, `ser`, …) are read too.
//!
//! The result is what an HTTP resolver needs: the primary key `(AI, value)`, the qualifiers, the data
//! attributes, other query parameters, and the canonical URI on `https://id.gs1.org` (numeric AIs,
//! GTIN-14, every qualifier kept — a lot and a serial both stay in the key).

use std::fmt;

/// The canonical resolver host.
pub const CANONICAL_HOST: &str = "https://id.gs1.org";
/// Longest Digital Link accepted.
pub const MAX_URI: usize = 2048;

/// Why a Digital Link is refused: the part of the URI at fault and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitalLinkError {
    #[error("{uri:?}: {part}: {rule}")]
    Invalid { uri: String, part: String, rule: String },
}

fn bad(uri: &str, part: impl Into<String>, rule: impl Into<String>) -> DigitalLinkError {
    DigitalLinkError::Invalid { uri: uri.to_string(), part: part.into(), rule: rule.into() }
}

/// One component of an AI's value format.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// Exactly n digits.
    N(usize),
    /// min..=max digits.
    Nv(usize, usize),
    /// min..=max characters of CSET 82.
    X(usize, usize),
    /// min..=max characters of CSET 39 (digits, upper-case letters, `#`, `-`, `/`).
    Y(usize, usize),
}

/// How an AI is used in a Digital Link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Primary,
    Qualifier,
    Attribute,
}

struct Ai {
    code: &'static str,
    short: Option<&'static str>,
    role: Role,
    parts: &'static [Part],
    /// The first part is a GS1 key ending in a mod-10 check digit.
    check: bool,
    /// YYMMDD date.
    date: bool,
}

const fn ai(code: &'static str, short: Option<&'static str>, role: Role, parts: &'static [Part], check: bool) -> Ai {
    Ai { code, short, role, parts, check, date: false }
}
const fn attr(code: &'static str, parts: &'static [Part]) -> Ai {
    Ai { code, short: None, role: Role::Attribute, parts, check: false, date: false }
}
const fn date(code: &'static str) -> Ai {
    Ai { code, short: None, role: Role::Attribute, parts: &[Part::N(6)], check: false, date: true }
}

use Part::{Nv, N, X, Y};
use Role::{Attribute, Primary, Qualifier};

/// The GS1 Application Identifiers a Digital Link may carry (GS1 General Specifications AI table, as
/// used by the Digital Link URI syntax grammar). Measures (31nn–36nn) and amounts (39nn) are matched by
/// pattern in [`lookup`].
static AIS: &[Ai] = &[
    // Primary keys.
    ai("00", Some("sscc"), Primary, &[N(18)], true),
    ai("01", Some("gtin"), Primary, &[N(14)], true),
    ai("253", Some("gdti"), Primary, &[N(13), X(1, 17)], true),
    ai("255", Some("gcn"), Primary, &[N(13), Nv(1, 12)], true),
    ai("401", Some("ginc"), Primary, &[X(1, 30)], false),
    ai("402", Some("gsin"), Primary, &[N(17)], true),
    ai("414", Some("gln"), Primary, &[N(13)], true),
    ai("417", Some("party"), Primary, &[N(13)], true),
    ai("8003", Some("grai"), Primary, &[N(14), X(1, 16)], true),
    ai("8004", Some("giai"), Primary, &[X(1, 30)], false),
    ai("8006", Some("itip"), Primary, &[N(14), N(2), N(2)], true),
    ai("8010", Some("cpid"), Primary, &[Y(1, 30)], false),
    ai("8013", Some("gmn"), Primary, &[X(1, 30)], false),
    ai("8017", Some("gsrnp"), Primary, &[N(18)], true),
    ai("8018", Some("gsrn"), Primary, &[N(18)], true),
    // Key qualifiers.
    ai("22", Some("cpv"), Qualifier, &[X(1, 20)], false),
    ai("10", Some("lot"), Qualifier, &[X(1, 20)], false),
    ai("21", Some("ser"), Qualifier, &[X(1, 20)], false),
    ai("235", None, Qualifier, &[X(1, 28)], false),
    ai("254", Some("glnx"), Qualifier, &[X(1, 20)], false),
    ai("7040", None, Qualifier, &[N(1), X(3, 3)], false),
    ai("8011", Some("cpsn"), Qualifier, &[Nv(1, 12)], false),
    ai("8019", Some("srin"), Qualifier, &[Nv(1, 10)], false),
    // Data attributes.
    ai("02", None, Attribute, &[N(14)], true),
    date("11"),
    date("12"),
    date("13"),
    date("15"),
    date("16"),
    date("17"),
    date("7006"),
    attr("20", &[N(2)]),
    attr("30", &[Nv(1, 8)]),
    attr("37", &[Nv(1, 8)]),
    attr("90", &[X(1, 30)]),
    attr("240", &[X(1, 30)]),
    attr("241", &[X(1, 30)]),
    attr("242", &[Nv(1, 6)]),
    attr("243", &[X(1, 20)]),
    attr("250", &[X(1, 30)]),
    attr("251", &[X(1, 30)]),
    attr("400", &[X(1, 30)]),
    attr("403", &[X(1, 30)]),
    ai("410", None, Attribute, &[N(13)], true),
    ai("411", None, Attribute, &[N(13)], true),
    ai("412", None, Attribute, &[N(13)], true),
    ai("413", None, Attribute, &[N(13)], true),
    ai("415", None, Attribute, &[N(13)], true),
    ai("416", None, Attribute, &[N(13)], true),
    attr("420", &[X(1, 20)]),
    attr("421", &[N(3), X(1, 9)]),
    attr("422", &[N(3)]),
    attr("423", &[N(3), Nv(1, 12)]),
    attr("424", &[N(3)]),
    attr("425", &[N(3), Nv(1, 12)]),
    attr("426", &[N(3)]),
    attr("427", &[X(1, 3)]),
    attr("710", &[X(1, 20)]),
    attr("711", &[X(1, 20)]),
    attr("712", &[X(1, 20)]),
    attr("713", &[X(1, 20)]),
    attr("714", &[X(1, 20)]),
    attr("7001", &[N(13)]),
    attr("7002", &[X(1, 30)]),
    attr("7003", &[N(10)]),
    attr("7004", &[Nv(1, 4)]),
    attr("7005", &[X(1, 12)]),
    attr("7007", &[Nv(6, 12)]),
    attr("7008", &[X(1, 3)]),
    attr("7009", &[X(1, 10)]),
    attr("7010", &[X(1, 2)]),
    attr("7020", &[X(1, 20)]),
    attr("7021", &[X(1, 20)]),
    attr("7022", &[X(1, 20)]),
    attr("7023", &[X(1, 30)]),
    attr("7240", &[X(1, 20)]),
    attr("8001", &[N(14)]),
    attr("8002", &[X(1, 20)]),
    attr("8005", &[N(6)]),
    attr("8007", &[X(1, 34)]),
    attr("8008", &[N(8), Nv(1, 4)]),
    attr("8009", &[X(1, 50)]),
    attr("8012", &[X(1, 20)]),
    attr("8020", &[X(1, 25)]),
    attr("8026", &[N(14), N(2), N(2)]),
    attr("8110", &[X(1, 70)]),
    attr("8111", &[N(4)]),
    attr("8112", &[X(1, 70)]),
    attr("8200", &[X(1, 70)]),
    attr("4300", &[X(1, 35)]),
    attr("4301", &[X(1, 35)]),
    attr("4302", &[X(1, 70)]),
    attr("4303", &[X(1, 70)]),
    attr("4304", &[X(1, 70)]),
    attr("4305", &[X(1, 70)]),
    attr("4306", &[X(1, 70)]),
    attr("4307", &[X(2, 2)]),
    attr("4308", &[X(1, 30)]),
    attr("4310", &[X(1, 35)]),
    attr("4311", &[X(1, 35)]),
    attr("4312", &[X(1, 70)]),
    attr("4313", &[X(1, 70)]),
    attr("4314", &[X(1, 70)]),
    attr("4315", &[X(1, 70)]),
    attr("4316", &[X(1, 70)]),
    attr("4317", &[X(2, 2)]),
    attr("4318", &[X(1, 20)]),
    attr("4319", &[X(1, 30)]),
    attr("4320", &[X(1, 35)]),
    attr("4321", &[N(1)]),
    attr("4322", &[N(1)]),
    attr("4323", &[N(1)]),
    attr("4324", &[N(10)]),
    attr("4325", &[N(10)]),
    attr("4326", &[N(6)]),
];

static MEASURE: Ai = attr("31nn-36nn", &[N(6)]);
static AMOUNT: Ai = attr("3900-3909", &[Nv(1, 15)]);
static AMOUNT_ISO: Ai = attr("3910-3919", &[N(3), Nv(1, 15)]);
static PERCENT: Ai = attr("3940-3943", &[N(4)]);
static PER_UNIT: Ai = attr("3950-3955", &[N(6)]);
static PROCESSOR: Ai = attr("7030-7039", &[N(3), X(1, 27)]);
static CERTIFICATION: Ai = attr("7230-7239", &[X(2, 30)]);
static INTERNAL: Ai = attr("91-99", &[X(1, 90)]);

/// The AI a path name or query key stands for (numeric code, or a short name in a path).
fn lookup(code: &str, in_path: bool) -> Option<&'static Ai> {
    if let Some(a) = AIS.iter().find(|a| a.code == code || (in_path && a.short == Some(code))) {
        return Some(a);
    }
    let b = code.as_bytes();
    if !code.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match b {
        [b'3', b'1'..=b'6', _, b'0'..=b'5'] => Some(&MEASURE),
        [b'3', b'9', b'0' | b'2', _] => Some(&AMOUNT),
        [b'3', b'9', b'1' | b'3', _] => Some(&AMOUNT_ISO),
        [b'3', b'9', b'4', b'0'..=b'3'] => Some(&PERCENT),
        [b'3', b'9', b'5', b'0'..=b'5'] => Some(&PER_UNIT),
        [b'7', b'0', b'3', _] => Some(&PROCESSOR),
        [b'7', b'2', b'3', _] => Some(&CERTIFICATION),
        [b'9', b'1'..=b'9'] => Some(&INTERNAL),
        _ => None,
    }
}

/// Key qualifier sequences a primary key allows, each in the standard's order (every element
/// optional unless the sequence is the only way the key is written with it).
fn qualifier_paths(primary: &str) -> &'static [&'static [&'static str]] {
    match primary {
        "01" => &[&["22", "10", "21"], &["235"]],
        "8006" => &[&["22", "10", "21"]],
        "8010" => &[&["8011"]],
        "414" => &[&["254"], &["7040"]],
        "417" | "8004" => &[&["7040"]],
        "8017" | "8018" => &[&["8019"]],
        _ => &[&[]],
    }
}

/// CSET 82 (GS1 General Specifications figure 7.11-1).
fn cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

/// CSET 39.
fn cset39(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || "#-/".contains(c)
}

/// The GS1 mod-10 check digit over `body`.
pub fn mod10(body: &str) -> u32 {
    body.bytes().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum::<u32>() % 10
}

fn check_ok(key: &str) -> bool {
    let Some((body, cd)) = key.split_at_checked(key.len().saturating_sub(1)) else {
        return false;
    };
    !body.is_empty() && u32::from(cd.as_bytes()[0] - b'0') == (10 - mod10(body)) % 10
}

/// Decode a path segment or query value: raw `A–Z a–z 0–9 - . _` and `%XX` escapes only.
fn decode(uri: &str, part: &str, s: &str) -> Result<String, DigitalLinkError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| bad(uri, part, "a % must be followed by two hex digits"))?;
            let v =
                u8::from_str_radix(hex, 16).map_err(|_| bad(uri, part, "a % must be followed by two hex digits"))?;
            out.push(v);
            i += 3;
        } else if c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_' {
            out.push(c);
            i += 1;
        } else {
            return Err(bad(
                uri,
                part,
                format!("{:?} must be percent-encoded (only A-Z a-z 0-9 - . _ may appear unencoded)", c as char),
            ));
        }
    }
    String::from_utf8(out).map_err(|_| bad(uri, part, "percent-encoding does not decode to UTF-8"))
}

/// Percent-encode a value for the canonical URI (everything but `A–Z a–z 0–9 - . _`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Check a decoded value against its AI's format; `part` names it in errors.
fn check_value(uri: &str, a: &Ai, part: &str, value: &str) -> Result<(), DigitalLinkError> {
    let mut rest = value;
    let n = a.parts.len();
    for (i, p) in a.parts.iter().enumerate() {
        let last = i + 1 == n;
        let (min, max, ok): (usize, usize, fn(char) -> bool) = match *p {
            N(k) => (k, k, |c| c.is_ascii_digit()),
            Nv(lo, hi) => (lo, hi, |c| c.is_ascii_digit()),
            X(lo, hi) => (lo, hi, cset82),
            Y(lo, hi) => (lo, hi, cset39),
        };
        let take = if last { rest.chars().count() } else { max.min(rest.chars().count()) };
        let seg: String = rest.chars().take(take).collect();
        let seg_len = seg.chars().count();
        if seg_len < min || seg_len > max {
            let what = match *p {
                N(k) => format!("{k} digits"),
                Nv(lo, hi) => format!("{lo} to {hi} digits"),
                X(lo, hi) => format!("{lo} to {hi} characters of GS1 character set 82"),
                Y(lo, hi) => format!("{lo} to {hi} characters of GS1 character set 39"),
            };
            let whole = a.parts.len() > 1;
            return Err(bad(
                uri,
                part,
                format!("AI ({}) {}needs {what}", a.code, if whole { "component " } else { "" }),
            ));
        }
        if let Some(c) = seg.chars().find(|c| !ok(*c)) {
            let set = match *p {
                N(_) | Nv(..) => "digits only",
                X(..) => "GS1 character set 82",
                Y(..) => "GS1 character set 39 (0-9 A-Z # - /)",
            };
            return Err(bad(uri, part, format!("AI ({}) allows {set}; {c:?} is not allowed", a.code)));
        }
        if i == 0 && a.check && !check_ok(&seg) {
            let (body, cd) = seg.split_at(seg.len() - 1);
            return Err(bad(
                uri,
                part,
                format!("AI ({}) check digit is {cd}, expected {}", a.code, (10 - mod10(body)) % 10),
            ));
        }
        if a.date {
            let mm: u32 = seg[2..4].parse().unwrap_or(0);
            let dd: u32 = seg[4..6].parse().unwrap_or(99);
            if !(1..=12).contains(&mm) || dd > 31 {
                return Err(bad(uri, part, format!("AI ({}) is a date YYMMDD", a.code)));
            }
        }
        rest = &rest[seg.len()..];
    }
    Ok(())
}

/// A parsed GS1 Digital Link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitalLink {
    /// `https://host` (or `http://host`) as written.
    pub origin: String,
    /// Path before the primary key (e.g. `/some/prefix`), as written.
    pub path_prefix: String,
    /// Primary key: numeric AI and decoded value (a GTIN as GTIN-14).
    pub primary: (String, String),
    /// Key qualifiers in path order: numeric AI and decoded value.
    pub qualifiers: Vec<(String, String)>,
    /// GS1 data attributes from the query string: numeric AI and decoded value.
    pub attributes: Vec<(String, String)>,
    /// Other query parameters (e.g. `linkType`), decoded.
    pub other_query: Vec<(String, String)>,
}

impl DigitalLink {
    /// The canonical Digital Link of the key: `https://id.gs1.org/{AI}/{value}[/{AI}/{value}…]`.
    pub fn canonical_uri(&self) -> String {
        let mut s = format!("{CANONICAL_HOST}/{}/{}", self.primary.0, encode(&self.primary.1));
        for (a, v) in &self.qualifiers {
            s.push_str(&format!("/{a}/{}", encode(v)));
        }
        s
    }
    /// The qualifier value of an AI, if present.
    pub fn qualifier(&self, ai: &str) -> Option<&str> {
        self.qualifiers.iter().find(|(a, _)| a == ai).map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for DigitalLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical_uri())
    }
}

/// Parse an uncompressed GS1 Digital Link URI strictly.
pub fn parse(uri: &str) -> Result<DigitalLink, DigitalLinkError> {
    if uri.len() > MAX_URI {
        return Err(bad(uri, "URI", format!("longer than {MAX_URI} characters")));
    }
    let (scheme, rest) = if let Some(r) = uri.strip_prefix("https://") {
        ("https://", r)
    } else if let Some(r) = uri.strip_prefix("http://") {
        ("http://", r)
    } else {
        return Err(bad(uri, "scheme", "a Digital Link starts with https:// or http://"));
    };
    let (before_frag, _fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (hier, query) = before_frag.split_once('?').unwrap_or((before_frag, ""));
    let slash = hier.find('/').ok_or_else(|| bad(uri, "path", "no path: the primary key is missing"))?;
    let (host, path) = hier.split_at(slash);
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
        return Err(bad(uri, "host", "not a valid host name"));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(bad(uri, "path", "empty path segment"));
    }
    // The primary key is the first position from which the rest of the path is a valid GS1 path.
    let mut first_err: Option<DigitalLinkError> = None;
    for start in 0..segs.len() {
        let Some(a) = lookup(segs[start], true).filter(|a| a.role == Role::Primary) else {
            continue;
        };
        match parse_path(uri, a, &segs[start..]) {
            Ok((primary, qualifiers)) => {
                let prefix = if start == 0 { String::new() } else { format!("/{}", segs[..start].join("/")) };
                let (attributes, other_query) = parse_query(uri, query)?;
                return Ok(DigitalLink {
                    origin: format!("{scheme}{host}"),
                    path_prefix: prefix,
                    primary,
                    qualifiers,
                    attributes,
                    other_query,
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        bad(
            uri,
            "path",
            "no GS1 primary key (00, 01, 253, 255, 401, 402, 414, 417, 8003, 8004, 8006, 8010, 8013, 8017, 8018)",
        )
    }))
}

type KeyParts = ((String, String), Vec<(String, String)>);

fn parse_path(uri: &str, key: &Ai, segs: &[&str]) -> Result<KeyParts, DigitalLinkError> {
    let pair = |i: usize| -> Result<(&'static Ai, String, String), DigitalLinkError> {
        let name = segs[i];
        let a = lookup(name, true).ok_or_else(|| bad(uri, format!("/{name}"), "not a GS1 Application Identifier"))?;
        let raw = segs.get(i + 1).ok_or_else(|| bad(uri, format!("/{name}"), "has no value"))?;
        let part = format!("/{name}/{raw}");
        let v = decode(uri, &part, raw)?;
        Ok((a, v, part))
    };
    let (_, mut value, part) = pair(0)?;
    if key.code == "01" && [8, 12, 13].contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        value = format!("{value:0>14}");
    }
    check_value(uri, key, &part, &value)?;
    let mut qualifiers = Vec::new();
    let mut i = 2;
    while i < segs.len() {
        let (a, v, part) = pair(i)?;
        if a.role != Role::Qualifier {
            return Err(bad(uri, part, format!("AI ({}) is not a key qualifier", a.code)));
        }
        check_value(uri, a, &part, &v)?;
        qualifiers.push((a.code.to_string(), v, part));
        i += 2;
    }
    // The qualifiers must follow one of the key's allowed sequences, in order.
    let codes: Vec<&str> = qualifiers.iter().map(|(c, _, _)| c.as_str()).collect();
    let fits = |seq: &[&str]| {
        let mut pos = 0;
        codes.iter().all(|c| match seq[pos..].iter().position(|s| s == c) {
            Some(p) => {
                pos += p + 1;
                true
            }
            None => false,
        })
    };
    if !codes.is_empty() && !qualifier_paths(key.code).iter().any(|seq| fits(seq)) {
        let allowed: Vec<String> =
            qualifier_paths(key.code).iter().filter(|s| !s.is_empty()).map(|s| s.join(" then ")).collect();
        let rule = if allowed.is_empty() {
            format!("AI ({}) takes no key qualifiers", key.code)
        } else {
            format!("AI ({}) allows key qualifiers {} (each optional, in that order)", key.code, allowed.join(", or "))
        };
        let part = qualifiers.iter().map(|(_, _, p)| p.as_str()).collect::<String>();
        return Err(bad(uri, part, rule));
    }
    if key.code == "01" && codes == ["235"] || key.code == "414" && codes == ["7040"] {
        // Single-element alternative sequences are complete on their own.
    }
    Ok(((key.code.to_string(), value), qualifiers.into_iter().map(|(c, v, _)| (c, v)).collect()))
}

type Query = (Vec<(String, String)>, Vec<(String, String)>);

fn parse_query(uri: &str, query: &str) -> Result<Query, DigitalLinkError> {
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut other = Vec::new();
    if query.is_empty() {
        return Ok((attributes, other));
    }
    for kv in query.split('&') {
        if kv.is_empty() {
            continue;
        }
        let (k, raw) = kv.split_once('=').unwrap_or((kv, ""));
        let part = format!("?{kv}");
        if k.bytes().all(|b| b.is_ascii_digit()) && !k.is_empty() {
            let a = lookup(k, false)
                .ok_or_else(|| bad(uri, &part, format!("({k}) is not a GS1 Application Identifier")))?;
            if a.role != Role::Attribute {
                return Err(bad(
                    uri,
                    &part,
                    format!("AI ({k}) is a primary key or key qualifier; it belongs in the path, not the query"),
                ));
            }
            if attributes.iter().any(|(c, _)| c == k) {
                return Err(bad(uri, &part, format!("AI ({k}) appears twice")));
            }
            let v = decode(uri, &part, raw)?;
            check_value(uri, a, &part, &v)?;
            attributes.push((k.to_string(), v));
        } else {
            let key = decode(uri, &part, k)?;
            let v = decode(uri, &part, &raw.replace('+', "%20")).unwrap_or_else(|_| raw.to_string());
            other.push((key, v));
        }
    }
    Ok((attributes, other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_examples_parse_to_their_parts() {
        // Examples from the GS1 Digital Link standard 1.1 (sections 4 and 6).
        let dl = parse("https://id.gs1.org/01/09520123456788/10/ABC123/21/12345?17=180426").expect("gtin");
        assert_eq!(dl.primary, ("01".into(), "09520123456788".into()));
        assert_eq!(dl.qualifiers, vec![("10".into(), "ABC123".into()), ("21".into(), "12345".into())]);
        assert_eq!(dl.attributes, vec![("17".into(), "180426".into())]);
        assert_eq!(dl.canonical_uri(), "https://id.gs1.org/01/09520123456788/10/ABC123/21/12345");
        let short = parse("https://example.com/gtin/9520123456788/lot/ABC123/ser/12345").expect("short names");
        assert_eq!(short.canonical_uri(), dl.canonical_uri());
        let prefixed = parse("https://brand.example.com/some/path/01/09520123456788?linkType=gs1:pip").expect("prefix");
        assert_eq!(prefixed.path_prefix, "/some/path");
        assert_eq!(prefixed.other_query, vec![("linkType".into(), "gs1:pip".into())]);
        let sscc = parse("https://id.gs1.org/00/095201234567891235").expect("sscc");
        assert_eq!(sscc.primary.0, "00");
        let gln = parse("https://id.gs1.org/414/9520123456788/254/32a%2Fb").expect("gln + ext");
        assert_eq!(gln.qualifier("254"), Some("32a/b"));
        assert_eq!(gln.canonical_uri(), "https://id.gs1.org/414/9520123456788/254/32a%2Fb");
        assert!(parse("https://id.gs1.org/253/4602443000331XYZ").is_ok());
        assert!(parse("https://id.gs1.org/8003/03870585000552987").is_ok());
        assert!(parse("https://id.gs1.org/8006/095201234567880102/21/A1").is_ok());
        assert!(parse("https://id.gs1.org/01/09520123456788/235/TPX1").is_ok());
    }

    #[test]
    fn violations_name_the_part_and_the_rule() {
        let rule = |uri: &str| match parse(uri) {
            Err(DigitalLinkError::Invalid { part, rule, .. }) => format!("{part} | {rule}"),
            Ok(dl) => format!("accepted {dl}"),
        };
        assert_eq!(
            rule("https://id.gs1.org/01/09520123456789"),
            "/01/09520123456789 | AI (01) check digit is 9, expected 8"
        );
        assert!(rule("https://id.gs1.org/01/09520123456788/21/S/10/L").contains("in that order"));
        assert!(rule("https://id.gs1.org/01/09520123456788/10/ABCDEFGHIJKLMNOPQRSTU").contains("1 to 20 characters"));
        assert!(rule("https://id.gs1.org/01/09520123456788/10/A~B").contains("must be percent-encoded"));
        assert!(rule("https://id.gs1.org/01/09520123456788/10/A%7EB").contains("character set 82"));
        assert!(rule("https://id.gs1.org/00/09520123456789123").contains("18 digits"));
        assert!(rule("https://id.gs1.org/01/09520123456788?17=181332").contains("date"));
        assert!(rule("https://id.gs1.org/01/09520123456788?10=LOT").contains("belongs in the path"));
        assert!(rule("https://id.gs1.org/01/09520123456788?99999=1").contains("not a GS1 Application Identifier"));
        assert!(rule("https://id.gs1.org/00/095201234567891235/10/L").contains("takes no key qualifiers"));
        assert!(rule("https://id.gs1.org/8010/abc").contains("character set 39"));
        assert!(rule("ftp://id.gs1.org/01/09520123456788").contains("scheme"));
        assert!(rule("https://example.com/no/key/here").contains("no GS1 primary key"));
    }
}
