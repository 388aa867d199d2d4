//! The CBV 2.0 canonical event hash (`ni:///sha-256;{hex}?ver=CBV2.0`), as specified by GS1 (CBV 2.0
//! §8.9 "Event hash") and implemented by the GS1 reference implementation (PyPI
//! `epcis-event-hash-generator` 1.9.3), whose behaviour is the reference here.
//!
//! The algorithm works on a generic tree of `(name, text, children)` nodes — the form both EPCIS
//! bindings reduce to — so user extensions hash wherever they appear, nested to any depth:
//! 1. The event becomes a tree ([`Node::from_json_event`]; the XML binding is first read into the
//!    same JSON model by [`super::xml`]). Extension member names are `{namespace}local`.
//! 2. The pre-hash string is `eventType=` + the event type, then the standard fields in the fixed
//!    property order (`name=value`, repeated values sorted, nested structures prefixed by their name,
//!    user extensions of a nested structure appended to it, sorted), then every remaining member —
//!    business transactions, sources, destinations, ILMD, event-level user extensions — serialised
//!    generically (`name[=value]` + children, siblings sorted). `eventID`, `recordTime`, `type` and
//!    `errorDeclaration` do not take part.
//! 3. Values are canonicalised (see [`super::canon`]): timestamps in the ordered fields to UTC
//!    milliseconds, numbers to their shortest decimal, CBV URNs to web vocabulary, GS1 identifiers to
//!    constrained canonical Digital Links.
//!
//! The reference's quirks are reproduced because the hash is only useful if every implementation
//! computes the same one: a nested structure takes its user extensions only when their namespace ends
//! in `/` (others fall through to the generic part, with the structure's name repeated); entries of
//! `bizTransactionList` / `sourceList` / `destinationList` keep their members' order; extension
//! values are canonicalised but extension timestamps are not. Where the reference cannot hash an
//! event at all (an untyped business transaction, which it indexes out of range), this module hashes
//! the fields that are there, in the standard's order.

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

/// A node of the binding-neutral event tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// `(name, text, children)`.
    Item(String, String, Vec<Node>),
    /// A typed-list entry kept in member order: `(type, value)` or `(value, type)`.
    Pair(Box<Node>, Box<Node>),
}

/// Member names whose objects keep their members in document order.
const ORDERED_KEYS: [&str; 3] = ["bizTransaction", "source", "destination"];
const TYPED_LISTS: [&str; 3] = ["sourceList", "destinationList", "bizTransactionList"];
/// JSON members that never take part (comments, as in the reference).
const IGNORED_JSON_KEYS: [&str; 4] =
    ["#text", "rdfs:comment", "comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"];

/// Python's `str()` of a JSON scalar as `json.loads` reads it; numbers keep their text, which
/// canonicalises to the same value.
fn scalar_text(v: &Json) -> String {
    match v {
        Json::Str(s) => s.clone(),
        Json::Num(n) => n.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        Json::Arr(_) | Json::Obj(_) => String::new(),
    }
}

impl Node {
    fn item(name: impl Into<String>, text: impl Into<String>, kids: Vec<Node>) -> Node {
        Node::Item(name.into(), text.into(), kids)
    }

    fn name(&self) -> Option<&str> {
        match self {
            Node::Item(n, _, _) => Some(n),
            Node::Pair(..) => None,
        }
    }

    fn kids(&self) -> &[Node] {
        match self {
            Node::Item(_, _, k) => k,
            Node::Pair(..) => &[],
        }
    }

    /// The JSON-LD binding's tree of one (self-contained) event, with the JSON/XML model corrections
    /// (`epcList` entries become `epc`, quantity entries `quantityElement`, typed lists pairs).
    pub fn from_json_event(ev: &Json) -> R<Node> {
        correct(&from_json(ev))
    }
}

fn from_json(v: &Json) -> Node {
    match v {
        Json::Arr(items) => {
            let mut kids: Vec<Node> = items.iter().map(from_json).collect();
            let keeps_order = items.iter().any(|x| matches!(x, Json::Str(s) if ORDERED_KEYS.contains(&s.as_str())));
            if !keeps_order {
                kids.sort();
            }
            Node::item("", "", kids)
        }
        Json::Obj(members) => {
            let name = members.iter().find(|(k, _)| k == "type").map(|(_, t)| scalar_text(t)).unwrap_or_default();
            let text = members.iter().find(|(k, _)| k == "#text").map(|(_, t)| scalar_text(t)).unwrap_or_default();
            let mut kids = Vec::new();
            for (key, val) in members {
                if IGNORED_JSON_KEYS.contains(&key.as_str()) || key.starts_with("@xmlns") {
                    continue;
                }
                let child = from_json(val);
                let Node::Item(_, ctext, ckids) = child else { continue };
                if matches!(val, Json::Arr(_)) {
                    for element in ckids {
                        if let Node::Item(_, etext, ekids) = element {
                            kids.push(Node::item(key.clone(), etext, ekids));
                        }
                    }
                } else {
                    kids.push(Node::item(key.clone(), ctext, ckids));
                }
            }
            if !members.iter().any(|(k, _)| ORDERED_KEYS.contains(&k.as_str())) {
                kids.sort();
            }
            Node::item(name, text, kids)
        }
        scalar => Node::item("", scalar_text(scalar), vec![]),
    }
}

