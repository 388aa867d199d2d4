//! The EPCIS 2.0 XML binding as input: an `EPCISDocument` (or `EPCISQueryDocument`) is read into the
//! same JSON event model the JSON-LD binding produces, so an event hashes and validates the same
//! whichever binding carried it.
//!
//! The mapping follows the two bindings' correspondence in the standard: list wrappers (`epcList`,
//! `quantityList`, `bizTransactionList`, …) become arrays, `type` attributes become `type` members,
//! sensor elements' attributes become members, EPCIS 1.x `extension` / `baseExtension` wrappers are
//! transparent, and user extension elements become members named `{namespace}local` whose value is
//! the text, or an object of their attributes and children (repeated children as arrays, text beside
//! children as `#text`). `gs1:` and `cbv:` value prefixes expand to their vocabularies, as in the
//! reference implementation. Quantities and sensor numbers become JSON numbers, as the JSON binding writes them.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::json::Json;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct XmlError {
    pub path: String,
    pub reason: String,
}

fn xerr(path: &str, reason: impl Into<String>) -> XmlError {
    XmlError { path: path.to_string(), reason: reason.into() }
}

/// An element: `{namespace}local` (or `local` without a namespace), attributes, children, text.
#[derive(Debug, Clone, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

fn qualified(ns: &ResolveResult, local: &[u8]) -> Result<String, String> {
    let local = std::str::from_utf8(local).map_err(|_| "name is not UTF-8".to_string())?;
    match ns {
        ResolveResult::Bound(n) => {
            let n = std::str::from_utf8(n.as_ref()).map_err(|_| "namespace is not UTF-8".to_string())?;
            Ok(format!("{{{n}}}{local}"))
        }
        ResolveResult::Unbound => Ok(local.to_string()),
        ResolveResult::Unknown(p) => Err(format!("undeclared namespace prefix {:?}", String::from_utf8_lossy(p))),
    }
}

fn parse_tree(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let at = |stack: &Vec<Element>| -> String {
        let names: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
        if names.is_empty() {
            "$".into()
        } else {
            names.join("/")
        }
    };
    loop {
        let pos = reader.buffer_position();
        let (ns, ev) =
            reader.read_resolved_event().map_err(|e| xerr(&at(&stack), format!("malformed XML at byte {pos}: {e}")))?;
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() {
                    return Err(xerr("$", "content after the document element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(xerr(&at(&stack), format!("nested deeper than {MAX_DEPTH}")));
                }
                let name = qualified(&ns, s.local_name().as_ref()).map_err(|e| xerr(&at(&stack), e))?;
                let mut el = Element { name, ..Element::default() };
                for a in s.attributes() {
                    let a = a.map_err(|e| xerr(&at(&stack), format!("bad attribute: {e}")))?;
                    let key = a.key;
                    if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
                        continue;
                    }
                    let (ans, local) = reader.resolve_attribute(key);
                    let aname = qualified(&ans, local.as_ref()).map_err(|e| xerr(&at(&stack), e))?;
                    let value = a
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|e| xerr(&format!("{}@{aname}", el.name), format!("bad attribute value: {e}")))?;
                    el.attrs.push((aname, value.into_owned()));
                }
                if matches!(ev, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xerr("$", "unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| xerr(&at(&stack), format!("bad text: {e}")))?;
                if let Some(cur) = stack.last_mut() {
                    // Like ElementTree's `.text`: only the text before the first child counts.
                    if cur.children.is_empty() {
                        cur.text.push_str(&s);
                    }
                } else if !s.trim().is_empty() {
                    return Err(xerr("$", "text outside the document element"));
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|_| xerr(&at(&stack), "CDATA is not UTF-8"))?.to_string();
                if let Some(cur) = stack.last_mut() {
                    if cur.children.is_empty() {
                        cur.text.push_str(&s);
                    }
                }
            }
            // A DOCTYPE is skipped; entities it might declare are never expanded (an undeclared
            // entity reference fails as bad text), so it cannot inflate or import anything.
            Event::DocType(_) => {}
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xerr(&at(&stack), "unclosed element"));
    }
    root.ok_or_else(|| xerr("$", "no document element"))
}

