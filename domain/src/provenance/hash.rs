//! The CBV 2.0 canonical event hash (`ni:///sha-256;{hex}?ver=CBV2.0`), as specified by GS1 ("EPCIS
//! and CBV 2.0", event hash algorithm) and implemented by the GS1 reference implementation
//! (`epcis-event-hash-generator`).
//!
//! The pre-hash string is `eventType=` + the event type, then the event's fields in the fixed
//! property order below (`name=value`, lists sorted, nested structures prefixed by their name), then
//! the business transaction / source / destination lists and ILMD, sorted. Values are canonicalised
//! (see [`super::canon`]): timestamps to UTC milliseconds, numbers to their shortest decimal, CBV URNs
//! to web vocabulary, GS1 identifiers to constrained canonical Digital Links. `eventID`, `recordTime`
//! and `errorDeclaration` do not take part. JSON member order and whitespace never matter.
//!
//! One deliberate difference from the reference: in `bizTransactionList` / `sourceList` /
//! `destinationList` entries the `type` always comes before the value (the order the standard
//! specifies); the reference keeps the JSON member order there, so the two agree on documents that
//! write `type` first (as the standard's examples do).

use sha2::{Digest, Sha256};

use super::canon;
use super::json::Json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError {
    /// Path relative to the event.
    pub path: String,
    pub reason: String,
}

type R<T> = Result<T, HashError>;

fn herr(path: &str, reason: impl Into<String>) -> HashError {
    HashError { path: path.to_string(), reason: reason.into() }
}

/// The text a scalar contributes before canonicalisation (Python `str()` of the JSON value).
fn raw_text(v: &Json) -> Option<String> {
    match v {
        Json::Str(s) => Some(canon::py_strip(s).to_string()),
        Json::Num(n) => Some(n.clone()),
        Json::Bool(true) => Some("True".into()),
        Json::Bool(false) => Some("False".into()),
        Json::Null => Some("None".into()),
        _ => None,
    }
}

/// Canonical value of a leaf.
fn canon_value(path: &str, name: &str, v: &Json, timestamps: bool) -> R<String> {
    let Some(text) = raw_text(v) else {
        return Err(herr(path, format!("expected a value, found {}", v.kind())));
    };
    if text.is_empty() {
        return Ok(text);
    }
    let lname = name.to_ascii_lowercase();
    if timestamps && lname.contains("time") && !lname.contains("offset") {
        return canon::parse_timestamp(&text).map(|t| t.to_hash_text()).map_err(|e| herr(path, e));
    }
    let t = canon::web_vocabulary(&text);
    let t = canon::canonical_number(&t).map_err(|e| herr(path, e))?.unwrap_or(t);
    let t = canon::canonical_identifier(&t).map_err(|e| herr(path, e))?.unwrap_or(t);
    Ok(t)
}

fn leaf(path: &str, name: &str, v: &Json) -> R<String> {
    let val = canon_value(path, name, v, true)?;
    Ok(if val.is_empty() { String::new() } else { format!("{name}={val}") })
}

/// Every occurrence of a field: an array contributes each element.
fn occurrences(v: Option<&Json>) -> Vec<(Option<usize>, &Json)> {
    match v {
        None => vec![],
        Some(Json::Arr(a)) => a.iter().enumerate().map(|(i, x)| (Some(i), x)).collect(),
        Some(x) => vec![(None, x)],
    }
}

fn sub(path: &str, name: &str, i: Option<usize>) -> String {
    let p = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
    match i {
        Some(i) => format!("{p}[{i}]"),
        None => p,
    }
}

fn join_sorted(mut v: Vec<String>) -> String {
    v.retain(|s| !s.is_empty());
    v.sort();
    v.concat()
}

fn named(name: &str, inner: String) -> String {
    if inner.is_empty() {
        inner
    } else {
        format!("{name}{inner}")
    }
}

/// Fields of `obj` in `order`, each a leaf; multiple occurrences sorted.
fn ordered_leaves(path: &str, obj: &Json, order: &[&str]) -> R<String> {
    let mut out = String::new();
    for name in order {
        let mut vals = Vec::new();
        for (i, x) in occurrences(obj.get(name)) {
            vals.push(leaf(&sub(path, name, i), name, x)?);
        }
        out.push_str(&join_sorted(vals));
    }
    Ok(out)
}

fn epc_list(path: &str, name: &str, v: Option<&Json>) -> R<String> {
    let mut vals = Vec::new();
    for (i, x) in occurrences(v) {
        vals.push(leaf(&sub(path, name, i), "epc", x)?);
    }
    Ok(named(name, join_sorted(vals)))
}

fn quantity_list(name: &str, v: Option<&Json>) -> R<String> {
    let mut vals = Vec::new();
    for (i, q) in occurrences(v) {
        let inner = ordered_leaves(&sub("", name, i), q, &["epcClass", "quantity", "uom"])?;
        vals.push(named("quantityElement", inner));
    }
    Ok(named(name, join_sorted(vals)))
}

