//! EPCIS 2.0 JSON-LD events: import (documents and single events), validation that names the offending
//! field, and the facts the trace index needs.
//!
//! An accepted event is *self-contained*: bare CBV terms are written as their web-vocabulary URIs and
//! compact IRIs whose prefix the document's `@context` declares are expanded, so the event hashes the
//! same on chain as it did in its document.

use super::canon::{self, Timestamp};
use super::hash;
use super::json::{self, Json};
use super::vocab;

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Largest single event accepted (it must fit in one transaction with room to spare).
pub const MAX_EVENT_BYTES: usize = 128 * 1024;
/// Most events in one document.
pub const MAX_EVENTS: usize = 10_000;
/// Most identifiers in one list.
pub const MAX_LIST: usize = 2_000;
/// Longest string value.
pub const MAX_STRING: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct EpcisError {
    /// JSON path of the offending field, e.g. `epcisBody.eventList[2].quantityList[0].quantity`.
    pub path: String,
    pub reason: String,
}

fn err(path: &str, reason: impl Into<String>) -> EpcisError {
    EpcisError { path: path.to_string(), reason: reason.into() }
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub enum EventType {
    ObjectEvent,
    AggregationEvent,
    TransactionEvent,
    TransformationEvent,
    AssociationEvent,
}

impl EventType {
    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "ObjectEvent" => EventType::ObjectEvent,
            "AggregationEvent" => EventType::AggregationEvent,
            "TransactionEvent" => EventType::TransactionEvent,
            "TransformationEvent" => EventType::TransformationEvent,
            "AssociationEvent" => EventType::AssociationEvent,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ObjectEvent => "ObjectEvent",
            EventType::AggregationEvent => "AggregationEvent",
            EventType::TransactionEvent => "TransactionEvent",
            EventType::TransformationEvent => "TransformationEvent",
            EventType::AssociationEvent => "AssociationEvent",
        }
    }
    fn allowed(self) -> &'static [&'static str] {
        match self {
            EventType::ObjectEvent => &["epcList", "quantityList", "action", "ilmd"],
            EventType::AggregationEvent | EventType::AssociationEvent => {
                &["parentID", "childEPCs", "childQuantityList", "action"]
            }
            EventType::TransactionEvent => &["parentID", "epcList", "quantityList", "action"],
            EventType::TransformationEvent => &[
                "inputEPCList",
                "inputQuantityList",
                "outputEPCList",
                "outputQuantityList",
                "transformationID",
                "ilmd",
            ],
        }
    }
}

const COMMON: &[&str] = &[
    "type",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "eventID",
    "certificationInfo",
    "errorDeclaration",
    "readPoint",
    "bizLocation",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
];

const ERROR_REASONS_PREFIX: &str = "https://ref.gs1.org/cbv/ER-";
const ERROR_REASONS: &[&str] = &["did_not_occur", "incorrect_data"];

/// Sensor metadata fields in the order GS1 2.0 lists them (validation set and canonical hash order).
pub(crate) const METADATA_FIELDS: &[&str] =
    &["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"];
/// Sensor report fields in the standard order (validation set and canonical hash order).
pub(crate) const REPORT_FIELDS: &[&str] = &[
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];
const REPORT_NUMBERS: &[&str] = &["value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"];

/// A quantity element (class-level identifier, quantity as decimal text, unit).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuantityElement {
    pub epc_class: String,
    pub quantity: Option<String>,
    pub uom: Option<String>,
}

/// One sensor report, as shown to a consumer (values stay decimal text).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SensorReading {
    pub measurement: Option<String>,
    pub value: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub mean: Option<String>,
    pub uom: Option<String>,
    pub exception: Option<String>,
    pub time: Option<String>,
}

/// An accepted EPCIS event: its self-contained JSON, its CBV 2.0 hash and the facts tracing needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpcisEvent {
    pub json: Json,
    pub hash: String,
    pub event_type: EventType,
    pub event_time: Timestamp,
    pub event_time_zone_offset: String,
    pub event_id: Option<String>,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub parent_id: Option<String>,
    pub epcs: Vec<String>,
    pub quantities: Vec<QuantityElement>,
    pub child_epcs: Vec<String>,
    pub child_quantities: Vec<QuantityElement>,
    pub input_epcs: Vec<String>,
    pub input_quantities: Vec<QuantityElement>,
    pub output_epcs: Vec<String>,
    pub output_quantities: Vec<QuantityElement>,
    pub biz_transactions: Vec<(Option<String>, String)>,
    pub sensor_readings: Vec<SensorReading>,
}