/// Children with EPCIS 1.x `extension` / `baseExtension` wrappers made transparent.
fn flat_children(el: &Element) -> Vec<&Element> {
    let mut out = Vec::new();
    for c in &el.children {
        if c.name == "extension" || c.name == "baseExtension" {
            out.extend(flat_children(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn local(el: &Element) -> &str {
    &el.name
}

/// `gs1:` / `cbv:` value prefixes, expanded as the reference does for the XML binding.
fn expand_value(s: &str) -> String {
    let t = s.trim();
    for (p, iri) in [("gs1:", "https://gs1.org/voc/"), ("cbv:", "https://ref.gs1.org/cbv/")] {
        if t.starts_with(p) {
            return t.replace(p, iri);
        }
    }
    t.to_string()
}

fn text_value(el: &Element) -> Json {
    Json::Str(expand_value(&el.text))
}

fn number_or_text(s: &str) -> Json {
    let t = s.trim();
    if super::json::parse(t).is_ok_and(|v| matches!(v, Json::Num(_))) {
        Json::Num(t.to_string())
    } else {
        Json::Str(expand_value(t))
    }
}

/// Generic conversion of an extension (or ILMD) element's content.
fn generic(el: &Element) -> Json {
    let kids = flat_children(el);
    if kids.is_empty() && el.attrs.is_empty() {
        return text_value(el);
    }
    let mut members: Vec<(String, Json)> =
        el.attrs.iter().map(|(k, v)| (k.clone(), Json::Str(expand_value(v)))).collect();
    push_grouped(&mut members, kids.iter().map(|c| (c.name.clone(), generic(c))));
    if !el.text.trim().is_empty() {
        members.push(("#text".into(), text_value(el)));
    }
    Json::Obj(members)
}

/// Add members, turning repeated names into arrays.
fn push_grouped(members: &mut Vec<(String, Json)>, items: impl Iterator<Item = (String, Json)>) {
    for (k, v) in items {
        match members.iter_mut().find(|(n, _)| *n == k) {
            Some((_, Json::Arr(a))) => a.push(v),
            Some((_, existing)) => {
                let first = std::mem::replace(existing, Json::Null);
                *existing = Json::Arr(vec![first, v]);
            }
            None => members.push((k, v)),
        }
    }
}

fn strings_of(el: &Element) -> Json {
    Json::Arr(flat_children(el).iter().map(|c| text_value(c)).collect())
}

fn quantity_list(el: &Element) -> Json {
    Json::Arr(
        flat_children(el)
            .iter()
            .map(|q| {
                let mut m = Vec::new();
                for c in flat_children(q) {
                    let nil = c.attrs.iter().any(|(k, v)| k.ends_with("XMLSchema-instance}nil") && v.trim() == "true");
                    if nil {
                        // xsi:nil: the element carries no value, the same as leaving it out.
                        continue;
                    }
                    let v = if c.name == "quantity" { number_or_text(&c.text) } else { text_value(c) };
                    m.push((c.name.clone(), v));
                }
                Json::Obj(m)
            })
            .collect(),
    )
}

fn typed_list(el: &Element, value_key: &str) -> Json {
    Json::Arr(
        flat_children(el)
            .iter()
            .map(|e| {
                let mut m = Vec::new();
                for (k, v) in &e.attrs {
                    m.push((k.clone(), Json::Str(expand_value(v))));
                }
                m.push((value_key.to_string(), text_value(e)));
                Json::Obj(m)
            })
            .collect(),
    )
}

const SENSOR_NUMBERS: [&str; 7] = ["value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"];

fn attrs_object(el: &Element) -> Json {
    let mut m = Vec::new();
    for (k, v) in &el.attrs {
        let val = if SENSOR_NUMBERS.contains(&k.as_str()) {
            number_or_text(v)
        } else if k == "booleanValue" {
            // Kept as the xsd:boolean text: the reference hashes `true` here but `True` for a JSON
            // boolean, and each binding must hash as there.
            Json::Str(v.trim().to_string())
        } else {
            Json::Str(expand_value(v))
        };
        m.push((k.clone(), val));
    }
    push_grouped(&mut m, flat_children(el).iter().map(|c| (c.name.clone(), generic(c))));
    Json::Obj(m)
}

fn sensor_element_list(el: &Element) -> Json {
    Json::Arr(
        flat_children(el)
            .iter()
            .map(|se| {
                let mut m: Vec<(String, Json)> = Vec::new();
                let mut reports = Vec::new();
                for c in flat_children(se) {
                    match c.name.as_str() {
                        "sensorMetadata" => m.push(("sensorMetadata".into(), attrs_object(c))),
                        "sensorReport" => reports.push(attrs_object(c)),
                        _ => push_grouped(&mut m, std::iter::once((c.name.clone(), generic(c)))),
                    }
                }
                if !reports.is_empty() {
                    m.push(("sensorReport".into(), Json::Arr(reports)));
                }
                Json::Obj(m)
            })
            .collect(),
    )
}

fn persistent_disposition(el: &Element) -> Json {
    let mut m: Vec<(String, Json)> = Vec::new();
    for c in flat_children(el) {
        let v = text_value(c);
        match m.iter_mut().find(|(k, _)| *k == c.name) {
            Some((_, Json::Arr(a))) => a.push(v),
            _ => m.push((c.name.clone(), Json::Arr(vec![v]))),
        }
    }
    Json::Obj(m)
}

fn error_declaration(el: &Element) -> Json {
    let mut m = Vec::new();
    for c in flat_children(el) {
        let v = match c.name.as_str() {
            "correctiveEventIDs" => strings_of(c),
            "declarationTime" | "reason" => text_value(c),
            _ => generic(c),
        };
        push_grouped(&mut m, std::iter::once((c.name.clone(), v)));
    }
    Json::Obj(m)
}

fn location(el: &Element) -> Json {
    let mut m = Vec::new();
    for c in flat_children(el) {
        let v = if c.name == "id" { text_value(c) } else { generic(c) };
        push_grouped(&mut m, std::iter::once((c.name.clone(), v)));
    }
    Json::Obj(m)
}

fn event(el: &Element) -> Json {
    let mut m: Vec<(String, Json)> = vec![("type".into(), Json::Str(el.name.clone()))];
    for c in flat_children(el) {
        let v = match local(c) {
            "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => strings_of(c),
            "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => quantity_list(c),
            "bizTransactionList" => typed_list(c, "bizTransaction"),
            "sourceList" => typed_list(c, "source"),
            "destinationList" => typed_list(c, "destination"),
            "readPoint" | "bizLocation" => location(c),
            "sensorElementList" => sensor_element_list(c),
            "persistentDisposition" => persistent_disposition(c),
            "errorDeclaration" => error_declaration(c),
            "ilmd" => {
                let mut im = Vec::new();
                push_grouped(&mut im, flat_children(c).iter().map(|x| (x.name.clone(), generic(x))));
                Json::Obj(im)
            }
            "certificationInfo" => text_value(c),
            _ if c.name.starts_with('{') => generic(c),
            _ => text_value(c),
        };
        push_grouped(&mut m, std::iter::once((c.name.clone(), v)));
    }
    Json::Obj(m)
}

/// The events of an EPCIS XML document, each as its JSON-binding object, with the path of its element.
pub fn events(text: &str) -> Result<Vec<(String, Json)>, XmlError> {
    let root = parse_tree(text)?;
    let root_local = root.name.rsplit('}').next().unwrap_or("");
    if root_local != "EPCISDocument" && root_local != "EPCISQueryDocument" {
        return Err(xerr(
            "$",
            format!("document element {:?} is neither EPCISDocument nor EPCISQueryDocument", root.name),
        ));
    }
    // EventList wherever the binding puts it (EPCISBody/EventList, or under QueryResults/resultsBody).
    fn find<'a>(el: &'a Element, out: &mut Vec<&'a Element>) {
        for c in &el.children {
            if c.name == "EventList" {
                out.push(c);
            } else {
                find(c, out);
            }
        }
    }
    let mut lists = Vec::new();
    find(&root, &mut lists);
    let Some(list) = lists.first() else {
        return Err(xerr("EPCISBody", "no EventList"));
    };
    Ok(flat_children(list)
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("EPCISBody.EventList[{i}]({})", e.name), event(e)))
        .collect())
}
