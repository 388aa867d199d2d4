//! The EPCIS 2.0 REST binding (GS1 EPCIS 2.0, section 12 and its OpenAPI document), served under
//! `/epcis`: asynchronous capture of whole documents (`POST /epcis/capture` → 202 + a capture job),
//! synchronous capture of one event (`POST /epcis/events` → 201), the query interface
//! (`GET /epcis/events` with the standard parameters, [`super::epcis_query`]), single events by
//! `eventID`, and named queries. JSON-LD and XML are accepted on capture; results are JSON-LD.
//!
//! Capture goes through the domain's importer (`epcis::import` / `import_xml`) and anchors every event
//! with its CBV 2.0 hash on chain, as the caller's organisation — the same path as GraphQL's
//! `captureEpcis`. What a caller reads is scoped as in GraphQL: events its organisation anchored (the
//! regulator: all). Each returned event carries its hash and the block that anchors it as `scf:`
//! extension members, and the anchoring block's time as its `recordTime`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scf_domain::provenance::{self as dprov, canon, ProvenanceCall};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{json, Map, Value};

use super::epcis_query::{self, EventQuery};
use super::{json_response, signed_in, Problem, RestState};
use crate::auth::{now_ms, AuthUser, UserRole};
use crate::db::integration::{epcis_capture_job, epcis_event, epcis_named_query};
use crate::schema::access;
use crate::service::Api;

pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// Namespace of the members this server adds to returned events.
pub const SCF_NAMESPACE: &str = "urn:scf:epcis:";
const JSON_LD: &str = "application/ld+json";
/// `rollback` capture is one transaction: all of the document's events or none.
pub const ROLLBACK_LIMIT: usize = dprov::MAX_BATCH;

fn versions(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert("GS1-EPCIS-Version", HeaderValue::from_static("2.0.0"));
    h.insert("GS1-CBV-Version", HeaderValue::from_static("2.0.0"));
}

fn with_versions(mut resp: Response) -> Response {
    versions(&mut resp);
    resp
}

/// The organisation a user reads for (`None`: everything, for the regulator).
async fn read_scope(api: &Api, user: &AuthUser) -> Result<Option<String>, Problem> {
    if access::has_org_role(api, user, "regulator").await.map_err(Problem::from)? {
        Ok(None)
    } else {
        Ok(Some(user.org_id.clone()))
    }
}

fn writer(user: &AuthUser) -> Result<(), Problem> {
    if user.role == UserRole::Viewer {
        return Err(Problem::forbidden("viewers cannot capture events"));
    }
    Ok(())
}

/// `GET /epcis`: the top-level resources this server offers.
pub async fn top_level() -> Response {
    with_versions(json_response(
        StatusCode::OK,
        "application/json",
        &json!({ "@context": EPCIS_CONTEXT, "type": "Collection", "member": ["capture", "events", "queries"] }),
    ))
}

/// `OPTIONS /epcis/capture`: what capture accepts.
pub async fn capture_options() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    versions(&mut resp);
    let h = resp.headers_mut();
    h.insert("GS1-EPCIS-Capture-Limit", HeaderValue::from(dprov::epcis::MAX_EVENTS));
    h.insert("GS1-EPCIS-Capture-File-Size-Limit", HeaderValue::from(dprov::epcis::MAX_DOCUMENT_BYTES));
    h.insert("GS1-Capture-Error-Behaviour", HeaderValue::from_static("rollback, proceed"));
    h.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, GET, POST"));
    resp
}

/// `OPTIONS /epcis/events`.
pub async fn events_options() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    versions(&mut resp);
    resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("OPTIONS, GET, POST"));
    resp
}

