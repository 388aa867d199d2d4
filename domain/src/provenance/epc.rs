//! EPC URNs as the GS1 EPC Tag Data Standard (TDS 2.x) defines them: pure identities
//! (`urn:epc:id:{scheme}:…`) for every scheme EPCIS uses — SGTIN, SSCC, SGLN, GRAI, GIAI, GSRN,
//! GSRNP, GDTI, CPI, SGCN, GINC, GSIN, ITIP, UPUI, PGLN, plus the non-GS1 GID, USDOD, ADI, BIC and
//! IMOVN — the class-level LGTIN (`urn:epc:class:lgtin:…`) and ID patterns (`urn:epc:idpat:…`, where
//! trailing components may be `*`). Each component is checked for its digits / length / character
//! set with the GS1 company prefix (6–12 digits) setting the split, so a bad URN is refused with the
//! component and the rule it breaks. (EPC URNs carry no check digit: it is computed when the URN is
//! turned into a GS1 key.)

/// Why an EPC URN is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcError {
    #[error("{urn:?}: {scheme} {component}: {rule}")]
    Component { urn: String, scheme: String, component: String, rule: String },
    #[error("{urn:?}: {rule}")]
    Shape { urn: String, rule: String },
}

#[derive(Clone, Copy, Debug)]
enum C {
    /// The GS1 company prefix, 6..=12 digits.
    Cp,
    /// Digits making, with the company prefix, exactly this many (0 allowed when the prefix fills it).
    Fill(usize),
    /// Exactly this many digits.
    Fixed(usize),
    /// 1..=max characters of the TDS GS3A3 set (URN-escaped GS1 character set 82).
    Alnum(usize),
    /// GS3A3 characters making, with the company prefix, at most this many.
    AlnumTotal(usize),
    /// CPI part reference: `0-9 A-Z -` and escaped `#` `/`, with the prefix at most this many.
    CprefTotal(usize),
    /// 1..=max digits.
    Digits(usize),
}

fn scheme_parts(kind: &str, scheme: &str) -> Option<(&'static [C], &'static [&'static str])> {
    use C::*;
    Some(match (kind, scheme) {
        ("id" | "idpat", "sgtin") => {
            (&[Cp, Fill(13), Alnum(20)], &["company prefix", "indicator and item reference", "serial"])
        }
        ("id" | "idpat", "sscc") => (&[Cp, Fill(17)], &["company prefix", "extension and serial reference"]),
        ("id" | "idpat", "sgln") => {
            (&[Cp, Fill(12), Alnum(20)], &["company prefix", "location reference", "extension"])
        }
        ("id" | "idpat", "grai") => (&[Cp, Fill(12), Alnum(16)], &["company prefix", "asset type", "serial"]),
        ("id" | "idpat", "giai") => (&[Cp, AlnumTotal(30)], &["company prefix", "individual asset reference"]),
        ("id" | "idpat", "gsrn") | ("id" | "idpat", "gsrnp") => {
            (&[Cp, Fill(17)], &["company prefix", "service reference"])
        }
        ("id" | "idpat", "gdti") => (&[Cp, Fill(12), Alnum(17)], &["company prefix", "document type", "serial"]),
        ("id" | "idpat", "cpi") => {
            (&[Cp, CprefTotal(30), Digits(12)], &["company prefix", "component/part reference", "serial"])
        }
        ("id" | "idpat", "sgcn") => (&[Cp, Fill(12), Digits(12)], &["company prefix", "coupon reference", "serial"]),
        ("id" | "idpat", "ginc") => (&[Cp, AlnumTotal(30)], &["company prefix", "consignment reference"]),
        ("id" | "idpat", "gsin") => (&[Cp, Fill(16)], &["company prefix", "shipper reference"]),
        ("id" | "idpat", "itip") => (
            &[Cp, Fill(13), Fixed(2), Fixed(2), Alnum(20)],
            &["company prefix", "indicator and item reference", "piece", "total", "serial"],
        ),
        ("id" | "idpat", "upui") => {
            (&[Cp, Fill(13), Alnum(28)], &["company prefix", "indicator and item reference", "third-party extension"])
        }
        ("id" | "idpat", "pgln") => (&[Cp, Fill(12)], &["company prefix", "party reference"]),
        ("class", "lgtin") => (&[Cp, Fill(13), Alnum(20)], &["company prefix", "indicator and item reference", "lot"]),
        _ => return None,
    })
}

/// Length of a GS3A3 component in characters (an escape counts as one), or `None` if it has a
/// character outside the set.
fn gs3a3_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'%' {
            let esc = s.get(i + 1..i + 3)?;
            if !["22", "25", "26", "2F", "3C", "3E", "3F"].contains(&esc.to_ascii_uppercase().as_str()) {
                return None;
            }
            i += 3;
        } else if b[i].is_ascii_alphanumeric() || b"!'()*+,-.:;=_".contains(&b[i]) {
            i += 1;
        } else {
            return None;
        }
        n += 1;
    }
    Some(n)
}