impl EpcisEvent {
    /// The event as compact JSON text (what the chain stores and re-validates).
    pub fn to_json_text(&self) -> String {
        self.json.to_text()
    }
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// Prefixes the EPCIS 2.0 JSON-LD context defines (it is `@protected`), with their IRIs.
const PROTECTED_PREFIXES: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// JSON-LD 1.1 forbids redefining a protected term with another meaning (a processor must fail
/// with "protected term redefinition"); the EPCIS context protects its prefixes and field names.
fn check_protected_terms(path: &str, ns: &[(String, String)]) -> Result<(), EpcisError> {
    for (k, iri) in ns {
        let protected_field = COMMON.contains(&k.as_str())
            || ["epcList", "quantityList", "action", "ilmd", "parentID", "childEPCs", "childQuantityList"]
                .contains(&k.as_str());
        let clash = match PROTECTED_PREFIXES.iter().find(|(p, _)| p == k) {
            Some((_, own)) => own != iri,
            None => protected_field,
        };
        if clash {
            return Err(err(
                path,
                format!("redefines the protected EPCIS context term {k:?} (as {iri:?}); JSON-LD 1.1 forbids this"),
            ));
        }
    }
    Ok(())
}

/// Prefix → namespace IRI declared by object entries of an array `@context` (the declarations the
/// GS1 reference implementation applies to compact values and extension member names).
fn namespaces(context: Option<&Json>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Json::Arr(items)) = context {
        for item in items {
            if let Json::Obj(m) = item {
                for (k, v) in m {
                    if let Json::Str(ns) = v {
                        out.push((k.clone(), ns.clone()));
                    }
                }
            }
        }
    }
    out
}

fn expand_ns(s: &str, ns: &[(String, String)], as_key: bool) -> String {
    if let Some((p, rest)) = s.split_once(':') {
        if let Some((_, iri)) = ns.iter().find(|(k, _)| k == p) {
            return if as_key { format!("{{{iri}}}{rest}") } else { format!("{iri}{rest}") };
        }
    }
    s.to_string()
}

fn apply_ns(v: &Json, ns: &[(String, String)]) -> Json {
    if ns.is_empty() {
        return v.clone();
    }
    match v {
        Json::Str(s) => Json::Str(expand_ns(s, ns, false)),
        Json::Arr(a) => Json::Arr(a.iter().map(|x| apply_ns(x, ns)).collect()),
        Json::Obj(m) => Json::Obj(m.iter().map(|(k, x)| (expand_ns(k, ns, true), apply_ns(x, ns))).collect()),
        other => other.clone(),
    }
}

/// Parse an EPCIS 2.0 JSON-LD document (`EPCISDocument` with `epcisBody.eventList` or
/// `epcisBody.event`, or an `EPCISQueryDocument`) or a single event object, and validate every event.
pub fn import(text: &str) -> Result<Vec<EpcisEvent>, EpcisError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(err("$", format!("document larger than {MAX_DOCUMENT_BYTES} bytes")));
    }
    let doc = json::parse(text).map_err(|e| err("$", e.to_string()))?;
    let Json::Obj(_) = &doc else {
        return Err(err("$", format!("expected an object, found {}", doc.kind())));
    };
    let ty = doc.get("type").and_then(Json::as_str).unwrap_or("");
    let ns = namespaces(doc.get("@context"));
    check_protected_terms("@context", &ns)?;
    if EventType::parse(ty).is_some() {
        return Ok(vec![validate_event("$", &doc, &ns, &[])?]);
    }
    let (events, base): (Vec<&Json>, String) = match ty {
        "EPCISDocument" => {
            let body = doc.get("epcisBody").ok_or_else(|| err("epcisBody", "missing"))?;
            match (body.get("eventList"), body.get("event")) {
                (Some(Json::Arr(list)), _) => (list.iter().collect(), "epcisBody.eventList".into()),
                (Some(other), _) => {
                    return Err(err("epcisBody.eventList", format!("expected an array, found {}", other.kind())))
                }
                (None, Some(ev)) => (vec![ev], "epcisBody.event".into()),
                (None, None) => return Err(err("epcisBody", "has neither eventList nor event")),
            }
        }
        "EPCISQueryDocument" => {
            let list = doc
                .get("epcisBody")
                .and_then(|b| b.get("queryResults"))
                .and_then(|q| q.get("resultsBody"))
                .and_then(|r| r.get("eventList"));
            match list {
                Some(Json::Arr(l)) => (l.iter().collect(), "epcisBody.queryResults.resultsBody.eventList".into()),
                _ => return Err(err("epcisBody.queryResults.resultsBody.eventList", "missing or not an array")),
            }
        }
        "" => return Err(err("type", "missing")),
        other => return Err(err("type", format!("{other:?} is neither EPCISDocument nor an EPCIS event type"))),
    };
    if events.len() > MAX_EVENTS {
        return Err(err(&base, format!("more than {MAX_EVENTS} events")));
    }
    let numbered: Vec<(String, &Json)> = events.iter().enumerate().map(|(i, e)| (format!("{base}[{i}]"), *e)).collect();
    validate_all(&numbered, &doc, &ns)
}