/// Import a capture body by its media type.
fn import(headers: &HeaderMap, body: &[u8]) -> Result<Vec<dprov::EpcisEvent>, Problem> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).map_err(|_| Problem::validation("body: not UTF-8"))?;
    let xml = match media.as_str() {
        "application/json" | "application/ld+json" => false,
        "application/xml" | "text/xml" => true,
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "epcisException:UnsupportedMediaTypeException",
                format!("Content-Type {ct:?}: send application/json, application/ld+json or application/xml"),
            ))
        }
    };
    let imported = if xml { dprov::epcis::import_xml(text) } else { dprov::epcis::import(text) };
    let events = imported.map_err(|e| Problem::validation(format!("{}: {}", e.path, e.reason)))?;
    if events.is_empty() {
        return Err(Problem::validation("the document contains no events"));
    }
    Ok(events)
}

fn job_json(j: &epcis_capture_job::Model) -> Value {
    let errors: Value = serde_json::from_str(&j.errors).unwrap_or_else(|_| json!([]));
    let mut v = json!({
        "captureID": j.id,
        "createdAt": canon::Timestamp { utc_ms: j.created_ms }.to_hash_text(),
        "running": j.running,
        "success": j.success,
        "captureErrorBehaviour": j.error_behaviour,
        "errors": errors,
    });
    if let Some(f) = j.finished_ms {
        v["finishedAt"] = json!(canon::Timestamp { utc_ms: f }.to_hash_text());
    }
    v
}

fn random_id() -> Result<String, Problem> {
    let bytes = scf_ledger::crypto::random_bytes::<8>().map_err(|_| Problem::internal())?;
    Ok(hex::encode(bytes))
}

/// `POST /epcis/capture`: validate the document now (400 if invalid), anchor its events in the
/// background, answer 202 with the capture job's URL.
pub async fn capture(State(s): State<RestState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    writer(&user)?;
    let behaviour = match headers.get("GS1-Capture-Error-Behaviour").and_then(|v| v.to_str().ok()) {
        None => "rollback",
        Some(v) if v.eq_ignore_ascii_case("rollback") => "rollback",
        Some(v) if v.eq_ignore_ascii_case("proceed") => "proceed",
        Some(v) => {
            return Err(Problem::validation(format!("GS1-Capture-Error-Behaviour: {v:?} is not rollback or proceed")))
        }
    };
    let events = import(&headers, &body)?;
    if behaviour == "rollback" && events.len() > ROLLBACK_LIMIT {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "epcisException:CaptureLimitExceededException",
            format!(
                "{} events: a rollback capture is one transaction of at most {ROLLBACK_LIMIT} events; send \
                 GS1-Capture-Error-Behaviour: proceed to capture larger documents in parts",
                events.len()
            ),
        ));
    }
    let created = now_ms();
    let id = format!("{created:013}-{}", random_id()?);
    let hashes: Vec<String> = events.iter().map(|e| e.hash.clone()).collect();
    let job = epcis_capture_job::Model {
        id: id.clone(),
        org: user.org_id.clone(),
        user_id: user.id.clone(),
        created_ms: created,
        finished_ms: None,
        running: true,
        success: true,
        error_behaviour: behaviour.into(),
        errors: "[]".into(),
        hashes: serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into()),
        event_count: i32::try_from(events.len()).unwrap_or(i32::MAX),
    };
    epcis_capture_job::Entity::insert(epcis_capture_job::ActiveModel::from(job)).exec(&s.api.db).await?;
    let api = s.api.clone();
    let calls = ProvenanceCall::from_events(&events);
    let job_id = id.clone();
    tokio::spawn(async move { run_job(api, user, job_id, calls, behaviour == "proceed").await });
    let mut resp = StatusCode::ACCEPTED.into_response();
    versions(&mut resp);
    if let Ok(loc) = HeaderValue::from_str(&format!("/epcis/capture/{id}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn run_job(api: std::sync::Arc<Api>, user: AuthUser, id: String, calls: Vec<ProvenanceCall>, proceed: bool) {
    let mut errors: Vec<Value> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        if let Err(e) = api.submit(&user, call).await {
            let p = Problem::from(e);
            let first = i * dprov::MAX_BATCH;
            errors.push(p.detail(format!("events {first}..{}", first + batch_len(call))).to_json());
            if !proceed {
                break;
            }
        }
    }
    let update = epcis_capture_job::Entity::update_many()
        .col_expr(epcis_capture_job::Column::Running, sea_orm::sea_query::Expr::value(false))
        .col_expr(epcis_capture_job::Column::Success, sea_orm::sea_query::Expr::value(errors.is_empty()))
        .col_expr(epcis_capture_job::Column::FinishedMs, sea_orm::sea_query::Expr::value(Some(now_ms())))
        .col_expr(epcis_capture_job::Column::Errors, sea_orm::sea_query::Expr::value(Value::from(errors).to_string()))
        .filter(epcis_capture_job::Column::Id.eq(id.clone()))
        .exec(&api.db)
        .await;
    if let Err(e) = update {
        tracing::error!(job = %id, error = %e, "capture job outcome not recorded");
    }
}

