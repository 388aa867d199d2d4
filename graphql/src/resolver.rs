//! A GS1 Digital Link resolver on the API's host (GS1 Digital Link standard 1.1 section 7, GS1-
//! Conformant Resolver standard): a Digital Link path (`/01/{gtin}/10/{lot}`, `/01/{gtin}/21/{serial}`,
//! `/00/{sscc}`, …), or its compressed form (one path segment, [`compression`]), answers
//!
//! - with `Accept: application/linkset+json` (or `application/json`, or `?linkType=all`): the RFC 9264
//!   linkset of the key — `gs1:defaultLink` and `gs1:pip` (the consumer page), `gs1:traceability`
//!   (the trace as JSON, `/traceability/…`), `gs1:certificationInfo` (certificates the key's events
//!   cite), `gs1:epcis` (the EPCIS query for the key on this server);
//! - with `?linkType=gs1:…`: 307 to that link (to the default link when the key has no such link);
//! - from a browser (`text/html`): the consumer page itself, for lots and serialised items (the web UI's
//!   routes; a serial's page is served even for a serial nothing names, so it can say so);
//! - otherwise: 307 to the default link.
//!
//! Syntax errors are 400, keys with nothing anchored 404. `/.well-known/gs1resolver` describes the
//! resolver. Every answer allows any origin (CORS), as the standard requires.

pub mod compression;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use scf_domain::provenance::{self as dprov, digital_link, gs1};
use scf_ledger::state::StateRead;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::ratelimit::{ClientAddr, RateLimiter};
use crate::service::Api;

/// The GS1 web vocabulary: extension link relation types are its URIs (RFC 9264 section 4.2.2).
pub const GS1_VOC: &str = "https://gs1.org/voc/";
pub const LINKSET: &str = "application/linkset+json";
/// Link types this resolver knows, in the order a linkset lists them.
const LINK_TYPES: [&str; 5] = ["defaultLink", "pip", "traceability", "certificationInfo", "epcis"];
/// Primary keys resolved.
const PRIMARY_KEYS: [&str; 5] = ["01", "00", "414", "417", "8004"];

#[derive(Clone)]
pub struct ResolverState {
    pub api: Arc<Api>,
    /// The built web UI (its `index.html` is the consumer page).
    pub ui_dir: Option<PathBuf>,
    /// How this server is reached from outside (`https://trace.example.cn`); else from `Host`.
    pub public_url: Option<String>,
    pub limiter: Arc<RateLimiter>,
}

impl ResolverState {
    fn base(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// The resolver's routes; its fallback takes every path no other route claimed.
pub fn router(state: ResolverState) -> axum::Router {
    axum::Router::new()
        .route("/.well-known/gs1resolver", axum::routing::get(well_known))
        .route("/traceability/{*path}", axum::routing::get(traceability))
        .fallback(fallback)
        .with_state(state)
}

/// Why a request is not resolved.
#[derive(Debug)]
enum Refusal {
    Syntax(String),
    Unknown(String),
    RateLimited(u64),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title) = match self {
            Refusal::Syntax(t) => (StatusCode::BAD_REQUEST, t),
            Refusal::Unknown(t) => (StatusCode::NOT_FOUND, t),
            Refusal::RateLimited(ms) => (StatusCode::TOO_MANY_REQUESTS, format!("too many requests; retry in {ms} ms")),
        };
        let body = json!({ "type": "about:blank", "title": title, "status": status.as_u16() });
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        cors(&mut resp);
        resp
    }
}

fn cors(resp: &mut Response) {
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp.headers_mut().insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Link, Location"));
}

/// A Digital Link as this resolver uses it: the parsed URI and the GS1 key it names.
struct Resolved {
    dl: digital_link::DigitalLink,
    key: gs1::Gs1Key,
    /// The uncompressed path when the request was compressed (`owl:sameAs`).
    uncompressed: Option<String>,
}

impl Resolved {
    fn lot(&self) -> Option<&str> {
        self.dl.qualifier("10")
    }
    fn gtin(&self) -> Option<&str> {
        (self.dl.primary.0 == "01").then_some(self.dl.primary.1.as_str())
    }
    /// The path of the Digital Link on this host (`/01/…/10/…`), encoded as the standard writes it.
    fn path(&self) -> String {
        self.dl.canonical_uri().trim_start_matches(digital_link::CANONICAL_HOST).to_string()
    }
}

