//! GS1 identifiers: check digits, GTIN normalisation, the GS1 keys the trace index uses (SGTIN, LGTIN,
//! SSCC, SGLN, PGLN, GIAI) in EPC URN and Digital Link form, and [`validate_identifier`] for every
//! scheme (strict parsers in [`super::epc`] and [`super::digital_link`]).
//!
//! EPC URNs carry the GS1 company-prefix length (the dot position); a Digital Link does not, so
//! converting a Digital Link back to a URN needs the company-prefix length from the caller (a GEPIR-style
//! lookup lives outside the domain).

use std::fmt;

/// The canonical Digital Link host used for identifiers on chain.
pub const CANONICAL_DL_HOST: &str = "https://id.gs1.org";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    #[error("{0:?} must be digits only")]
    NotDigits(String),
    #[error("{value:?} has {len} digits; a GTIN has 8, 12, 13 or 14")]
    GtinLength { value: String, len: usize },
    #[error("{value:?} has check digit {found}, expected {expected}")]
    CheckDigit { value: String, found: u8, expected: u8 },
    #[error("{0:?} is not a supported EPC URN (urn:epc:id:sgtin|sscc|sgln|pgln|giai, urn:epc:class:lgtin)")]
    UnsupportedUrn(String),
    #[error("{value:?}: {reason}")]
    BadUrn { value: String, reason: String },
    #[error("{value:?} is not a GS1 Digital Link URI: {reason}")]
    BadDigitalLink { value: String, reason: String },
    #[error("company prefix length {0} must be 6..=12")]
    PrefixLength(usize),
}

/// The GS1 mod-10 check digit of `body` (digits without the check digit): weights 3, 1, 3, ... from
/// the right.
pub fn check_digit(body: &str) -> Result<u8, Gs1Error> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::NotDigits(body.to_string()));
    }
    let sum: u32 =
        body.bytes().rev().enumerate().map(|(i, b)| (b - b'0') as u32 * if i % 2 == 0 { 3 } else { 1 }).sum();
    Ok(((10 - sum % 10) % 10) as u8)
}

/// Check a full key (body + check digit).
pub fn validate_check_digit(key: &str) -> Result<(), Gs1Error> {
    if key.len() < 2 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::NotDigits(key.to_string()));
    }
    let (body, cd) = key.split_at(key.len() - 1);
    let expected = check_digit(body)?;
    let found = cd.as_bytes()[0] - b'0';
    if found != expected {
        return Err(Gs1Error::CheckDigit { value: key.to_string(), found, expected });
    }
    Ok(())
}

/// Validate a GTIN-8/12/13/14 and return it as GTIN-14 (left-padded with zeros).
pub fn gtin14(gtin: &str) -> Result<String, Gs1Error> {
    if !gtin.bytes().all(|b| b.is_ascii_digit()) || gtin.is_empty() {
        return Err(Gs1Error::NotDigits(gtin.to_string()));
    }
    if ![8, 12, 13, 14].contains(&gtin.len()) {
        return Err(Gs1Error::GtinLength { value: gtin.to_string(), len: gtin.len() });
    }
    validate_check_digit(gtin)?;
    Ok(format!("{gtin:0>14}"))
}

/// The GS1 key an EPC URN or Digital Link names, in a form independent of how it was written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Gs1Key {
    /// Serialised trade item (SGTIN): GTIN-14 + serial (as in the Digital Link, percent-encoded).
    Sgtin { gtin: String, serial: String },
    /// A lot of a trade item (LGTIN, GTIN + batch/lot).
    Lgtin { gtin: String, lot: String },
    /// Class-level GTIN (an `idpat` / bare `/01/` identifier).
    Gtin { gtin: String },
    /// Logistic unit (SSCC-18).
    Sscc { sscc: String },
    /// Location (GLN-13 + extension, `0` or empty for none).
    Sgln { gln: String, ext: String },
    /// Party (PGLN).
    Pgln { gln: String },
    /// Individual asset (GIAI).
    Giai { giai: String },
}