/// Validate a document's events. The reference expands bare terms against the whole document's
/// vocabulary; do the same so a document hashes as it does there (the accepted events then carry the
/// expanded values, so each re-validates to the same hash on its own).
fn validate_all(
    events: &[(String, &Json)],
    doc: &Json,
    ns: &[(String, String)],
) -> Result<Vec<EpcisEvent>, EpcisError> {
    let mut document_vocab = Vec::new();
    for (_, e) in events {
        document_vocab.extend(vocab_uris(e));
    }
    let mut all = Vec::new();
    strings(doc, &mut all);
    document_vocab.extend(
        all.iter()
            .filter(|s| s.starts_with("https://ref.gs1.org/cbv") || s.starts_with("https://gs1.org/voc"))
            .map(|s| s.to_string()),
    );
    document_vocab.sort();
    document_vocab.dedup();
    events.iter().map(|(path, e)| validate_event(path, e, ns, &document_vocab)).collect()
}

/// Parse an EPCIS 2.0 XML document (`EPCISDocument` or `EPCISQueryDocument`) into the same event
/// model as [`import`]: an event hashes the same whichever binding carried it.
pub fn import_xml(text: &str) -> Result<Vec<EpcisEvent>, EpcisError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(err("$", format!("document larger than {MAX_DOCUMENT_BYTES} bytes")));
    }
    let events = super::xml::events(text).map_err(|e| err(&e.path, e.reason))?;
    if events.len() > MAX_EVENTS {
        return Err(err("EPCISBody.EventList", format!("more than {MAX_EVENTS} events")));
    }
    let doc = Json::Arr(events.iter().map(|(_, e)| e.clone()).collect());
    let refs: Vec<(String, &Json)> = events.iter().map(|(p, e)| (p.clone(), e)).collect();
    validate_all(&refs, &doc, &[])
}

/// Parse one self-contained event (as produced by [`EpcisEvent::to_json_text`]) — what the chain
/// re-validates.
pub fn parse_event(text: &str) -> Result<EpcisEvent, EpcisError> {
    if text.len() > MAX_EVENT_BYTES {
        return Err(err("$", format!("event larger than {MAX_EVENT_BYTES} bytes")));
    }
    let v = json::parse(text).map_err(|e| err("$", e.to_string()))?;
    let ns = namespaces(v.get("@context"));
    validate_event("$", &v, &ns, &[])
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn vocab_for(field: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match field {
        "bizStep" => (vocab::BIZ_STEPS_PREFIX, vocab::BIZ_STEPS),
        "disposition" | "set" | "unset" => (vocab::DISPOSITIONS_PREFIX, vocab::DISPOSITIONS),
        "sourceList.type" | "destinationList.type" => (vocab::SOURCE_DEST_TYPES_PREFIX, vocab::SOURCE_DEST_TYPES),
        "bizTransactionList.type" => (vocab::BIZ_TRANSACTION_TYPES_PREFIX, vocab::BIZ_TRANSACTION_TYPES),
        "sensorReport.type" => (vocab::MEASUREMENT_TYPES_PREFIX, vocab::MEASUREMENT_TYPES),
        "sensorReport.exception" => (vocab::SENSOR_ALERT_TYPES_PREFIX, vocab::SENSOR_ALERT_TYPES),
        "sensorReport.component" => (vocab::COMPONENTS_PREFIX, vocab::COMPONENTS),
        "errorDeclaration.reason" => (ERROR_REASONS_PREFIX, ERROR_REASONS),
        _ => return None,
    })
}

/// Every string leaf of `v`.
fn strings<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::Str(s) => out.push(s),
        Json::Arr(a) => a.iter().for_each(|x| strings(x, out)),
        Json::Obj(m) => m.iter().for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

/// Expand bare CBV terms the way the reference does: collect the web-vocabulary URIs the event's
/// JSON-LD expansion contains, then replace any string value that is the last path/dash segment of
/// exactly one of them.
fn expand_bare_terms(ev: &Json, document: &[String]) -> Json {
    let mut expanded = vocab_uris(ev);
    expanded.extend(document.iter().cloned());
    expanded.sort();
    expanded.dedup();
    replace_bare(ev, &expanded)
}

/// The web-vocabulary URIs a JSON-LD expansion of `v` contains: full URIs written anywhere, and the
/// expansions of bare CBV terms in vocabulary-typed fields.
fn vocab_uris(v: &Json) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in &all {
        if s.starts_with("https://ref.gs1.org/cbv") || s.starts_with("https://gs1.org/voc") {
            out.push(s.to_string());
        }
    }
    collect_vocab_expansions(v, &mut out);
    out
}