fn parse_path(path_and_query: &str) -> Result<Resolved, Refusal> {
    let uri = format!("{}{path_and_query}", digital_link::CANONICAL_HOST);
    let dl = digital_link::parse(&uri).map_err(|e| Refusal::Syntax(e.to_string()))?;
    if !dl.path_prefix.is_empty() {
        return Err(Refusal::Syntax(format!("{}: no path before the primary key on this resolver", dl.path_prefix)));
    }
    if !PRIMARY_KEYS.contains(&dl.primary.0.as_str()) {
        return Err(Refusal::Unknown(format!("primary key ({}) is not resolved here", dl.primary.0)));
    }
    let key = gs1::parse_digital_link(&dl.canonical_uri()).map_err(|e| Refusal::Syntax(e.to_string()))?;
    Ok(Resolved { dl, key, uncompressed: None })
}

/// Whether a path is a Digital Link (`/{digits}/…`) rather than a UI route.
fn looks_like_digital_link(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) && path.trim_start_matches('/').contains('/')
}

/// The certificates and the existence of a key, from its anchored events.
struct KeyFacts {
    anchored: usize,
    certificates: Vec<String>,
}

fn key_facts(state: &dyn StateRead, key: &gs1::Gs1Key) -> Result<KeyFacts, String> {
    let mut events = dprov::events_for_key(state, &key.digital_link()).map_err(|e| e.to_string())?;
    // A lot's units and a unit's lot share the consumer page: count both.
    if let gs1::Gs1Key::Lgtin { .. } = key {
        events.truncate(dprov::MAX_TRACE_EVENTS);
    }
    let mut certificates: Vec<String> = Vec::new();
    for (_, e) in &events {
        let v: Value = serde_json::from_str(&e.event_json).unwrap_or(Value::Null);
        let found = v
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.rsplit(['}', ':']).next() == Some("certificationInfo")))
            .map(|(_, v)| v.clone());
        let uris: Vec<String> = match found {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        for u in uris {
            if !certificates.contains(&u) {
                certificates.push(u);
            }
        }
    }
    Ok(KeyFacts { anchored: events.len(), certificates })
}

fn link(href: String, title: &str, ty: &str) -> Value {
    json!({ "href": href, "title": title, "type": ty, "hreflang": ["zh-CN"] })
}

/// The links of a key, by link type (short name).
fn links(base: &str, r: &Resolved, facts: &KeyFacts) -> Vec<(&'static str, Vec<Value>)> {
    let path = r.path();
    // The consumer page: a serialised item's own page (it counts scans and warns of copied labels),
    // else the lot's.
    let consumer = match (r.gtin(), r.lot(), r.dl.qualifier("21")) {
        (Some(_), _, Some(_)) => Some(format!("{base}{path}")),
        (Some(g), Some(l), None) => Some(format!("{base}/01/{g}/10/{}", gs1::dl_percent_encode(l))),
        _ => None,
    };
    let traceability = format!("{base}/traceability{path}");
    let (param, key) = match &r.key {
        gs1::Gs1Key::Lgtin { .. } | gs1::Gs1Key::Gtin { .. } => ("MATCH_anyEPCClass", r.key.digital_link()),
        _ => ("MATCH_anyEPC", r.key.digital_link()),
    };
    let epcis = format!("{base}/epcis/events?{}", serde_urlencoded::to_string([(param, key)]).unwrap_or_default());
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let default = consumer.clone().unwrap_or_else(|| traceability.clone());
    out.push((
        "defaultLink",
        vec![if consumer.is_some() {
            link(default, "溯源页 Product traceability page", "text/html")
        } else {
            link(default, "Traceability (JSON)", "application/json")
        }],
    ));
    if let Some(c) = consumer {
        out.push(("pip", vec![link(c, "产品信息 Product information", "text/html")]));
    }
    out.push((
        "traceability",
        vec![link(traceability, "Traceability (upstream and downstream, JSON)", "application/json")],
    ));
    if !facts.certificates.is_empty() {
        let certs = facts.certificates.iter().map(|c| json!({ "href": c, "title": "Certificate" })).collect();
        out.push(("certificationInfo", certs));
    }
    out.push(("epcis", vec![link(epcis, "EPCIS events (sign-in required)", "application/ld+json")]));
    out
}