impl Gs1Key {
    /// The canonical Digital Link URI (`https://id.gs1.org/...`).
    pub fn digital_link(&self) -> String {
        self.digital_link_on(CANONICAL_DL_HOST)
    }
    /// The Digital Link on another resolver host (e.g. the platform's own `https://trace.example.cn`).
    pub fn digital_link_on(&self, host: &str) -> String {
        let host = host.trim_end_matches('/');
        match self {
            Gs1Key::Sgtin { gtin, serial } => format!("{host}/01/{gtin}/21/{serial}"),
            Gs1Key::Lgtin { gtin, lot } => format!("{host}/01/{gtin}/10/{lot}"),
            Gs1Key::Gtin { gtin } => format!("{host}/01/{gtin}"),
            Gs1Key::Sscc { sscc } => format!("{host}/00/{sscc}"),
            Gs1Key::Sgln { gln, ext } if ext.is_empty() || ext == "0" => format!("{host}/414/{gln}"),
            Gs1Key::Sgln { gln, ext } => format!("{host}/414/{gln}/254/{ext}"),
            Gs1Key::Pgln { gln } => format!("{host}/417/{gln}"),
            Gs1Key::Giai { giai } => format!("{host}/8004/{giai}"),
        }
    }
    /// The class-level key (GTIN + lot or GTIN) an item belongs to, when it is a trade item.
    pub fn gtin(&self) -> Option<&str> {
        match self {
            Gs1Key::Sgtin { gtin, .. } | Gs1Key::Lgtin { gtin, .. } | Gs1Key::Gtin { gtin } => Some(gtin),
            _ => None,
        }
    }
}

impl fmt::Display for Gs1Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digital_link())
    }
}

/// Characters the GS1 reference hash implementation percent-encodes when it moves an EPC URN component
/// into a Digital Link (GS1 Digital Link standard, table 7-1, less those EPC URNs already forbid).
pub fn dl_percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            _ => out.push(c),
        }
    }
    out
}

/// Undo [`dl_percent_encode`] and the URN escapes (`%22 %25 %26 %2F %3C %3E %3F`), giving the plain
/// GS1 AI value.
pub fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| format!("truncated escape at {i}"))?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape %{hex}"))?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "escapes do not decode to UTF-8".to_string())
}

/// Escape a plain AI value for an EPC URN (TDS 1.x: `"` `%` `&` `/` `<` `>` `?` are escaped).
pub fn urn_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("%22"),
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '/' => out.push_str("%2F"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '?' => out.push_str("%3F"),
            _ => out.push(c),
        }
    }
    out
}

/// Escape a plain AI value for a Digital Link path segment (RFC 3986 unreserved kept, the rest
/// percent-encoded).
pub fn dl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'\'' | b';' | b'=') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The component grammar of EPC URNs (GS1 AI encodable character set 82, with `%xx` escapes), as the
/// GS1 reference implementation's patterns accept it: counts characters (an escape is one) and returns
/// the count, or None when a character is not allowed.
fn epc_component_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let h1 = *b.get(i + 1)?;
            let h2 = *b.get(i + 2)?;
            let ok = match h1 {
                b'2' => matches!(h2, b'1' | b'2' | b'5'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'3' => h2.is_ascii_hexdigit(),
                b'4' => matches!(h2, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'5' => matches!(h2, b'0'..=b'9' | b'A' | b'a' | b'F' | b'f'),
                b'6' => matches!(h2, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'7' => matches!(h2, b'0'..=b'9' | b'A' | b'a'),
                _ => false,
            };
            if !ok {
                return None;
            }
            i += 3;
        } else if c.is_ascii_alphanumeric() || b"!')(*+,.:;=_-".contains(&c) {
            i += 1;
        } else {
            return None;
        }
        n += 1;
    }
    Some(n)
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn bad_urn(value: &str, reason: impl Into<String>) -> Gs1Error {
    Gs1Error::BadUrn { value: value.to_string(), reason: reason.into() }
}

/// Split `cp.rest` with a company prefix of 6..=12 digits; `rest_len` gives the digits the second field
/// must have for a given prefix length.
fn split_prefixed<'a>(
    urn: &str,
    body: &'a str,
    rest_len: impl Fn(usize) -> usize,
) -> Result<(&'a str, &'a str, &'a str), Gs1Error> {
    let (cp, rest) = body.split_once('.').ok_or_else(|| bad_urn(urn, "missing '.' after the company prefix"))?;
    if !digits(cp) || !(6..=12).contains(&cp.len()) {
        return Err(bad_urn(urn, "company prefix must be 6..=12 digits"));
    }
    let want = rest_len(cp.len());
    let (field, tail) = match rest.split_once('.') {
        Some((f, t)) => (f, t),
        None => (rest, ""),
    };
    if field.len() != want || !(field.is_empty() || digits(field)) {
        return Err(bad_urn(
            urn,
            format!("with a {}-digit company prefix the reference must be {want} digits", cp.len()),
        ));
    }
    Ok((cp, field, tail))
}