fn collect_vocab_expansions(ev: &Json, out: &mut Vec<String>) {
    let mut add = |field: &str, v: Option<&Json>| {
        if let (Some((prefix, terms)), Some(v)) = (vocab_for(field), v) {
            let mut vals = Vec::new();
            strings(v, &mut vals);
            for s in vals {
                if terms.contains(&s) {
                    out.push(format!("{prefix}{s}"));
                }
            }
        }
    };
    add("bizStep", ev.get("bizStep"));
    add("disposition", ev.get("disposition"));
    if let Some(pd) = ev.get("persistentDisposition") {
        add("set", pd.get("set"));
        add("unset", pd.get("unset"));
    }
    for list in ["sourceList", "destinationList", "bizTransactionList"] {
        if let Some(Json::Arr(items)) = ev.get(list) {
            for it in items {
                add(&format!("{list}.type"), it.get("type"));
            }
        }
    }
    if let Some(Json::Arr(els)) = ev.get("sensorElementList") {
        for el in els {
            if let Some(Json::Arr(reports)) = el.get("sensorReport") {
                for r in reports {
                    for f in ["type", "exception", "component"] {
                        add(&format!("sensorReport.{f}"), r.get(f));
                    }
                }
            }
        }
    }
    if let Some(ed) = ev.get("errorDeclaration") {
        add("errorDeclaration.reason", ed.get("reason"));
    }
}

fn replace_bare(v: &Json, expanded: &[String]) -> Json {
    match v {
        Json::Str(s) => {
            let dash = format!("-{s}");
            let slash = format!("/{s}");
            let mut hits = expanded.iter().filter(|e| e.ends_with(&dash) || e.ends_with(&slash));
            match (hits.next(), hits.next()) {
                (Some(one), None) => Json::Str(one.clone()),
                _ => v.clone(),
            }
        }
        Json::Arr(a) => Json::Arr(a.iter().map(|x| replace_bare(x, expanded)).collect()),
        Json::Obj(m) => Json::Obj(m.iter().map(|(k, x)| (k.clone(), replace_bare(x, expanded))).collect()),
        other => other.clone(),
    }
}

struct Ctx<'a> {
    base: &'a str,
}

impl Ctx<'_> {
    fn p(&self, rel: &str) -> String {
        if self.base == "$" {
            rel.to_string()
        } else {
            format!("{}.{rel}", self.base)
        }
    }
}

fn obj<'a>(path: &str, v: &'a Json) -> Result<&'a [(String, Json)], EpcisError> {
    match v {
        Json::Obj(m) => Ok(m),
        other => Err(err(path, format!("expected an object, found {}", other.kind()))),
    }
}

fn arr<'a>(path: &str, v: &'a Json) -> Result<&'a [Json], EpcisError> {
    match v {
        Json::Arr(a) if a.len() <= MAX_LIST => Ok(a),
        Json::Arr(_) => Err(err(path, format!("more than {MAX_LIST} entries"))),
        other => Err(err(path, format!("expected an array, found {}", other.kind()))),
    }
}

/// A member name that is a user extension: a compact IRI whose prefix the document declared (already
/// expanded to `{namespace}local`) or an absolute IRI.
fn is_extension_name(k: &str) -> bool {
    k.starts_with('{') || k.starts_with("http://") || k.starts_with("https://") || k.starts_with("urn:")
}

fn unknown_field(path: &str, k: &str, allowed: &[&str], extensible: bool) -> EpcisError {
    let at = if path == "$" { k.to_string() } else { format!("{path}.{k}") };
    let why = if k.contains(':') {
        format!("{k:?} is a compact IRI whose prefix the document's @context does not declare")
    } else if extensible {
        format!(
            "unknown field (expected one of {}, or a user extension named by a namespace the @context declares)",
            allowed.join(", ")
        )
    } else {
        format!("unknown field (expected one of {}; the standard allows no extensions here)", allowed.join(", "))
    };
    err(&at, why)
}

/// Members outside `allowed` are refused (no extension point here).
fn only_fields(path: &str, m: &[(String, Json)], allowed: &[&str]) -> Result<(), EpcisError> {
    for (k, _) in m {
        if !allowed.contains(&k.as_str()) {
            return Err(unknown_field(path, k, allowed, false));
        }
    }
    Ok(())
}

/// Members outside `allowed` must be user extensions; their values are validated generically.
fn fields_or_extensions(path: &str, m: &[(String, Json)], allowed: &[&str]) -> Result<(), EpcisError> {
    for (k, v) in m {
        if allowed.contains(&k.as_str()) {
            continue;
        }
        if !is_extension_name(k) {
            return Err(unknown_field(path, k, allowed, true));
        }
        let at = if path == "$" { k.clone() } else { format!("{path}.{k}") };
        generic_value(&at, v, 0)?;
    }
    Ok(())
}