/// The RFC 9264 linkset document.
fn linkset(base: &str, r: &Resolved, links: &[(&'static str, Vec<Value>)]) -> Value {
    let mut ctx = Map::new();
    ctx.insert("anchor".into(), json!(format!("{base}{}", r.path())));
    for (ty, targets) in links {
        ctx.insert(format!("{GS1_VOC}{ty}"), Value::Array(targets.clone()));
    }
    json!({ "linkset": [Value::Object(ctx)] })
}

/// A requested link type as its short name (`gs1:pip`, `https://gs1.org/voc/pip` and `pip` alike);
/// `None` for `all` / `linkset`.
fn link_type(v: &str) -> Option<String> {
    let v = v.trim();
    if v == "all" || v == "linkset" {
        return None;
    }
    let short =
        v.strip_prefix("gs1:").or_else(|| v.strip_prefix(GS1_VOC)).or_else(|| v.strip_prefix("http://gs1.org/voc/"));
    Some(short.unwrap_or(v).to_string())
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media))
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Everything not routed elsewhere: Digital Links (plain or compressed) are resolved, anything else
/// goes to the web UI (its client-side routes), or is 404 without one.
pub async fn fallback(State(s): State<ResolverState>, client: ClientAddr, req: Request<Body>) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let resolved = if looks_like_digital_link(&path) {
        let pq = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        Some(parse_path(&pq))
    } else {
        compression::decompress_path(&path).map(|uncompressed| {
            let pq = match &query {
                Some(q) => format!("{uncompressed}?{q}"),
                None => uncompressed.clone(),
            };
            parse_path(&pq).map(|mut r| {
                r.uncompressed = Some(uncompressed);
                r
            })
        })
    };
    let mut resp = match resolved {
        None => return ui(&s, req).await,
        Some(Err(refusal)) => return refusal.into_response(),
        Some(Ok(r)) => {
            if let Err(e) = s.limiter.check(client.0) {
                let ms = match e {
                    crate::error::ApiError::RateLimited { retry_after_ms } => retry_after_ms,
                    _ => 1000,
                };
                return Refusal::RateLimited(ms).into_response();
            }
            match resolve(&s, r, req).await {
                Ok(resp) => resp,
                Err(refusal) => return refusal.into_response(),
            }
        }
    };
    cors(&mut resp);
    resp
}

async fn resolve(s: &ResolverState, r: Resolved, req: Request<Body>) -> Result<Response, Refusal> {
    let headers = req.headers().clone();
    let base = s.base(&headers);
    if req.method() == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Accept"));
        return Ok(resp);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = StatusCode::METHOD_NOT_ALLOWED.into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        return Ok(resp);
    }
    // A browser opening a serialised item's link gets its page even when nothing names the serial: the
    // page itself tells the consumer the code was never issued (a sign of a counterfeit).
    let serial_page = r.gtin().is_some() && r.dl.qualifier("21").is_some();
    if serial_page && accepts(&headers, "text/html") && r.dl.other_query.iter().all(|(k, _)| k != "linkType") {
        return Ok(ui(s, req).await);
    }
    let facts = {
        let state = s.api.chain.state(None).map_err(|e| Refusal::Unknown(format!("chain state: {e}")))?;
        key_facts(state.as_ref(), &r.key).map_err(Refusal::Unknown)?
    };
    if facts.anchored == 0 {
        return Err(Refusal::Unknown(format!("nothing is recorded for {}", r.key.digital_link())));
    }
    let links = links(&base, &r, &facts);
    let wanted = r.dl.other_query.iter().find(|(k, _)| k == "linkType").map(|(_, v)| link_type(v));
    let default_href = links
        .iter()
        .find(|(t, _)| *t == "defaultLink")
        .and_then(|(_, l)| l.first())
        .and_then(|l| l["href"].as_str())
        .unwrap_or("/")
        .to_string();
    let want_linkset =
        matches!(wanted, Some(None)) || accepts(&headers, LINKSET) || accepts(&headers, "application/json");
    let mut resp = if want_linkset {
        let mut resp = (StatusCode::OK, linkset(&base, &r, &links).to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(LINKSET));
        resp
    } else if let Some(Some(ty)) = &wanted {
        let target = links
            .iter()
            .find(|(t, _)| t == ty)
            .and_then(|(_, l)| l.first())
            .and_then(|l| l["href"].as_str())
            .unwrap_or(&default_href)
            .to_string();
        redirect(&target)
    } else if accepts(&headers, "text/html") && r.lot().is_some() && r.dl.qualifier("21").is_none() {
        ui(s, req).await
    } else {
        redirect(&default_href)
    };
    let mut link_header = format!("<{base}{}?linkType=all>; rel=\"linkset\"; type=\"{LINKSET}\"", r.path());
    if let Some(u) = &r.uncompressed {
        link_header.push_str(&format!(", <{base}{u}>; rel=\"owl:sameAs\""));
    }
    if let Ok(v) = HeaderValue::from_str(&link_header) {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(resp)
}