/// Parse an EPC URN (pure identity `urn:epc:id:...`, class `urn:epc:class:lgtin:...` or the pattern
/// `urn:epc:idpat:sgtin:cp.item.*`) into its GS1 key.
pub fn parse_epc_urn(urn: &str) -> Result<Gs1Key, Gs1Error> {
    let gtin_from = |cp: &str, item: &str| -> String {
        let raw = format!("{}{}{}", &item[..1], cp, &item[1..]);
        let cd = check_digit(&raw).unwrap_or(0);
        format!("{raw}{cd}")
    };
    if let Some(body) = urn.strip_prefix("urn:epc:id:sgtin:") {
        let (cp, item, serial) = split_prefixed(urn, body, |l| 13 - l)?;
        match epc_component_len(serial) {
            Some(1..=20) => {}
            _ => return Err(bad_urn(urn, "serial must be 1..=20 characters of the GS1 set")),
        }
        return Ok(Gs1Key::Sgtin { gtin: gtin_from(cp, item), serial: dl_percent_encode(serial) });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:class:lgtin:") {
        let (cp, item, lot) = split_prefixed(urn, body, |l| 13 - l)?;
        match epc_component_len(lot) {
            Some(1..=20) => {}
            _ => return Err(bad_urn(urn, "lot must be 1..=20 characters of the GS1 set")),
        }
        return Ok(Gs1Key::Lgtin { gtin: gtin_from(cp, item), lot: dl_percent_encode(lot) });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:idpat:sgtin:") {
        let (cp, item, star) = split_prefixed(urn, body, |l| 13 - l)?;
        if star != "*" {
            return Err(bad_urn(urn, "an SGTIN pattern ends in .*"));
        }
        return Ok(Gs1Key::Gtin { gtin: gtin_from(cp, item) });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:id:sscc:") {
        let (cp, serial_ref, tail) = split_prefixed(urn, body, |l| 17 - l)?;
        if !tail.is_empty() || body.matches('.').count() != 1 {
            return Err(bad_urn(urn, "an SSCC URN is cp.serialref"));
        }
        let raw = format!("{}{}{}", &serial_ref[..1], cp, &serial_ref[1..]);
        let cd = check_digit(&raw)?;
        return Ok(Gs1Key::Sscc { sscc: format!("{raw}{cd}") });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:id:sgln:") {
        let (cp, loc, ext) = split_prefixed(urn, body, |l| 12 - l)?;
        match epc_component_len(ext) {
            Some(1..=20) => {}
            _ => return Err(bad_urn(urn, "extension must be 1..=20 characters (0 for none)")),
        }
        let raw = format!("{cp}{loc}");
        let cd = check_digit(&raw)?;
        return Ok(Gs1Key::Sgln { gln: format!("{raw}{cd}"), ext: dl_percent_encode(ext) });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:id:pgln:") {
        let (cp, party, tail) = split_prefixed(urn, body, |l| 12 - l)?;
        if !tail.is_empty() || body.matches('.').count() != 1 {
            return Err(bad_urn(urn, "a PGLN URN is cp.partyref"));
        }
        let raw = format!("{cp}{party}");
        let cd = check_digit(&raw)?;
        return Ok(Gs1Key::Pgln { gln: format!("{raw}{cd}") });
    }
    if let Some(body) = urn.strip_prefix("urn:epc:id:giai:") {
        let (cp, asset) = body.split_once('.').ok_or_else(|| bad_urn(urn, "missing '.' after the company prefix"))?;
        if !digits(cp) || !(6..=12).contains(&cp.len()) {
            return Err(bad_urn(urn, "company prefix must be 6..=12 digits"));
        }
        match epc_component_len(asset) {
            Some(n) if n >= 1 && n <= 30 - cp.len() => {}
            _ => return Err(bad_urn(urn, "asset reference must be 1..=30-cp characters of the GS1 set")),
        }
        return Ok(Gs1Key::Giai { giai: format!("{cp}{}", dl_percent_encode(asset)) });
    }
    Err(Gs1Error::UnsupportedUrn(urn.to_string()))
}

/// EPC URN → canonical GS1 Digital Link.
pub fn epc_urn_to_digital_link(urn: &str) -> Result<String, Gs1Error> {
    parse_epc_urn(urn).map(|k| k.digital_link())
}