fn string(path: &str, v: &Json) -> Result<String, EpcisError> {
    match v {
        Json::Str(s) if s.is_empty() => Err(err(path, "must not be empty")),
        Json::Str(s) if s.chars().count() > MAX_STRING => {
            Err(err(path, format!("longer than {MAX_STRING} characters")))
        }
        Json::Str(s) if s.chars().any(char::is_control) => Err(err(path, "must not contain control characters")),
        Json::Str(s) if canon::py_strip(s) != s => Err(err(path, "must not start or end with whitespace")),
        Json::Str(s) if s.chars().any(|c| c.is_numeric() && !c.is_ascii_digit()) => {
            Err(err(path, "non-ASCII digits are not accepted (they would hash differently across implementations)"))
        }
        Json::Str(s) => Ok(s.clone()),
        other => Err(err(path, format!("expected a string, found {}", other.kind()))),
    }
}

/// An identifier (EPC, class, location, party, device, transaction): a URI without spaces whose GS1
/// normalisation this platform supports.
fn identifier(path: &str, v: &Json) -> Result<String, EpcisError> {
    let s = string(path, v)?;
    if !is_absolute_uri(&s) {
        return Err(err(path, format!("{s:?} is not a URI (EPC URN, GS1 Digital Link or other absolute URI)")));
    }
    super::gs1::validate_identifier(&s).map_err(|e| err(path, e.to_string()))?;
    canon::canonical_identifier(&s).map_err(|e| err(path, e))?;
    Ok(s)
}

/// RFC 3986 absolute URI shape: `scheme ":" rest`, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
/// no whitespace, ASCII (IRIs must be written percent-encoded).
pub(crate) fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sc = scheme.chars();
    sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && s.is_ascii()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn vocab_value(path: &str, field: &str, v: &Json) -> Result<String, EpcisError> {
    let s = string(path, v)?;
    // Any absolute URI is a vocabulary value (a compact IRI whose prefix the document does not
    // declare is, in JSON-LD, an absolute IRI with that scheme, and is hashed as written).
    if is_absolute_uri(&s) {
        return Ok(s);
    }
    let hint = match vocab_for(field) {
        Some((prefix, terms)) if terms.contains(&s.as_str()) => {
            return Err(err(path, format!("bare term {s:?} is ambiguous in this event; write {prefix}{s}")))
        }
        Some((prefix, _)) => format!("not a CBV 2.0 term; use a CBV term or an absolute URI such as {prefix}…"),
        None => "must be an absolute URI".to_string(),
    };
    Err(err(path, format!("{s:?} is {hint}")))
}

fn number_text(path: &str, v: &Json) -> Result<String, EpcisError> {
    match v {
        Json::Num(n) => {
            canon::canonical_number(n).map_err(|e| err(path, e))?;
            Ok(n.clone())
        }
        other => Err(err(path, format!("expected a number, found {}", other.kind()))),
    }
}

fn timestamp(path: &str, v: &Json) -> Result<Timestamp, EpcisError> {
    let s = string(path, v)?;
    canon::parse_timestamp(&s).map_err(|e| err(path, e))
}

fn identifier_list(path: &str, v: &Json) -> Result<Vec<String>, EpcisError> {
    arr(path, v)?.iter().enumerate().map(|(i, x)| identifier(&format!("{path}[{i}]"), x)).collect()
}

fn quantity_list(path: &str, v: &Json) -> Result<Vec<QuantityElement>, EpcisError> {
    let mut out = Vec::new();
    for (i, q) in arr(path, v)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let m = obj(&p, q)?;
        only_fields(&p, m, &["epcClass", "quantity", "uom"])?;
        let class = q.get("epcClass").ok_or_else(|| err(&format!("{p}.epcClass"), "missing"))?;
        let epc_class = identifier(&format!("{p}.epcClass"), class)?;
        let quantity = match q.get("quantity") {
            Some(x) => {
                let n = number_text(&format!("{p}.quantity"), x)?;
                if n.starts_with('-') {
                    return Err(err(&format!("{p}.quantity"), "must not be negative"));
                }
                Some(n)
            }
            None => None,
        };
        let uom = match q.get("uom") {
            Some(u) => {
                let s = string(&format!("{p}.uom"), u)?;
                if !(2..=3).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err(&format!("{p}.uom"), format!("{s:?} is not a UN/ECE Rec 20 unit code")));
                }
                if quantity.is_none() {
                    return Err(err(&format!("{p}.uom"), "uom without quantity"));
                }
                Some(s)
            }
            None => None,
        };
        out.push(QuantityElement { epc_class, quantity, uom });
    }
    Ok(out)
}