/// The web UI for a path (its `index.html` for client-side routes), or 404 when no UI is served.
async fn ui(s: &ResolverState, req: Request<Body>) -> Response {
    match &s.ui_dir {
        Some(dir) => match crate::http::static_ui(dir).oneshot(req).await {
            Ok(r) => r.into_response(),
            Err(e) => match e {},
        },
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /.well-known/gs1resolver`: the resolver description file.
pub async fn well_known(State(s): State<ResolverState>, headers: HeaderMap) -> Response {
    let base = s.base(&headers);
    let mut active = Map::new();
    for (t, title) in LINK_TYPES.iter().zip([
        "Default link (the consumer traceability page)",
        "Product information page",
        "Traceability information",
        "Certification information",
        "EPCIS repository",
    ]) {
        active.insert((*t).to_string(), json!({ "title": title, "gs1key": "gtin" }));
    }
    let body = json!({
        "name": "scf consortium GS1 Digital Link resolver",
        "resolverRoot": base,
        "supportedLinkType": [{ "namespace": GS1_VOC, "prefix": "gs1:" }],
        "supportedPrimaryKeys": PRIMARY_KEYS,
        "linkTypeDefaultCanBeAll": false,
        "supportsLanguageVariants": false,
        "supportsSemanticInterpretation": false,
        "validatesAIcombinations": true,
        "supportsCompression": true,
        "activeLinkTypes": { "zh-CN": Value::Object(active) },
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    cors(&mut resp);
    resp
}

/// `GET /traceability/{digital link path}`: the key's trace (upstream and downstream) as JSON, the
/// `gs1:traceability` link. Public and rate-limited like the consumer page.
pub async fn traceability(State(s): State<ResolverState>, client: ClientAddr, Path(path): Path<String>) -> Response {
    if let Err(crate::error::ApiError::RateLimited { retry_after_ms }) = s.limiter.check(client.0) {
        return Refusal::RateLimited(retry_after_ms).into_response();
    }
    let r = match parse_path(&format!("/{path}")) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let trace = {
        let state = match s.api.chain.state(None) {
            Ok(st) => st,
            Err(e) => return Refusal::Unknown(format!("chain state: {e}")).into_response(),
        };
        dprov::trace(state.as_ref(), &r.key.digital_link())
    };
    let t = match trace {
        Ok(t) => t,
        Err(e) => return Refusal::Unknown(e.to_string()).into_response(),
    };
    if t.upstream.is_empty() && t.downstream.is_empty() {
        return Refusal::Unknown(format!("nothing is recorded for {}", t.key)).into_response();
    }
    let step = |st: &dprov::TraceStep| {
        json!({
            "eventHash": st.hash, "eventType": st.event_type.as_str(), "eventTime": st.event_time,
            "bizStep": st.biz_step, "disposition": st.disposition, "readPoint": st.read_point,
            "bizLocation": st.biz_location, "recordedBy": st.recorded_by, "height": st.height,
            "txId": st.tx_id.to_hex(), "relation": format!("{:?}", st.relation).to_lowercase(),
        })
    };
    let body = json!({
        "key": t.key,
        "upstream": t.upstream.iter().map(step).collect::<Vec<_>>(),
        "downstream": t.downstream.iter().map(step).collect::<Vec<_>>(),
        "ingredients": t.ingredients,
        "products": t.products,
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    cors(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_types_are_read_in_every_spelling() {
        assert_eq!(link_type("gs1:pip"), Some("pip".into()));
        assert_eq!(link_type("https://gs1.org/voc/traceability"), Some("traceability".into()));
        assert_eq!(link_type("epcis"), Some("epcis".into()));
        assert_eq!(link_type("all"), None);
    }

    #[test]
    fn only_numeric_first_segments_are_digital_links() {
        assert!(looks_like_digital_link("/01/09506000134352/10/ABC"));
        assert!(!looks_like_digital_link("/explorer/blocks/12"));
        assert!(!looks_like_digital_link("/01"));
    }

    #[test]
    fn syntax_errors_name_the_part() {
        match parse_path("/01/09506000134353/10/ABC") {
            Err(Refusal::Syntax(m)) => assert!(m.contains("check digit"), "{m}"),
            other => panic!("expected a syntax refusal, got {:?}", other.map(|r| r.path())),
        }
    }
}