/// The reference's `deep_structure_correction` (JSON only).
fn correct(node: &Node) -> R<Node> {
    let Node::Item(name, text, kids) = node else {
        return Ok(node.clone());
    };
    let mut rest: Vec<Node> = Vec::new();
    let mut lists: Vec<(String, Vec<Node>)> = Vec::new();
    for k in kids {
        match k {
            Node::Item(n, t, c) if n.ends_with("List") => {
                let entry = Node::item(&n[..n.len() - 4], t.clone(), c.clone());
                match lists.iter_mut().find(|(l, _)| l == n) {
                    Some((_, v)) => v.push(entry),
                    None => lists.push((n.clone(), vec![entry])),
                }
            }
            other => rest.push(other.clone()),
        }
    }
    for (list_name, elements) in lists {
        if TYPED_LISTS.contains(&list_name.as_str()) {
            let mut pairs = Vec::new();
            for e in elements {
                match e.kids() {
                    [a, b, ..] => pairs.push(Node::Pair(Box::new(a.clone()), Box::new(b.clone()))),
                    [only] => pairs.push(only.clone()),
                    [] => {}
                }
            }
            rest.push(Node::item(list_name, "", pairs));
        } else {
            rest.push(Node::item(list_name, "", elements));
        }
    }
    let mut child_epcs = Vec::new();
    rest.retain(|k| match k {
        Node::Item(n, t, _) if n == "childEPCs" => {
            child_epcs.push(Node::item("epc", t.clone(), vec![]));
            false
        }
        _ => true,
    });
    if !child_epcs.is_empty() {
        rest.push(Node::item("childEPCs", "", child_epcs));
    }
    let mut corrected = Vec::with_capacity(rest.len());
    for k in &rest {
        if k.name().is_some_and(|n| TYPED_LISTS.contains(&n)) {
            corrected.push(k.clone());
        } else {
            corrected.push(correct(k)?);
        }
    }
    let new_name = match name.as_str() {
        "inputEPC" | "outputEPC" => "epc",
        "inputQuantity" | "outputQuantity" | "childQuantity" => "quantityElement",
        "quantity" if !corrected.is_empty() => "quantityElement",
        n => n,
    };
    Ok(Node::item(new_name, text.clone(), corrected))
}

/// The standard's property order: a name and, for structures, the order of their children.
struct Order {
    name: &'static str,
    sub: Option<&'static [Order]>,
}

const fn leaf(name: &'static str) -> Order {
    Order { name, sub: None }
}

/// Sub-order of the typed lists: it matches none of their (pair) entries, so the lists are left for
/// the generic serialisation — exactly as in the reference.
const TYPED: &[Order] = &[leaf("\u{0}")];
const EPC: &[Order] = &[leaf("epc")];
const QUANTITY: &[Order] =
    &[Order { name: "quantityElement", sub: Some(&[leaf("epcClass"), leaf("quantity"), leaf("uom")]) }];