fn cpref_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'%' {
            let esc = s.get(i + 1..i + 3)?;
            if !["23", "2F"].contains(&esc.to_ascii_uppercase().as_str()) {
                return None;
            }
            i += 3;
        } else if b[i].is_ascii_digit() || b[i].is_ascii_uppercase() || b[i] == b'-' {
            i += 1;
        } else {
            return None;
        }
        n += 1;
    }
    Some(n)
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Validate an EPC URN (`urn:epc:id:`, `urn:epc:class:`, `urn:epc:idpat:`).
pub fn validate(urn: &str) -> Result<(), EpcError> {
    let shape = |rule: &str| EpcError::Shape { urn: urn.to_string(), rule: rule.to_string() };
    let rest = urn.strip_prefix("urn:epc:").ok_or_else(|| shape("an EPC URN starts with urn:epc:"))?;
    let (kind, rest) = rest.split_once(':').ok_or_else(|| shape("expected urn:epc:id|class|idpat:{scheme}:…"))?;
    let (scheme, body) = rest.split_once(':').ok_or_else(|| shape("expected a scheme and a body"))?;
    if !["id", "class", "idpat"].contains(&kind) {
        return Err(shape("the EPC URN kind is id, class or idpat"));
    }
    if kind == "id" && ["gid", "usdod", "adi", "bic", "imovn"].contains(&scheme) {
        return validate_non_gs1(urn, scheme, body);
    }
    let (parts, names) = scheme_parts(kind, scheme).ok_or_else(|| {
        shape(&format!(
            "{scheme:?} is not an EPC {kind} scheme of the Tag Data Standard (id: sgtin, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln, gid, usdod, adi, bic, imovn; class: lgtin; idpat: the GS1 id schemes)"
        ))
    })?;
    let comps: Vec<&str> = if scheme == "cpi" {
        // The CPI part reference may itself contain no '.', so split from both ends.
        let mut it = body.splitn(2, '.');
        let cp = it.next().unwrap_or("");
        let rest = it.next().unwrap_or("");
        match rest.rsplit_once('.') {
            Some((r, s)) => vec![cp, r, s],
            None => vec![cp, rest],
        }
    } else {
        body.splitn(parts.len(), '.').collect()
    };
    if comps.len() != parts.len() {
        return Err(shape(&format!(
            "a {scheme} {kind} URN has {} '.'-separated components: {}",
            parts.len(),
            names.join(", ")
        )));
    }
    let cp_len = comps[0].len();
    let mut star = false;
    for (i, (c, part)) in comps.iter().zip(parts.iter()).enumerate() {
        let bad = |rule: String| EpcError::Component {
            urn: urn.to_string(),
            scheme: scheme.to_string(),
            component: names[i].to_string(),
            rule,
        };
        if kind == "idpat" && *c == "*" {
            star = true;
            continue;
        }
        if star {
            return Err(bad("after a '*' every later component of a pattern must be '*'".into()));
        }
        match *part {
            C::Cp => {
                if !digits(c) || !(6..=12).contains(&c.len()) {
                    return Err(bad("must be 6 to 12 digits".into()));
                }
            }
            C::Fill(total) => {
                let want = total.saturating_sub(cp_len);
                if !digits(c) || c.len() != want {
                    return Err(bad(format!("must be {want} digits with a {cp_len}-digit company prefix")));
                }
            }
            C::Fixed(n) => {
                if !digits(c) || c.len() != n {
                    return Err(bad(format!("must be {n} digits")));
                }
            }
            C::Alnum(max) => match gs3a3_len(c) {
                Some(n) if (1..=max).contains(&n) => {}
                Some(_) => return Err(bad(format!("must be 1 to {max} characters"))),
                None => {
                    return Err(bad(
                        "has a character outside GS1 character set 82 (escape \" % & / < > ? as %XX)".into()
                    ))
                }
            },
            C::AlnumTotal(total) => {
                let max = total.saturating_sub(cp_len);
                match gs3a3_len(c) {
                    Some(n) if (1..=max).contains(&n) => {}
                    Some(_) => {
                        return Err(bad(format!("must be 1 to {max} characters with a {cp_len}-digit company prefix")))
                    }
                    None => {
                        return Err(bad(
                            "has a character outside GS1 character set 82 (escape \" % & / < > ? as %XX)".into()
                        ))
                    }
                }
            }
            C::CprefTotal(total) => {
                let max = total.saturating_sub(cp_len);
                match cpref_len(c) {
                    Some(n) if (1..=max).contains(&n) => {}
                    Some(_) => {
                        return Err(bad(format!("must be 1 to {max} characters with a {cp_len}-digit company prefix")))
                    }
                    None => return Err(bad("allows 0-9 A-Z - and escaped # (%23) and / (%2F) only".into())),
                }
            }
            C::Digits(max) => {
                if !digits(c) || !(1..=max).contains(&c.len()) {
                    return Err(bad(format!("must be 1 to {max} digits")));
                }
                if scheme == "cpi" && c.len() > 1 && c.starts_with('0') {
                    return Err(bad("a CPI serial has no leading zeros".into()));
                }
            }
        }
    }
    Ok(())
}