/// A parsed GS1 Digital Link (primary key and the key qualifiers this platform uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitalLink {
    pub key: Gs1Key,
}

/// Parse a GS1 Digital Link URI on any host: `/01/{gtin}[/10/{lot}][/21/{serial}]`, `/00/{sscc}`,
/// `/414/{gln}[/254/{ext}]`, `/417/{gln}`, `/8004/{giai}`, with short names (`gtin`, `lot`, `ser`,
/// `sscc`, `gln`, `party`, `giai`) too. Query string and fragment are ignored; a serial wins over a lot.
pub fn parse_digital_link(uri: &str) -> Result<Gs1Key, Gs1Error> {
    let bad = |reason: &str| Gs1Error::BadDigitalLink { value: uri.to_string(), reason: reason.to_string() };
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path = rest.find('/').map(|i| &rest[i..]).ok_or_else(|| bad("no path"))?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ai = |s: &str| -> Option<&'static str> {
        Some(match s {
            "01" | "gtin" => "01",
            "00" | "sscc" => "00",
            "414" | "gln" => "414",
            "417" | "party" => "417",
            "8004" | "giai" => "8004",
            _ => return None,
        })
    };
    let start =
        segs.iter().position(|s| ai(s).is_some()).ok_or_else(|| bad("no primary key (01, 00, 414, 417, 8004)"))?;
    let key_ai = ai(segs[start]).unwrap_or("");
    let value = segs.get(start + 1).ok_or_else(|| bad("primary key has no value"))?;
    let mut quals: Vec<(&str, &str)> = Vec::new();
    let mut i = start + 2;
    while i + 1 < segs.len() {
        quals.push((segs[i], segs[i + 1]));
        i += 2;
    }
    if i < segs.len() {
        return Err(bad("a key qualifier has no value"));
    }
    let qual = |names: &[&str]| quals.iter().find(|(k, _)| names.contains(k)).map(|(_, v)| v.to_string());
    match key_ai {
        "01" => {
            let gtin = gtin14(value).map_err(|e| bad(&e.to_string()))?;
            for (k, _) in &quals {
                if !["10", "lot", "21", "ser", "22", "cpv"].contains(k) {
                    return Err(bad(&format!("unsupported key qualifier {k}")));
                }
            }
            if let Some(serial) = qual(&["21", "ser"]) {
                Ok(Gs1Key::Sgtin { gtin, serial })
            } else if let Some(lot) = qual(&["10", "lot"]) {
                Ok(Gs1Key::Lgtin { gtin, lot })
            } else {
                Ok(Gs1Key::Gtin { gtin })
            }
        }
        "00" => {
            if value.len() != 18 {
                return Err(bad("an SSCC has 18 digits"));
            }
            validate_check_digit(value).map_err(|e| bad(&e.to_string()))?;
            Ok(Gs1Key::Sscc { sscc: value.to_string() })
        }
        "414" | "417" => {
            if value.len() != 13 {
                return Err(bad("a GLN has 13 digits"));
            }
            validate_check_digit(value).map_err(|e| bad(&e.to_string()))?;
            if key_ai == "417" {
                Ok(Gs1Key::Pgln { gln: value.to_string() })
            } else {
                Ok(Gs1Key::Sgln { gln: value.to_string(), ext: qual(&["254"]).unwrap_or_default() })
            }
        }
        _ => Ok(Gs1Key::Giai { giai: value.to_string() }),
    }
}

/// Parse either form (EPC URN or Digital Link) into a GS1 key.
pub fn parse_gs1_key(s: &str) -> Result<Gs1Key, Gs1Error> {
    if s.starts_with("urn:") {
        parse_epc_urn(s)
    } else {
        parse_digital_link(s)
    }
}