const METADATA: &[Order] = &[
    leaf("time"),
    leaf("startTime"),
    leaf("endTime"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("bizRules"),
];
const REPORT: &[Order] = &[
    leaf("type"),
    leaf("exception"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("time"),
    leaf("microorganism"),
    leaf("chemicalSubstance"),
    leaf("value"),
    leaf("component"),
    leaf("stringValue"),
    leaf("booleanValue"),
    leaf("hexBinaryValue"),
    leaf("uriValue"),
    leaf("minValue"),
    leaf("maxValue"),
    leaf("meanValue"),
    leaf("sDev"),
    leaf("percRank"),
    leaf("percValue"),
    leaf("uom"),
    leaf("coordinateReferenceSystem"),
];
const SENSOR_ELEMENT: &[Order] =
    &[Order { name: "sensorMetadata", sub: Some(METADATA) }, Order { name: "sensorReport", sub: Some(REPORT) }];
const PROP_ORDER: &[Order] = &[
    leaf("eventTime"),
    leaf("eventTimeZoneOffset"),
    leaf("certificationInfo"),
    leaf("parentID"),
    Order { name: "epcList", sub: Some(EPC) },
    Order { name: "inputEPCList", sub: Some(EPC) },
    Order { name: "childEPCs", sub: Some(EPC) },
    Order { name: "quantityList", sub: Some(QUANTITY) },
    Order { name: "childQuantityList", sub: Some(QUANTITY) },
    Order { name: "inputQuantityList", sub: Some(QUANTITY) },
    Order { name: "outputEPCList", sub: Some(EPC) },
    Order { name: "outputQuantityList", sub: Some(QUANTITY) },
    leaf("action"),
    leaf("transformationID"),
    leaf("bizStep"),
    leaf("disposition"),
    Order { name: "persistentDisposition", sub: Some(&[leaf("set"), leaf("unset")]) },
    Order { name: "readPoint", sub: Some(&[leaf("id")]) },
    Order { name: "bizLocation", sub: Some(&[leaf("id")]) },
    Order { name: "bizTransactionList", sub: Some(TYPED) },
    Order { name: "sourceList", sub: Some(TYPED) },
    Order { name: "destinationList", sub: Some(TYPED) },
    Order { name: "sensorElementList", sub: Some(&[Order { name: "sensorElement", sub: Some(SENSOR_ELEMENT) }]) },
];

/// Canonical value of a text (`_canonize_value`).
fn canonize(path: &str, text: &str) -> R<String> {
    let t = canon::web_vocabulary(text);
    let t = canon::canonical_number(&t).map_err(|e| herr(path, e))?.unwrap_or(t);
    let t = canon::canonical_identifier(&t).map_err(|e| herr(path, e))?.unwrap_or(t);
    Ok(t)
}

fn is_time_name(name: &str) -> bool {
    let l = name.to_lowercase();
    l.contains("time") && !l.contains("offset")
}

/// User extensions of a nested structure (`_gather_user_extensions`): members whose name carries a
/// namespace ending in `/`, except at event level (recognised by `eventTime` / `action`).
fn gather_user_extensions(list: &mut Vec<Node>) -> Vec<Node> {
    if list.len() <= 1 {
        return vec![];
    }
    if list.iter().any(|c| c.name().is_some_and(|n| n.contains("eventTime") || n.contains("action"))) {
        return vec![];
    }
    let (ext, keep): (Vec<Node>, Vec<Node>) =
        list.drain(..).partition(|c| c.name().is_some_and(|n| n.contains('{') && n.contains("/}")));
    *list = keep;
    ext
}

fn child_prehash(path: &str, child: &mut Node, sub: Option<&[Order]>) -> R<String> {
    let Node::Item(name, text, kids) = child else {
        return Ok(String::new());
    };
    let p = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
    let grand = match sub {
        Some(order) => recurse(&p, kids, order)?,
        None => String::new(),
    };
    let mut value = String::new();
    if !text.is_empty() {
        let t = canon::py_strip(text);
        let t = if is_time_name(name) {
            match canon::parse_timestamp(t) {
                Ok(ts) => ts.to_hash_text(),
                Err(_) => t.to_string(),
            }
        } else {
            canonize(&p, t)?
        };
        if !t.is_empty() {
            value = format!("={t}");
        }
    }
    if value.is_empty() && grand.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("{name}{value}{grand}"))
}

fn recurse(path: &str, list: &mut Vec<Node>, order: &[Order]) -> R<String> {
    let mut pre = String::new();
    let ext = gather_user_extensions(list);
    for o in order {
        let mut values = Vec::new();
        let mut i = 0;
        while i < list.len() {
            if list[i].name() != Some(o.name) {
                i += 1;
                continue;
            }
            let v = child_prehash(path, &mut list[i], o.sub)?;
            if !v.is_empty() {
                values.push(v);
            }
            if list[i].kids().is_empty() {
                list.remove(i);
            } else {
                i += 1;
            }
        }
        values.sort();
        pre.push_str(&values.concat());
    }
    if !ext.is_empty() {
        pre.push_str(&generic(path, &ext)?);
    }
    Ok(pre)
}

/// The generic serialisation of members outside the property order.
fn generic(path: &str, children: &[Node]) -> R<String> {
    let mut values = Vec::with_capacity(children.len());
    for child in children {
        match child {
            Node::Pair(a, b) => values.push(generic(path, &[(**a).clone(), (**b).clone()])?),
            Node::Item(name, text, kids) => {
                let p = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                let t = canon::py_strip(text);
                let value = if t.is_empty() { String::new() } else { format!("={}", canonize(&p, t)?) };
                values.push(format!("{name}{value}{}", generic(&p, kids)?));
            }
        }
    }
    let ordered = children.iter().any(|c| c.name().is_some_and(|n| ORDERED_KEYS.contains(&n)));
    if children.len() > 1 && !ordered {
        values.sort();
    }
    Ok(values.concat())
}

/// The pre-hash string of an event tree.
pub fn prehash_tree(event: &Node) -> R<String> {
    let Node::Item(ty, _, kids) = event else {
        return Err(herr("", "an event must be an element"));
    };
    let mut kids = kids.clone();
    let ordered = recurse("", &mut kids, PROP_ORDER)?;
    kids.retain(|k| !matches!(k.name(), Some("recordTime" | "eventID" | "type" | "errorDeclaration")));
    let rest = if kids.is_empty() { String::new() } else { generic("", &kids)? };
    Ok(format!("eventType={ty}{ordered}{rest}"))
}

/// The pre-hash string of a self-contained JSON event (bare CBV terms already written as URIs,
/// extension names as `{namespace}local`).
pub fn prehash(ev: &Json) -> R<String> {
    prehash_tree(&Node::from_json_event(ev)?)
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