fn batch_len(call: &ProvenanceCall) -> usize {
    match call {
        ProvenanceCall::Capture(_) => 1,
        ProvenanceCall::CaptureBatch(b) => b.len(),
        ProvenanceCall::Recall(_) | ProvenanceCall::DescribeLocations(_) => 0,
    }
}

/// Jobs left running by a stopped process: finished as far as the chain says (every event anchored:
/// success; otherwise failed, naming the events missing).
pub async fn recover_jobs(api: &Api) -> Result<(), sea_orm::DbErr> {
    let stale =
        epcis_capture_job::Entity::find().filter(epcis_capture_job::Column::Running.eq(true)).all(&api.db).await?;
    for job in stale {
        let hashes: Vec<String> = serde_json::from_str(&job.hashes).unwrap_or_default();
        let mut missing = 0usize;
        for h in &hashes {
            if epcis_event::Entity::find().filter(epcis_event::Column::Hash.eq(h.clone())).count(&api.db).await? == 0 {
                missing += 1;
            }
        }
        let errors = if missing == 0 {
            json!([])
        } else {
            json!([Problem::internal()
                .detail(format!(
                    "the server restarted during capture; {missing} of {} events were not anchored",
                    hashes.len()
                ))
                .to_json()])
        };
        epcis_capture_job::Entity::update(epcis_capture_job::ActiveModel {
            id: Set(job.id.clone()),
            running: Set(false),
            success: Set(missing == 0),
            finished_ms: Set(Some(now_ms())),
            errors: Set(errors.to_string()),
            ..Default::default()
        })
        .exec(&api.db)
        .await?;
    }
    Ok(())
}