/// Digital Link → EPC URN. `company_prefix_len` (6..=12) says where the GS1 company prefix ends: a
/// Digital Link does not carry it.
pub fn digital_link_to_epc_urn(uri: &str, company_prefix_len: usize) -> Result<String, Gs1Error> {
    if !(6..=12).contains(&company_prefix_len) {
        return Err(Gs1Error::PrefixLength(company_prefix_len));
    }
    let cp = company_prefix_len;
    let key = parse_digital_link(uri)?;
    let urn_value = |v: &str| -> Result<String, Gs1Error> {
        let plain = percent_decode(v).map_err(|reason| Gs1Error::BadDigitalLink { value: uri.to_string(), reason })?;
        Ok(urn_escape(&plain))
    };
    let gtin_parts = |gtin: &str| -> (String, String) {
        // GTIN-14 = indicator + company prefix + item ref + check digit.
        let cpx = gtin[1..1 + cp].to_string();
        let item = format!("{}{}", &gtin[..1], &gtin[1 + cp..13]);
        (cpx, item)
    };
    match key {
        Gs1Key::Sgtin { gtin, serial } => {
            let (c, i) = gtin_parts(&gtin);
            Ok(format!("urn:epc:id:sgtin:{c}.{i}.{}", urn_value(&serial)?))
        }
        Gs1Key::Lgtin { gtin, lot } => {
            let (c, i) = gtin_parts(&gtin);
            Ok(format!("urn:epc:class:lgtin:{c}.{i}.{}", urn_value(&lot)?))
        }
        Gs1Key::Gtin { gtin } => {
            let (c, i) = gtin_parts(&gtin);
            Ok(format!("urn:epc:idpat:sgtin:{c}.{i}.*"))
        }
        Gs1Key::Sscc { sscc } => {
            Ok(format!("urn:epc:id:sscc:{}.{}{}", &sscc[1..1 + cp], &sscc[..1], &sscc[1 + cp..17]))
        }
        Gs1Key::Sgln { gln, ext } => {
            let ext = if ext.is_empty() { "0".to_string() } else { urn_value(&ext)? };
            Ok(format!("urn:epc:id:sgln:{}.{}.{ext}", &gln[..cp], &gln[cp..12]))
        }
        Gs1Key::Pgln { gln } => Ok(format!("urn:epc:id:pgln:{}.{}", &gln[..cp], &gln[cp..12])),
        Gs1Key::Giai { giai } => {
            if giai.len() <= cp || !giai.is_char_boundary(cp) {
                return Err(Gs1Error::BadDigitalLink {
                    value: uri.to_string(),
                    reason: "GIAI shorter than the company prefix".into(),
                });
            }
            Ok(format!("urn:epc:id:giai:{}.{}", &giai[..cp], urn_value(&giai[cp..])?))
        }
    }
}

/// `https://{host}/01/{gtin14}/10/{lot}` for a lot (the URI a lot's QR code encodes).
pub fn lot_digital_link(host: &str, gtin: &str, lot: &str) -> Result<String, Gs1Error> {
    Ok(Gs1Key::Lgtin { gtin: gtin14(gtin)?, lot: dl_escape(lot) }.digital_link_on(host))
}

/// `https://{host}/01/{gtin14}/21/{serial}` for one serialised item.
pub fn serial_digital_link(host: &str, gtin: &str, serial: &str) -> Result<String, Gs1Error> {
    Ok(Gs1Key::Sgtin { gtin: gtin14(gtin)?, serial: dl_escape(serial) }.digital_link_on(host))
}