fn sensor_elements(v: Option<&Json>) -> R<String> {
    let mut els = Vec::new();
    for (i, el) in occurrences(v) {
        let p = sub("", "sensorElementList", i);
        let mut inner = String::new();
        if let Some(md) = el.get("sensorMetadata") {
            inner.push_str(&named(
                "sensorMetadata",
                ordered_leaves(&format!("{p}.sensorMetadata"), md, super::epcis::METADATA_FIELDS)?,
            ));
        }
        let mut reports = Vec::new();
        for (j, r) in occurrences(el.get("sensorReport")) {
            reports.push(named(
                "sensorReport",
                ordered_leaves(&sub(&p, "sensorReport", j), r, super::epcis::REPORT_FIELDS)?,
            ));
        }
        inner.push_str(&join_sorted(reports));
        els.push(named("sensorElement", inner));
    }
    Ok(named("sensorElementList", join_sorted(els)))
}

/// `type=…value=…` entries of a typed list, type first; entries sorted when more than one.
fn typed_list(name: &str, value_key: &str, v: Option<&Json>) -> R<String> {
    let items = occurrences(v);
    if items.is_empty() {
        return Ok(String::new());
    }
    let mut vals = Vec::new();
    for (i, e) in items {
        let p = sub("", name, i);
        let mut s = String::new();
        for k in ["type", value_key] {
            if let Some(x) = e.get(k) {
                let val = canon_value(&format!("{p}.{k}"), k, x, false)?;
                s.push_str(k);
                if !val.is_empty() {
                    s.push('=');
                    s.push_str(&val);
                }
            }
        }
        vals.push(s);
    }
    if vals.len() > 1 {
        vals.sort();
    }
    Ok(format!("{name}{}", vals.concat()))
}

/// The reference's generic serialisation of remaining (e.g. ILMD) content: `name[=value]` followed
/// by its children, siblings sorted.
fn generic(path: &str, name: &str, v: &Json) -> R<String> {
    match v {
        Json::Obj(m) => {
            let mut parts = Vec::new();
            for (k, x) in m {
                for (i, y) in occurrences(Some(x)) {
                    parts.push(generic(&sub(path, k, i), k, y)?);
                }
            }
            if parts.len() > 1 {
                parts.sort();
            }
            Ok(format!("{name}{}", parts.concat()))
        }
        Json::Arr(_) => Err(herr(path, "nested arrays are not accepted")),
        scalar => {
            let val = canon_value(path, name, scalar, false)?;
            Ok(if val.is_empty() { name.to_string() } else { format!("{name}={val}") })
        }
    }
}

/// The pre-hash string of a self-contained event (bare CBV terms already written as URIs).
pub fn prehash(ev: &Json) -> R<String> {
    let ty = ev.get("type").and_then(Json::as_str).ok_or_else(|| herr("type", "missing"))?;
    let mut out = format!("eventType={ty}");
    out.push_str(&ordered_leaves("", ev, &["eventTime", "eventTimeZoneOffset", "certificationInfo", "parentID"])?);
    out.push_str(&epc_list("", "epcList", ev.get("epcList"))?);
    out.push_str(&epc_list("", "inputEPCList", ev.get("inputEPCList"))?);
    out.push_str(&epc_list("", "childEPCs", ev.get("childEPCs"))?);
    out.push_str(&quantity_list("quantityList", ev.get("quantityList"))?);
    out.push_str(&quantity_list("childQuantityList", ev.get("childQuantityList"))?);
    out.push_str(&quantity_list("inputQuantityList", ev.get("inputQuantityList"))?);
    out.push_str(&epc_list("", "outputEPCList", ev.get("outputEPCList"))?);
    out.push_str(&quantity_list("outputQuantityList", ev.get("outputQuantityList"))?);
    out.push_str(&ordered_leaves("", ev, &["action", "transformationID", "bizStep", "disposition"])?);
    if let Some(pd) = ev.get("persistentDisposition") {
        out.push_str(&named("persistentDisposition", ordered_leaves("persistentDisposition", pd, &["set", "unset"])?));
    }
    for loc in ["readPoint", "bizLocation"] {
        if let Some(l) = ev.get(loc) {
            out.push_str(&named(loc, ordered_leaves(loc, l, &["id"])?));
        }
    }
    out.push_str(&sensor_elements(ev.get("sensorElementList"))?);
    let mut rest = Vec::new();
    for (name, key) in
        [("bizTransactionList", "bizTransaction"), ("sourceList", "source"), ("destinationList", "destination")]
    {
        let s = typed_list(name, key, ev.get(name))?;
        if !s.is_empty() {
            rest.push(s);
        }
    }
    if let Some(ilmd) = ev.get("ilmd") {
        rest.push(generic("ilmd", "ilmd", ilmd)?);
    }
    rest.sort();
    out.push_str(&rest.concat());
    Ok(out)
}

/// Hash a pre-hash string: `ni:///sha-256;{lower hex}?ver=CBV2.0`.
pub fn hash_prehash(prehash: &str) -> String {
    let digest = Sha256::digest(prehash.as_bytes());
    format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(digest))
}

/// The CBV 2.0 event hash of a self-contained event.
pub fn event_hash(ev: &Json) -> R<String> {
    prehash(ev).map(|p| hash_prehash(&p))
}