fn typed_pairs(
    path: &str,
    v: &Json,
    value_key: &str,
    field: &str,
    type_required: bool,
) -> Result<Vec<(Option<String>, String)>, EpcisError> {
    let mut out = Vec::new();
    for (i, e) in arr(path, v)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let m = obj(&p, e)?;
        only_fields(&p, m, &["type", value_key])?;
        let val = e.get(value_key).ok_or_else(|| err(&format!("{p}.{value_key}"), "missing"))?;
        let val = identifier(&format!("{p}.{value_key}"), val)?;
        let ty = match e.get("type") {
            Some(t) => Some(vocab_value(&format!("{p}.type"), field, t)?),
            None if type_required => return Err(err(&format!("{p}.type"), "missing")),
            None => None,
        };
        out.push((ty, val));
    }
    Ok(out)
}

fn location(path: &str, v: &Json) -> Result<String, EpcisError> {
    let m = obj(path, v)?;
    fields_or_extensions(path, m, &["id"])?;
    identifier(&format!("{path}.id"), v.get("id").ok_or_else(|| err(&format!("{path}.id"), "missing"))?)
}

fn sensor_elements(path: &str, v: &Json) -> Result<Vec<SensorReading>, EpcisError> {
    let mut readings = Vec::new();
    for (i, el) in arr(path, v)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let m = obj(&p, el)?;
        fields_or_extensions(&p, m, &["sensorMetadata", "sensorReport"])?;
        if let Some(md) = el.get("sensorMetadata") {
            let mp = format!("{p}.sensorMetadata");
            let mm = obj(&mp, md)?;
            fields_or_extensions(&mp, mm, METADATA_FIELDS)?;
            for (k, x) in mm.iter().filter(|(k, _)| METADATA_FIELDS.contains(&k.as_str())) {
                let fp = format!("{mp}.{k}");
                if k.ends_with("ime") {
                    timestamp(&fp, x)?;
                } else {
                    identifier(&fp, x)?;
                }
            }
        }
        let reports = el.get("sensorReport").ok_or_else(|| err(&format!("{p}.sensorReport"), "missing"))?;
        let rs = arr(&format!("{p}.sensorReport"), reports)?;
        if rs.is_empty() {
            return Err(err(&format!("{p}.sensorReport"), "at least one report"));
        }
        for (j, r) in rs.iter().enumerate() {
            let rp = format!("{p}.sensorReport[{j}]");
            let rm = obj(&rp, r)?;
            fields_or_extensions(&rp, rm, REPORT_FIELDS)?;
            let mut reading = SensorReading {
                measurement: None,
                value: None,
                min: None,
                max: None,
                mean: None,
                uom: None,
                exception: None,
                time: None,
            };
            for (k, x) in rm.iter().filter(|(k, _)| REPORT_FIELDS.contains(&k.as_str())) {
                let fp = format!("{rp}.{k}");
                match k.as_str() {
                    "type" => reading.measurement = Some(vocab_value(&fp, "sensorReport.type", x)?),
                    "exception" => reading.exception = Some(vocab_value(&fp, "sensorReport.exception", x)?),
                    "component" => {
                        vocab_value(&fp, "sensorReport.component", x)?;
                    }
                    "time" => reading.time = Some(timestamp(&fp, x)?.to_hash_text()),
                    "booleanValue" => {
                        // The XML binding carries xsd:boolean text; it is kept as written because
                        // the reference hashes it as written.
                        let xml_bool = matches!(x, Json::Str(s) if ["true", "false", "1", "0"].contains(&s.as_str()));
                        if !matches!(x, Json::Bool(_)) && !xml_bool {
                            return Err(err(&fp, format!("expected a boolean, found {}", x.kind())));
                        }
                    }
                    "stringValue" => {
                        string(&fp, x)?;
                    }
                    "hexBinaryValue" => {
                        let s = string(&fp, x)?;
                        if !s.bytes().all(|b| b.is_ascii_hexdigit()) || s.len() % 2 != 0 {
                            return Err(err(&fp, "expected hexadecimal octets"));
                        }
                    }
                    "uom" => {
                        let s = string(&fp, x)?;
                        if !(2..=3).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            return Err(err(&fp, format!("{s:?} is not a UN/ECE Rec 20 unit code")));
                        }
                        reading.uom = Some(s);
                    }
                    n if REPORT_NUMBERS.contains(&n) => {
                        let t = number_text(&fp, x)?;
                        match n {
                            "value" => reading.value = Some(t),
                            "minValue" => reading.min = Some(t),
                            "maxValue" => reading.max = Some(t),
                            "meanValue" => reading.mean = Some(t),
                            _ => {}
                        }
                    }
                    _ => {
                        identifier(&fp, x)?;
                    }
                }
            }
            readings.push(reading);
        }
    }
    Ok(readings)
}