/// Why an identifier that names a GS1 key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error(transparent)]
    Epc(#[from] super::epc::EpcError),
    #[error(transparent)]
    DigitalLink(#[from] super::digital_link::DigitalLinkError),
}

/// Check an identifier that names a GS1 key: an EPC URN must follow the Tag Data Standard, and a URI
/// the event hash treats as a GS1 Digital Link must be one (key, qualifiers, check digits). Other
/// URIs are not GS1 keys and pass.
pub fn validate_identifier(s: &str) -> Result<(), IdentifierError> {
    if s.starts_with("urn:epc:id:") || s.starts_with("urn:epc:class:") || s.starts_with("urn:epc:idpat:") {
        super::epc::validate(s)?;
    } else if super::canon::names_gs1_key(s) {
        super::digital_link::parse(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_all_gtin_lengths() {
        // Published GS1 examples.
        assert_eq!(gtin14("96385074").as_deref(), Ok("00000096385074")); // GTIN-8
        assert_eq!(gtin14("614141000036").as_deref(), Ok("00614141000036")); // GTIN-12 (UPC-A)
        assert_eq!(gtin14("4006381333931").as_deref(), Ok("04006381333931")); // GTIN-13 (EAN)
        assert_eq!(gtin14("10614141073464").as_deref(), Ok("10614141073464")); // GTIN-14
        assert_eq!(gtin14("6901234567892").as_deref(), Ok("06901234567892"));
        assert!(matches!(gtin14("4006381333932"), Err(Gs1Error::CheckDigit { expected: 1, found: 2, .. })));
        assert!(matches!(gtin14("400638133393"), Err(Gs1Error::CheckDigit { .. })));
        assert!(matches!(gtin14("12345"), Err(Gs1Error::GtinLength { .. })));
        assert!(matches!(gtin14("40063813339a1"), Err(Gs1Error::NotDigits(_))));
        assert!(matches!(gtin14(""), Err(Gs1Error::NotDigits(_))));
        // SSCC and GLN use the same algorithm.
        assert!(validate_check_digit("106141411234567897").is_ok());
        assert!(validate_check_digit("0614141000418").is_ok());
    }

    #[test]
    fn urn_to_digital_link_and_back() {
        let cases = [
            ("urn:epc:id:sgtin:0614141.107346.2018", "https://id.gs1.org/01/10614141073464/21/2018", 7),
            ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877", 7),
            ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908", 7),
            ("urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/0614141007776", 7),
            ("urn:epc:id:sgln:0614141.00888.1A", "https://id.gs1.org/414/0614141008889/254/1A", 7),
            ("urn:epc:id:pgln:0614141.00001", "https://id.gs1.org/417/0614141000012", 7),
            ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111", 7),
            ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652", 7),
            ("urn:epc:id:sgtin:6901234.000001.A%2FB", "https://id.gs1.org/01/06901234000016/21/A%2FB", 7),
        ];
        for (urn, dl, cp) in cases {
            assert_eq!(epc_urn_to_digital_link(urn).as_deref(), Ok(dl), "{urn}");
            assert_eq!(digital_link_to_epc_urn(dl, cp).as_deref(), Ok(urn), "{dl}");
        }
        // Characters a Digital Link must percent-encode.
        assert_eq!(
            epc_urn_to_digital_link("urn:epc:id:sgtin:0614141.107346.a(1)").as_deref(),
            Ok("https://id.gs1.org/01/10614141073464/21/a%281%29")
        );
        assert_eq!(
            digital_link_to_epc_urn("https://id.gs1.org/01/10614141073464/21/a%281%29", 7).as_deref(),
            Ok("urn:epc:id:sgtin:0614141.107346.a(1)")
        );
    }

    #[test]
    fn digital_link_forms() {
        let k = parse_digital_link("https://example.com/foo/gtin/9521234543213/lot/L1?linkType=all").expect("dl");
        assert_eq!(k, Gs1Key::Lgtin { gtin: "09521234543213".into(), lot: "L1".into() });
        let k = parse_digital_link("https://id.gs1.org/01/09521234543213/10/L1/21/S9").expect("dl");
        assert_eq!(k, Gs1Key::Sgtin { gtin: "09521234543213".into(), serial: "S9".into() });
        assert!(parse_digital_link("https://id.gs1.org/01/09521234543214").is_err());
        assert!(parse_digital_link("ftp://id.gs1.org/01/09521234543213").is_err());
        assert!(parse_digital_link("https://id.gs1.org/01/").is_err());
        assert!(parse_digital_link("https://id.gs1.org/01/09521234543213/10").is_err());
        assert_eq!(
            lot_digital_link("https://trace.example.cn/", "9521234543213", "LOT 7/A").as_deref(),
            Ok("https://trace.example.cn/01/09521234543213/10/LOT%207%2FA")
        );
        assert_eq!(
            serial_digital_link("https://trace.example.cn", "09521234543213", "S-1").as_deref(),
            Ok("https://trace.example.cn/01/09521234543213/21/S-1")
        );
        assert!(digital_link_to_epc_urn("https://id.gs1.org/01/09521234543213/21/S-1", 5).is_err());
    }

    #[test]
    fn malformed_urns_are_errors_not_panics() {
        for bad in [
            "urn:epc:id:sgtin:0614141.10734.2018",
            "urn:epc:id:sgtin:0614141107346",
            "urn:epc:id:sgtin:0614141.107346.",
            "urn:epc:id:sgtin:0614141.107346.123456789012345678901",
            "urn:epc:id:sgtin:06141.1073461.1",
            "urn:epc:id:sscc:0614141.123456789",
            "urn:epc:id:sgtin:0614141.107346.a b",
            "urn:epc:id:grai:0614141.12345.400",
            "urn:epc:id:sgtin:",
            "urn:epc:id:giai:4000001.",
            "urn:epc:id:sgtin:٠٦١٤١٤١.107346.1",
        ] {
            assert!(parse_epc_urn(bad).is_err(), "{bad}");
        }
    }
}