/// `GET /epcis/capture`: the caller's capture jobs, newest first.
pub async fn list_jobs(
    State(s): State<RestState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let scope = read_scope(&s.api, &user).await?;
    let params = epcis_query::from_query_string(q.as_deref())?;
    let mut per_page = epcis_query::DEFAULT_PER_PAGE;
    let mut after: Option<String> = None;
    for (k, v) in &params {
        match (k.as_str(), v.as_slice()) {
            ("perPage", [n]) => {
                per_page = n
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=epcis_query::MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| Problem::query_parameter("perPage", "must be 1..=1000"))?
            }
            ("nextPageToken", [t]) => after = Some(t.clone()),
            _ => return Err(Problem::query_parameter(k, "not a parameter of this resource")),
        }
    }
    let mut select = epcis_capture_job::Entity::find();
    if let Some(org) = scope {
        select = select.filter(epcis_capture_job::Column::Org.eq(org));
    }
    if let Some(a) = &after {
        select = select.filter(epcis_capture_job::Column::Id.lt(a.clone()));
    }
    let mut jobs = select.order_by_desc(epcis_capture_job::Column::Id).limit(per_page + 1).all(&s.api.db).await?;
    let more = jobs.len() as u64 > per_page;
    jobs.truncate(per_page as usize);
    let mut resp =
        json_response(StatusCode::OK, "application/json", &Value::from(jobs.iter().map(job_json).collect::<Vec<_>>()));
    versions(&mut resp);
    if let (true, Some(last)) = (more, jobs.last()) {
        let link = format!("</epcis/capture?perPage={per_page}&nextPageToken={}>; rel=\"next\"", last.id);
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `GET /epcis/capture/{id}`.
pub async fn job(State(s): State<RestState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let scope = read_scope(&s.api, &user).await?;
    let job = epcis_capture_job::Entity::find_by_id(id.clone())
        .one(&s.api.db)
        .await?
        .filter(|j| scope.as_deref().is_none_or(|o| o == j.org))
        .ok_or_else(|| Problem::not_found(format!("capture job {id}")))?;
    Ok(with_versions(json_response(StatusCode::OK, "application/json", &job_json(&job))))
}

/// `POST /epcis/events`: capture one event now; 201 with its URL and the event as stored.
pub async fn capture_one(State(s): State<RestState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    writer(&user)?;
    let events = import(&headers, &body)?;
    if events.len() != 1 {
        return Err(Problem::validation(format!(
            "{} events: POST /epcis/events takes one event (use /epcis/capture for documents)",
            events.len()
        )));
    }
    for call in ProvenanceCall::from_events(&events) {
        s.api.submit(&user, &call).await.map_err(Problem::from)?;
    }
    let hash = &events[0].hash;
    let row = epcis_event::Entity::find()
        .filter(epcis_event::Column::Hash.eq(hash.clone()))
        .one(&s.api.db)
        .await?
        .ok_or_else(Problem::internal)?;
    let mut ns = Namespaces::default();
    let ev = render_event(&row, &mut ns);
    let mut body = ev;
    body["@context"] = ns.context();
    let mut resp = json_response(StatusCode::CREATED, JSON_LD, &body);
    versions(&mut resp);
    let loc = format!("/epcis/events/{}", percent_encode_segment(&row.event_id));
    if let Ok(v) = HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Percent-encode a path segment (event ids are URIs: `ni:///sha-256;…?ver=CBV2.0`).
pub fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Extension namespaces met while rendering events, each given a prefix for the document's context.
#[derive(Default)]
pub struct Namespaces(BTreeMap<String, String>);

impl Namespaces {
    fn prefix(&mut self, iri: &str) -> String {
        let n = self.0.len() + 1;
        self.0.entry(iri.to_string()).or_insert_with(|| format!("ext{n}")).clone()
    }

    /// `[EPCIS context, {scf: …, ext1: …}]`.
    pub fn context(&self) -> Value {
        let mut m = Map::new();
        m.insert("scf".into(), json!(SCF_NAMESPACE));
        for (iri, p) in &self.0 {
            m.insert(p.clone(), json!(iri));
        }
        json!([EPCIS_CONTEXT, Value::Object(m)])
    }

    /// `{iri}local` member names (how the chain stores extensions) as compact IRIs.
    fn compact(&mut self, v: Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let key = match k.strip_prefix('{').and_then(|r| r.split_once('}')) {
                        Some((iri, local)) => format!("{}:{local}", self.prefix(iri)),
                        None => k,
                    };
                    out.insert(key, self.compact(x));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.compact(x)).collect()),
            other => other,
        }
    }
}