fn validate_non_gs1(urn: &str, scheme: &str, body: &str) -> Result<(), EpcError> {
    let bad = |rule: &str| EpcError::Component {
        urn: urn.to_string(),
        scheme: scheme.to_string(),
        component: "body".into(),
        rule: rule.to_string(),
    };
    let comps: Vec<&str> = body.split('.').collect();
    let ok = match scheme {
        "gid" => comps.len() == 3 && comps.iter().all(|c| !c.is_empty() && digits(c)),
        "usdod" => comps.len() == 2 && comps.iter().all(|c| !c.is_empty() && gs3a3_len(c).is_some()),
        "adi" => comps.len() == 3 && !comps[0].is_empty() && comps.iter().all(|c| gs3a3_len(c).is_some()),
        "bic" => body.len() == 11 && body.bytes().take(4).all(|b| b.is_ascii_uppercase()) && digits(&body[4..]),
        "imovn" => body.len() == 7 && digits(body),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad(match scheme {
            "gid" => "is manager.class.serial, all digits",
            "usdod" => "is CAGE.serial",
            "adi" => "is CAGE.part.serial",
            "bic" => "is an ISO 6346 container code (4 letters, 7 digits)",
            _ => "is a 7-digit IMO number",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_data_standard_examples_are_accepted() {
        // Examples from TDS 2.x section 6.3.
        for urn in [
            "urn:epc:id:sgtin:0614141.112345.400",
            "urn:epc:id:sscc:0614141.1234567890",
            "urn:epc:id:sgln:0614141.12345.400",
            "urn:epc:id:sgln:0614141.12345.0",
            "urn:epc:id:grai:0614141.12345.400",
            "urn:epc:id:giai:0614141.12345400",
            "urn:epc:id:gsrn:0614141.1234567890",
            "urn:epc:id:gsrnp:0614141.1234567890",
            "urn:epc:id:gdti:0614141.12345.400",
            "urn:epc:id:cpi:0614141.123ABC.123456789",
            "urn:epc:id:cpi:0614141.123%2345ABC.123456789",
            "urn:epc:id:sgcn:4012345.67890.04711",
            "urn:epc:id:ginc:0614141.xyz47%2F11",
            "urn:epc:id:gsin:0614141.123456789",
            "urn:epc:id:itip:4012345.012345.01.02.987",
            "urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB",
            "urn:epc:id:pgln:1234567.89012",
            "urn:epc:id:gid:95100000.12345.400",
            "urn:epc:class:lgtin:4012345.012345.998877",
            "urn:epc:idpat:sgtin:0614141.112345.*",
            "urn:epc:idpat:sgtin:0614141.*.*",
            "urn:epc:idpat:gdti:0614141.12345.*",
        ] {
            assert_eq!(validate(urn), Ok(()), "{urn}");
        }
    }

    #[test]
    fn bad_urns_name_the_component_and_rule() {
        let msg = |u: &str| validate(u).expect_err(u).to_string();
        assert!(msg("urn:epc:id:sgtin:0614141.11234.400").contains("indicator and item reference: must be 6 digits"));
        assert!(msg("urn:epc:id:sgtin:0614141.112345.ABCDEFGHIJKLMNOPQRSTU").contains("serial: must be 1 to 20"));
        assert!(msg("urn:epc:id:sgtin:0614141.112345.a/b").contains("character set 82"));
        assert!(msg("urn:epc:id:sscc:061414.1234567890").contains("must be 11 digits"));
        assert!(msg("urn:epc:id:cpi:0614141.abc.1").contains("0-9 A-Z"));
        assert!(msg("urn:epc:id:xyz:1.2").contains("not an EPC id scheme"));
        assert!(msg("urn:epc:idpat:sgtin:0614141.*.400").contains("every later component"));
        assert!(msg("urn:epc:id:pgln:12345.12345").contains("company prefix: must be 6 to 12 digits"));
    }
}