fn generic_value(path: &str, v: &Json, depth: usize) -> Result<(), EpcisError> {
    if depth > 16 {
        return Err(err(path, "nested too deeply"));
    }
    match v {
        Json::Null => Err(err(path, "null is not accepted")),
        Json::Bool(_) => Ok(()),
        Json::Num(n) => canon::canonical_number(n).map(|_| ()).map_err(|e| err(path, e)),
        Json::Str(s) if s.is_empty() => Ok(()),
        Json::Str(_) => {
            let s = string(path, v)?;
            canon::canonical_number(&s).map_err(|e| err(path, e))?;
            canon::canonical_identifier(&s).map_err(|e| err(path, e))?;
            Ok(())
        }
        Json::Arr(a) => {
            a.iter().enumerate().try_for_each(|(i, x)| generic_value(&format!("{path}[{i}]"), x, depth + 1))
        }
        Json::Obj(m) => {
            for (k, x) in m {
                if k.is_empty() {
                    return Err(err(&format!("{path}.{k}"), "member names must not be empty"));
                }
                generic_value(&format!("{path}.{k}"), x, depth + 1)?;
            }
            Ok(())
        }
    }
}

fn validate_event(
    base: &str,
    raw: &Json,
    ns: &[(String, String)],
    document_vocab: &[String],
) -> Result<EpcisEvent, EpcisError> {
    let c = Ctx { base };
    let m0 = obj(base, raw)?;
    // An event's own @context (single-event documents) is document framing, not event content.
    let local_ns = namespaces(raw.get("@context"));
    let ns: Vec<(String, String)> = ns.iter().cloned().chain(local_ns).collect();
    let stripped = Json::Obj(
        m0.iter().filter(|(k, _)| k != "@context" && k != "creationDate" && k != "schemaVersion").cloned().collect(),
    );
    let ev = apply_ns(&expand_bare_terms(&stripped, document_vocab), &ns);
    let m = obj(base, &ev)?;
    let ty_s = ev.get("type").ok_or_else(|| err(&c.p("type"), "missing"))?;
    let ty_s = string(&c.p("type"), ty_s)?;
    let event_type =
        EventType::parse(&ty_s).ok_or_else(|| err(&c.p("type"), format!("{ty_s:?} is not an EPCIS 2.0 event type")))?;
    let allowed: Vec<&str> = COMMON.iter().chain(event_type.allowed()).copied().collect();
    fields_or_extensions(base, m, &allowed)?;

    let event_time =
        timestamp(&c.p("eventTime"), ev.get("eventTime").ok_or_else(|| err(&c.p("eventTime"), "missing"))?)?;
    let tz = ev.get("eventTimeZoneOffset").ok_or_else(|| err(&c.p("eventTimeZoneOffset"), "missing"))?;
    let tz = string(&c.p("eventTimeZoneOffset"), tz)?;
    let tzb = tz.as_bytes();
    let tz_ok = tzb.len() == 6
        && (tzb[0] == b'+' || tzb[0] == b'-')
        && tzb[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| tzb[i].is_ascii_digit())
        && tz[1..3].parse::<u32>().is_ok_and(|h| h <= 14)
        && tz[4..6].parse::<u32>().is_ok_and(|mm| mm <= 59);
    if !tz_ok {
        return Err(err(&c.p("eventTimeZoneOffset"), format!("{tz:?} is not ±HH:MM")));
    }
    if let Some(rt) = ev.get("recordTime") {
        timestamp(&c.p("recordTime"), rt)?;
    }
    let event_id = match ev.get("eventID") {
        Some(x) => Some(identifier(&c.p("eventID"), x)?),
        None => None,
    };
    if let Some(ci) = ev.get("certificationInfo") {
        match ci {
            Json::Arr(_) => {
                identifier_list(&c.p("certificationInfo"), ci)?;
            }
            _ => {
                identifier(&c.p("certificationInfo"), ci)?;
            }
        }
    }
    if let Some(ed) = ev.get("errorDeclaration") {
        let p = c.p("errorDeclaration");
        let em = obj(&p, ed)?;
        fields_or_extensions(&p, em, &["declarationTime", "reason", "correctiveEventIDs"])?;
        timestamp(
            &format!("{p}.declarationTime"),
            ed.get("declarationTime").ok_or_else(|| err(&format!("{p}.declarationTime"), "missing"))?,
        )?;
    }
    let action = match ev.get("action") {
        Some(a) => {
            let s = string(&c.p("action"), a)?;
            if !["ADD", "OBSERVE", "DELETE"].contains(&s.as_str()) {
                return Err(err(&c.p("action"), format!("{s:?} must be ADD, OBSERVE or DELETE")));
            }
            Some(s)
        }
        None if event_type != EventType::TransformationEvent => return Err(err(&c.p("action"), "missing")),
        None => None,
    };
    let biz_step = ev.get("bizStep").map(|x| vocab_value(&c.p("bizStep"), "bizStep", x)).transpose()?;
    let disposition = ev.get("disposition").map(|x| vocab_value(&c.p("disposition"), "disposition", x)).transpose()?;
    if let Some(pd) = ev.get("persistentDisposition") {
        let p = c.p("persistentDisposition");
        let pm = obj(&p, pd)?;
        only_fields(&p, pm, &["set", "unset"])?;
        for (k, x) in pm {
            for (i, d) in arr(&format!("{p}.{k}"), x)?.iter().enumerate() {
                vocab_value(&format!("{p}.{k}[{i}]"), "disposition", d)?;
            }
        }
    }
    let read_point = ev.get("readPoint").map(|x| location(&c.p("readPoint"), x)).transpose()?;
    let biz_location = ev.get("bizLocation").map(|x| location(&c.p("bizLocation"), x)).transpose()?;
    let biz_transactions = match ev.get("bizTransactionList") {
        Some(x) => typed_pairs(&c.p("bizTransactionList"), x, "bizTransaction", "bizTransactionList.type", false)?,
        None => vec![],
    };
    if event_type == EventType::TransactionEvent && biz_transactions.is_empty() {
        return Err(err(&c.p("bizTransactionList"), "a TransactionEvent needs at least one business transaction"));
    }
    for key in ["sourceList", "destinationList"] {
        if let Some(x) = ev.get(key) {
            let vk = if key == "sourceList" { "source" } else { "destination" };
            typed_pairs(&c.p(key), x, vk, &format!("{key}.type"), true)?;
        }
    }
    let sensor_readings = match ev.get("sensorElementList") {
        Some(x) => sensor_elements(&c.p("sensorElementList"), x)?,
        None => vec![],
    };
    if let Some(ilmd) = ev.get("ilmd") {
        obj(&c.p("ilmd"), ilmd)?;
        generic_value(&c.p("ilmd"), ilmd, 0)?;
    }
    let list = |k: &str| -> Result<Vec<String>, EpcisError> {
        match ev.get(k) {
            Some(x) => identifier_list(&c.p(k), x),
            None => Ok(vec![]),
        }
    };
    let qlist = |k: &str| -> Result<Vec<QuantityElement>, EpcisError> {
        match ev.get(k) {
            Some(x) => quantity_list(&c.p(k), x),
            None => Ok(vec![]),
        }
    };
    let parent_id = ev.get("parentID").map(|x| identifier(&c.p("parentID"), x)).transpose()?;
    let epcs = list("epcList")?;
    let quantities = qlist("quantityList")?;
    let child_epcs = list("childEPCs")?;
    let child_quantities = qlist("childQuantityList")?;
    let input_epcs = list("inputEPCList")?;
    let input_quantities = qlist("inputQuantityList")?;
    let output_epcs = list("outputEPCList")?;
    let output_quantities = qlist("outputQuantityList")?;
    if let Some(t) = ev.get("transformationID") {
        identifier(&c.p("transformationID"), t)?;
    }
    match event_type {
        EventType::ObjectEvent
            if epcs.is_empty() && quantities.is_empty() && (sensor_readings.is_empty() || read_point.is_none()) =>
        {
            return Err(err(
                &c.p("epcList"),
                "an ObjectEvent needs epcList or quantityList, or sensor data with a readPoint",
            ))
        }
        EventType::AggregationEvent | EventType::AssociationEvent
            if parent_id.is_none() && action.as_deref() != Some("OBSERVE") =>
        {
            return Err(err(
                &c.p("parentID"),
                format!("required for {} with action {}", event_type.as_str(), action.as_deref().unwrap_or("")),
            ))
        }
        EventType::TransformationEvent
            if input_epcs.is_empty()
                && input_quantities.is_empty()
                && output_epcs.is_empty()
                && output_quantities.is_empty() =>
        {
            return Err(err(&c.p("inputEPCList"), "a TransformationEvent needs inputs or outputs"))
        }
        _ => {}
    }
    let hash = hash::event_hash(&ev).map_err(|e| err(&c.p(&e.path), e.reason))?;
    Ok(EpcisEvent {
        json: ev,
        hash,
        event_type,
        event_time,
        event_time_zone_offset: tz,
        event_id,
        action,
        biz_step,
        disposition,
        read_point,
        biz_location,
        parent_id,
        epcs,
        quantities,
        child_epcs,
        child_quantities,
        input_epcs,
        input_quantities,
        output_epcs,
        output_quantities,
        biz_transactions,
        sensor_readings,
    })
}