/// An event as the query interface returns it: the anchored JSON with its `eventID` (the hash when
/// the event had none), `recordTime` (the anchoring block's time), and `scf:eventHash` /
/// `scf:anchor` (height, transaction, block hash, recording organisation).
pub fn render_event(m: &epcis_event::Model, ns: &mut Namespaces) -> Value {
    let stored: Value = serde_json::from_str(&m.json).unwrap_or_else(|_| json!({}));
    let mut ev = match ns.compact(stored) {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    ev.remove("@context");
    ev.insert("eventID".into(), json!(m.event_id));
    ev.insert("recordTime".into(), json!(canon::Timestamp { utc_ms: m.record_time_ms }.to_hash_text()));
    ev.insert("scf:eventHash".into(), json!(m.hash));
    ev.insert(
        "scf:anchor".into(),
        json!({ "height": m.height, "txId": m.tx_id, "blockHash": m.block_hash, "org": m.org }),
    );
    Value::Object(ev)
}

/// An `EPCISQueryDocument` of events.
pub fn query_document(query_name: &str, events: &[epcis_event::Model]) -> Value {
    let mut ns = Namespaces::default();
    let list: Vec<Value> = events.iter().map(|e| render_event(e, &mut ns)).collect();
    json!({
        "@context": ns.context(),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": canon::Timestamp { utc_ms: now_ms() }.to_hash_text(),
        "epcisBody": { "queryResults": { "queryName": query_name, "resultsBody": { "eventList": list } } },
    })
}

async fn answer_query(
    s: &RestState,
    user: &AuthUser,
    query_name: &str,
    params: Vec<(String, Vec<String>)>,
    paging: Vec<(String, Vec<String>)>,
    path: &str,
    link_params: &[(String, Vec<String>)],
) -> Result<Response, Problem> {
    let scope = read_scope(&s.api, user).await?;
    let all: Vec<(String, Vec<String>)> = params.into_iter().chain(paging).collect();
    let q = EventQuery::parse(&all, scope.as_deref())?;
    let page = q.run(&s.api.db).await?;
    let mut resp = json_response(StatusCode::OK, JSON_LD, &query_document(query_name, &page.events));
    versions(&mut resp);
    if let Some(next) = page.next {
        let mut qs: Vec<(String, String)> = link_params
            .iter()
            .filter(|(k, _)| k != "nextPageToken" && k != "perPage")
            .map(|(k, v)| (k.clone(), v.join("|")))
            .collect();
        qs.push(("perPage".into(), q.per_page.to_string()));
        qs.push(("nextPageToken".into(), next.encode()));
        let encoded = serde_urlencoded::to_string(&qs).map_err(|_| Problem::internal())?;
        if let Ok(v) = HeaderValue::from_str(&format!("<{path}?{encoded}>; rel=\"next\"")) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `GET /epcis/events?…`: the simple event query.
pub async fn query_events(
    State(s): State<RestState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let params = epcis_query::from_query_string(q.as_deref())?;
    answer_query(&s, &user, "SimpleEventQuery", params.clone(), Vec::new(), "/epcis/events", &params).await
}

/// `GET /epcis/events/{eventID}`: one event by its `eventID` (or CBV 2.0 hash), as a query document.
pub async fn event_by_id(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let scope = read_scope(&s.api, &user).await?;
    // An unencoded `ni:///…?ver=CBV2.0` arrives split at the `?`.
    let id = match q {
        Some(q) if !id.contains('?') && id.starts_with("ni:") => format!("{id}?{q}"),
        _ => id,
    };
    // `ni:///x` arrives as `ni:/x` when a client or proxy merged the slashes.
    let ids = [id.clone(), id.replacen("ni:/sha-256", "ni:///sha-256", 1)];
    let mut cond = Condition::any();
    for i in &ids {
        cond = cond.add(epcis_event::Column::EventId.eq(i.clone())).add(epcis_event::Column::Hash.eq(i.clone()));
    }
    let mut select = epcis_event::Entity::find().filter(cond);
    if let Some(org) = scope {
        select = select.filter(epcis_event::Column::Org.eq(org));
    }
    let events = select.order_by_asc(epcis_event::Column::Seq).all(&s.api.db).await?;
    if events.is_empty() {
        return Err(Problem::not_found(format!("event {id}")));
    }
    let mut resp = json_response(StatusCode::OK, JSON_LD, &query_document("SimpleEventQuery", &events));
    versions(&mut resp);
    Ok(resp)
}

const MAX_QUERY_NAME: usize = 64;

fn check_query_name(name: &str) -> Result<(), Problem> {
    if name.is_empty()
        || name.len() > MAX_QUERY_NAME
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Problem::validation(format!("name: 1..={MAX_QUERY_NAME} characters of A-Z a-z 0-9 - _ .")));
    }
    Ok(())
}

/// `POST /epcis/queries` `{"name": …, "query": {…}}`: a named query of the caller's organisation.
pub async fn create_query(State(s): State<RestState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    writer(&user)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| Problem::validation(format!("body: {e}")))?;
    let name = v.get("name").and_then(Value::as_str).ok_or_else(|| Problem::validation("name: missing"))?;
    check_query_name(name)?;
    let query = v.get("query").ok_or_else(|| Problem::validation("query: missing"))?;
    // Validate now: a named query that cannot run is refused at creation.
    EventQuery::parse(&epcis_query::from_json(query)?, Some(&user.org_id))?;
    let exists = epcis_named_query::Entity::find_by_id((user.org_id.clone(), name.to_string())).one(&s.api.db).await?;
    if exists.is_some() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "epcisException:ResourceAlreadyExistsException",
            format!("a query named {name:?} exists"),
        ));
    }
    epcis_named_query::Entity::insert(epcis_named_query::ActiveModel {
        org: Set(user.org_id.clone()),
        name: Set(name.to_string()),
        query: Set(query.to_string()),
        created_ms: Set(now_ms()),
    })
    .exec(&s.api.db)
    .await?;
    let mut resp = StatusCode::CREATED.into_response();
    versions(&mut resp);
    if let Ok(loc) = HeaderValue::from_str(&format!("/epcis/queries/{name}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

fn query_json(q: &epcis_named_query::Model) -> Value {
    json!({ "name": q.name, "query": serde_json::from_str::<Value>(&q.query).unwrap_or(Value::Null) })
}

async fn named(s: &RestState, user: &AuthUser, name: &str) -> Result<epcis_named_query::Model, Problem> {
    epcis_named_query::Entity::find_by_id((user.org_id.clone(), name.to_string())).one(&s.api.db).await?.ok_or_else(
        || {
            Problem::new(
                StatusCode::NOT_FOUND,
                "epcisException:NoSuchNameException",
                format!("no query named {name:?}"),
            )
        },
    )
}

/// `GET /epcis/queries`.
pub async fn list_queries(State(s): State<RestState>, headers: HeaderMap) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let qs = epcis_named_query::Entity::find()
        .filter(epcis_named_query::Column::Org.eq(user.org_id.clone()))
        .order_by_asc(epcis_named_query::Column::Name)
        .all(&s.api.db)
        .await?;
    Ok(with_versions(json_response(
        StatusCode::OK,
        "application/json",
        &Value::from(qs.iter().map(query_json).collect::<Vec<_>>()),
    )))
}

/// `GET /epcis/queries/{name}`.
pub async fn get_query(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let q = named(&s, &user, &name).await?;
    Ok(with_versions(json_response(StatusCode::OK, "application/json", &query_json(&q))))
}

/// `DELETE /epcis/queries/{name}`.
pub async fn delete_query(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    writer(&user)?;
    named(&s, &user, &name).await?;
    epcis_named_query::Entity::delete_by_id((user.org_id.clone(), name)).exec(&s.api.db).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /epcis/queries/{name}/events`: run a named query (paging parameters in the URL).
pub async fn named_query_events(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let user = signed_in(&s.api, &headers).await?;
    let q = named(&s, &user, &name).await?;
    let query: Value = serde_json::from_str(&q.query).map_err(|_| Problem::internal())?;
    let params = epcis_query::from_json(&query)?;
    let paging = epcis_query::from_query_string(raw.as_deref())?;
    if let Some((k, _)) = paging.iter().find(|(k, _)| k != "perPage" && k != "nextPageToken") {
        return Err(Problem::query_parameter(k, "a named query takes only perPage and nextPageToken"));
    }
    let path = format!("/epcis/queries/{name}/events");
    answer_query(&s, &user, &name, params, paging.clone(), &path, &paging).await
}

/// `GET /epcis/openapi.json`: the part of the GS1 EPCIS 2.0 OpenAPI document this server implements.
pub async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, OPENAPI).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

const OPENAPI: &str = include_str!("epcis-openapi.json");
