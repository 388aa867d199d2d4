//! The EPCIS 2.0 query language over the read model (`epcis_events` + `epcis_event_keys`): parameters
//! from a URL query string (`EQ_bizStep=shipping|receiving`, pipe-delimited as the REST binding
//! says) or from a named query's JSON, validated by name and value, turned into one SQL query with
//! keyset paging.
//!
//! Supported: `eventType`, `GE_/LT_eventTime`, `GE_/LT_recordTime`, `EQ_action`, `EQ_bizStep`,
//! `EQ_disposition`, `EQ_/WD_readPoint`, `EQ_/WD_bizLocation` (no location hierarchy is known, so
//! `WD_` matches as `EQ_`), `EQ_transformationID`, `MATCH_epc`, `MATCH_parentID`, `MATCH_inputEPC`,
//! `MATCH_outputEPC`, `MATCH_anyEPC`, `MATCH_epcClass`, `MATCH_inputEPCClass`,
//! `MATCH_outputEPCClass`, `MATCH_anyEPCClass`, `EQ_eventID`, `orderBy` (`eventTime`, `recordTime`),
//! `orderDirection`, `eventCountLimit`, `maxEventCount`, `perPage`, `nextPageToken`. Any other
//! parameter is a `QueryParameterException` (the standard requires refusing unknown names rather than
//! ignoring them). Identifiers match whether written as EPC URNs or Digital Links; `idpat` patterns
//! (`urn:epc:idpat:sgtin:0614141.107346.*`) match identifiers written as URNs.

use base64::Engine;
use scf_domain::provenance::{self as dprov, canon, vocab};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query as SqlQuery};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Problem;
use crate::db::integration::{epcis_event, epcis_event_key};

/// Default and largest page.
pub const DEFAULT_PER_PAGE: u64 = 30;
pub const MAX_PER_PAGE: u64 = 1000;
/// Most values one parameter may list.
const MAX_VALUES: usize = 100;

const EVENT_TYPES: [&str; 5] =
    ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderBy {
    Seq,
    EventTime,
    RecordTime,
}

/// A validated query.
#[derive(Debug)]
pub struct EventQuery {
    conditions: Condition,
    order: OrderBy,
    descending: bool,
    event_count_limit: Option<u64>,
    max_event_count: Option<u64>,
    pub per_page: u64,
    after: Option<PageToken>,
}

/// Where the previous page ended: the order value and sequence of its last event, and how many events
/// were returned so far (for `eventCountLimit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    value: i64,
    seq: i64,
    returned: u64,
}

impl PageToken {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("v1.{}.{}.{}", self.value, self.seq, self.returned))
    }
    pub fn decode(s: &str) -> Result<PageToken, Problem> {
        let bad = || Problem::query_parameter("nextPageToken", "not a token this server issued");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = text.split('.');
        if parts.next() != Some("v1") {
            return Err(bad());
        }
        let mut num = || parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad);
        let (value, seq, returned) = (num()?, num()?, num()?);
        Ok(PageToken { value, seq, returned: u64::try_from(returned).map_err(|_| bad())? })
    }
}

/// One page of results and where the next starts.
pub struct Page {
    pub events: Vec<epcis_event::Model>,
    pub next: Option<PageToken>,
}

fn time_param(name: &str, values: &[String]) -> Result<i64, Problem> {
    let v = single(name, values)?;
    canon::parse_timestamp(v).map(|t| t.utc_ms).map_err(|e| Problem::query_parameter(name, e))
}

fn single<'a>(name: &str, values: &'a [String]) -> Result<&'a str, Problem> {
    match values {
        [one] => Ok(one.as_str()),
        _ => Err(Problem::query_parameter(name, "takes exactly one value")),
    }
}

fn count_param(name: &str, values: &[String]) -> Result<u64, Problem> {
    let v = single(name, values)?;
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Problem::query_parameter(name, format!("{v:?} is not a positive integer"))),
    }
}

/// A CBV value as the chain stores it: standard values as web vocabulary URIs.
fn cbv_value(prefix: &str, known: &[&str], v: &str) -> String {
    let v = canon::web_vocabulary(v.trim());
    if v.contains(':') {
        return v;
    }
    if known.contains(&v.as_str()) {
        format!("{prefix}{v}")
    } else {
        v
    }
}

/// The stored form of a location (`readPoint`, `bizLocation`): the index key of a GS1 location.
pub fn location_key(v: &str) -> String {
    dprov::index_key(v.trim())
}

/// `(exact index keys, URN LIKE patterns)` of a `MATCH_` parameter's values.
fn match_values(name: &str, values: &[String]) -> Result<(Vec<String>, Vec<String>), Problem> {
    let mut exact = Vec::new();
    let mut patterns = Vec::new();
    for v in values {
        let v = v.trim();
        if v.is_empty() || v.len() > 2048 {
            return Err(Problem::query_parameter(name, "identifiers are 1..=2048 characters"));
        }
        if v.starts_with("urn:epc:idpat:") {
            let mut like = String::with_capacity(v.len());
            for c in v.replacen("urn:epc:idpat:", "urn:epc:id:", 1).chars() {
                match c {
                    '*' => like.push('%'),
                    '%' | '_' | '\\' => {
                        like.push('\\');
                        like.push(c);
                    }
                    c => like.push(c),
                }
            }
            // Class-level patterns (`urn:epc:idpat:sgtin:…`) also name quantity classes.
            patterns.push(like.clone());
            patterns.push(like.replacen("urn:epc:id:", "urn:epc:idpat:", 1));
        } else if v.contains('*') {
            return Err(Problem::query_parameter(name, format!("{v:?}: wildcards only in urn:epc:idpat: patterns")));
        } else {
            exact.push(dprov::index_key(v));
        }
    }
    Ok((exact, patterns))
}

fn key_roles(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "MATCH_epc" => &["epc", "child"],
        "MATCH_parentID" => &["parent"],
        "MATCH_inputEPC" => &["input"],
        "MATCH_outputEPC" => &["output"],
        "MATCH_anyEPC" => &["epc", "child", "parent", "input", "output"],
        "MATCH_epcClass" => &["class", "child_class"],
        "MATCH_inputEPCClass" => &["input_class"],
        "MATCH_outputEPCClass" => &["output_class"],
        "MATCH_anyEPCClass" => &["class", "child_class", "input_class", "output_class"],
        _ => return None,
    })
}

impl EventQuery {
    /// Validate `params` (name, values) and build the query, restricted to `org` unless `None` (the
    /// regulator).
    pub fn parse(params: &[(String, Vec<String>)], org: Option<&str>) -> Result<EventQuery, Problem> {
        let mut c = Condition::all();
        if let Some(org) = org {
            c = c.add(epcis_event::Column::Org.eq(org.to_string()));
        }
        let mut q = EventQuery {
            conditions: Condition::all(),
            order: OrderBy::Seq,
            descending: false,
            event_count_limit: None,
            max_event_count: None,
            per_page: DEFAULT_PER_PAGE,
            after: None,
        };
        let mut direction: Option<bool> = None;
        let mut seen = std::collections::BTreeSet::new();
        for (name, values) in params {
            if !seen.insert(name.as_str()) {
                return Err(Problem::query_parameter(name, "given more than once"));
            }
            if values.is_empty() || values.iter().any(|v| v.is_empty()) {
                return Err(Problem::query_parameter(name, "needs a value"));
            }
            if values.len() > MAX_VALUES {
                return Err(Problem::query_parameter(name, format!("at most {MAX_VALUES} values")));
            }
            let name = name.as_str();
            match name {
                "eventType" => {
                    for v in values {
                        if !EVENT_TYPES.contains(&v.as_str()) {
                            return Err(Problem::query_parameter(name, format!("{v:?} is not an EPCIS event type")));
                        }
                    }
                    c = c.add(epcis_event::Column::EventType.is_in(values.clone()));
                }
                "GE_eventTime" => c = c.add(epcis_event::Column::EventTimeMs.gte(time_param(name, values)?)),
                "LT_eventTime" => c = c.add(epcis_event::Column::EventTimeMs.lt(time_param(name, values)?)),
                "GE_recordTime" => c = c.add(epcis_event::Column::RecordTimeMs.gte(time_param(name, values)?)),
                "LT_recordTime" => c = c.add(epcis_event::Column::RecordTimeMs.lt(time_param(name, values)?)),
                "EQ_action" => {
                    for v in values {
                        if !["ADD", "OBSERVE", "DELETE"].contains(&v.as_str()) {
                            return Err(Problem::query_parameter(name, format!("{v:?} is not ADD, OBSERVE or DELETE")));
                        }
                    }
                    c = c.add(epcis_event::Column::Action.is_in(values.clone()));
                }
                "EQ_bizStep" => {
                    let vs: Vec<String> =
                        values.iter().map(|v| cbv_value(vocab::BIZ_STEPS_PREFIX, vocab::BIZ_STEPS, v)).collect();
                    c = c.add(epcis_event::Column::BizStep.is_in(vs));
                }
                "EQ_disposition" => {
                    let vs: Vec<String> =
                        values.iter().map(|v| cbv_value(vocab::DISPOSITIONS_PREFIX, vocab::DISPOSITIONS, v)).collect();
                    c = c.add(epcis_event::Column::Disposition.is_in(vs));
                }
                "EQ_readPoint" | "WD_readPoint" => {
                    c = c.add(epcis_event::Column::ReadPoint.is_in(values.iter().map(|v| location_key(v))));
                }
                "EQ_bizLocation" | "WD_bizLocation" => {
                    c = c.add(epcis_event::Column::BizLocation.is_in(values.iter().map(|v| location_key(v))));
                }
                "EQ_transformationID" => {
                    c = c.add(epcis_event::Column::TransformationId.is_in(values.clone()));
                }
                "EQ_eventID" => {
                    c = c.add(
                        Condition::any()
                            .add(epcis_event::Column::EventId.is_in(values.clone()))
                            .add(epcis_event::Column::Hash.is_in(values.clone())),
                    );
                }
                "orderBy" => {
                    q.order = match single(name, values)? {
                        "eventTime" => OrderBy::EventTime,
                        "recordTime" => OrderBy::RecordTime,
                        other => {
                            return Err(Problem::query_parameter(
                                name,
                                format!("{other:?}: this server orders by eventTime or recordTime"),
                            ))
                        }
                    }
                }
                "orderDirection" => {
                    direction = Some(match single(name, values)? {
                        "ASC" => false,
                        "DESC" => true,
                        other => return Err(Problem::query_parameter(name, format!("{other:?} is not ASC or DESC"))),
                    })
                }
                "eventCountLimit" => q.event_count_limit = Some(count_param(name, values)?),
                "maxEventCount" => q.max_event_count = Some(count_param(name, values)?),
                "perPage" => {
                    let n = count_param(name, values)?;
                    if n > MAX_PER_PAGE {
                        return Err(Problem::query_parameter(name, format!("at most {MAX_PER_PAGE}")));
                    }
                    q.per_page = n;
                }
                "nextPageToken" => q.after = Some(PageToken::decode(single(name, values)?)?),
                _ => match key_roles(name) {
                    Some(roles) => {
                        let (exact, patterns) = match_values(name, values)?;
                        let mut any = Condition::any();
                        if !exact.is_empty() {
                            any = any.add(epcis_event_key::Column::Key.is_in(exact));
                        }
                        for p in patterns {
                            any = any.add(Expr::col(epcis_event_key::Column::Uri).like(LikeExpr::new(p).escape('\\')));
                        }
                        let sub = SqlQuery::select()
                            .column(epcis_event_key::Column::Seq)
                            .from(epcis_event_key::Entity)
                            .cond_where(
                                Condition::all()
                                    .add(epcis_event_key::Column::Role.is_in(roles.iter().copied()))
                                    .add(any),
                            )
                            .to_owned();
                        c = c.add(epcis_event::Column::Seq.in_subquery(sub));
                    }
                    None => {
                        return Err(Problem::query_parameter(name, "not a query parameter this server supports"));
                    }
                },
            }
        }
        if q.event_count_limit.is_some() && q.max_event_count.is_some() {
            return Err(Problem::query_parameter("eventCountLimit", "cannot be combined with maxEventCount"));
        }
        if q.event_count_limit.is_some() && q.order == OrderBy::Seq {
            return Err(Problem::query_parameter("eventCountLimit", "needs orderBy"));
        }
        if direction.is_some() && q.order == OrderBy::Seq {
            return Err(Problem::query_parameter("orderDirection", "needs orderBy"));
        }
        // The standard's default direction is descending once an order is named.
        q.descending = q.order != OrderBy::Seq && direction.unwrap_or(true);
        q.conditions = c;
        Ok(q)
    }

    fn order_column(&self) -> epcis_event::Column {
        match self.order {
            OrderBy::Seq => epcis_event::Column::Seq,
            OrderBy::EventTime => epcis_event::Column::EventTimeMs,
            OrderBy::RecordTime => epcis_event::Column::RecordTimeMs,
        }
    }

    fn order_value(&self, m: &epcis_event::Model) -> i64 {
        match self.order {
            OrderBy::Seq => m.seq,
            OrderBy::EventTime => m.event_time_ms,
            OrderBy::RecordTime => m.record_time_ms,
        }
    }

    /// One page of results. `maxEventCount` is checked over the whole result, before the first page.
    pub async fn run(&self, db: &DatabaseConnection) -> Result<Page, Problem> {
        if let (Some(max), None) = (self.max_event_count, &self.after) {
            let over = epcis_event::Entity::find()
                .filter(self.conditions.clone())
                .select_only()
                .column(epcis_event::Column::Seq)
                .limit(max + 1)
                .into_tuple::<i64>()
                .all(db)
                .await?;
            if over.len() as u64 > max {
                return Err(Problem::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "epcisException:QueryTooLargeException",
                    format!("maxEventCount: the query matches more than {max} events"),
                ));
            }
        }
        let returned = self.after.as_ref().map(|a| a.returned).unwrap_or(0);
        let mut want = self.per_page;
        if let Some(limit) = self.event_count_limit {
            want = std::cmp::min(want, limit.saturating_sub(returned));
        }
        if want == 0 {
            return Ok(Page { events: Vec::new(), next: None });
        }
        let col = self.order_column();
        let mut cond = self.conditions.clone();
        if let Some(a) = &self.after {
            let (v, s) = (a.value, a.seq);
            cond = cond.add(if self.descending {
                Condition::any().add(col.lt(v)).add(Condition::all().add(col.eq(v)).add(epcis_event::Column::Seq.lt(s)))
            } else {
                Condition::any().add(col.gt(v)).add(Condition::all().add(col.eq(v)).add(epcis_event::Column::Seq.gt(s)))
            });
        }
        let mut select = epcis_event::Entity::find().filter(cond);
        select = if self.descending {
            select.order_by_desc(col).order_by_desc(epcis_event::Column::Seq)
        } else {
            select.order_by_asc(col).order_by_asc(epcis_event::Column::Seq)
        };
        let mut events = select.limit(want + 1).all(db).await?;
        let more = events.len() as u64 > want;
        events.truncate(want as usize);
        let total = returned + events.len() as u64;
        let limit_reached = self.event_count_limit.is_some_and(|l| total >= l);
        let next = match (more && !limit_reached, events.last()) {
            (true, Some(last)) => Some(PageToken { value: self.order_value(last), seq: last.seq, returned: total }),
            _ => None,
        };
        Ok(Page { events, next })
    }
}

/// Query parameters from a URL query string: `name=a|b` (pipe-delimited) pairs.
pub fn from_query_string(raw: Option<&str>) -> Result<Vec<(String, Vec<String>)>, Problem> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let Some(raw) = raw else { return Ok(out) };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| Problem::query_parameter("query string", format!("not URL-encoded: {e}")))?;
    for (k, v) in pairs {
        let values = if v.is_empty() { Vec::new() } else { v.split('|').map(str::to_string).collect() };
        out.push((k, values));
    }
    Ok(out)
}

/// Query parameters from a named query's JSON object (`{"EQ_bizStep": ["shipping"], "GE_eventTime":
/// "…"}`): arrays list values, strings and numbers are single values.
pub fn from_json(query: &serde_json::Value) -> Result<Vec<(String, Vec<String>)>, Problem> {
    let obj = query.as_object().ok_or_else(|| Problem::validation("query: expected an object"))?;
    let mut out = Vec::new();
    for (k, v) in obj {
        let values = match v {
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    _ => Err(Problem::validation(format!("query.{k}: values are strings or numbers"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Number(n) => vec![n.to_string()],
            _ => return Err(Problem::validation(format!("query.{k}: expected a string, a number or an array"))),
        };
        if ["perPage", "nextPageToken"].contains(&k.as_str()) {
            return Err(Problem::validation(format!("query.{k}: paging belongs to the request, not the query")));
        }
        out.push((k.clone(), values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn unknown_or_malformed_parameters_are_refused_by_name() {
        for (params, field) in [
            (p(&[("EQ_colour", &["red"])]), "EQ_colour"),
            (p(&[("eventType", &["ObjectEvnt"])]), "eventType"),
            (p(&[("GE_eventTime", &["yesterday"])]), "GE_eventTime"),
            (p(&[("EQ_action", &["ADDED"])]), "EQ_action"),
            (p(&[("perPage", &["0"])]), "perPage"),
            (p(&[("perPage", &["1001"])]), "perPage"),
            (p(&[("eventCountLimit", &["3"])]), "eventCountLimit"),
            (p(&[("orderBy", &["quantity"])]), "orderBy"),
            (p(&[("MATCH_epc", &["urn:epc:id:sgtin:*"])]), "MATCH_epc"),
            (p(&[("nextPageToken", &["garbage!"])]), "nextPageToken"),
        ] {
            let e = EventQuery::parse(&params, None).expect_err("refused");
            assert_eq!(e.kind, "epcisException:QueryParameterException");
            assert!(e.title.starts_with(field), "{field}: {}", e.title);
        }
    }

    #[test]
    fn page_tokens_round_trip() {
        let t = PageToken { value: -5, seq: 42, returned: 60 };
        assert_eq!(PageToken::decode(&t.encode()).expect("decodes"), t);
    }

    #[test]
    fn cbv_values_take_the_stored_form() {
        assert_eq!(
            cbv_value(vocab::BIZ_STEPS_PREFIX, vocab::BIZ_STEPS, "shipping"),
            "https://ref.gs1.org/cbv/BizStep-shipping"
        );
        assert_eq!(
            cbv_value(vocab::BIZ_STEPS_PREFIX, vocab::BIZ_STEPS, "urn:epcglobal:cbv:bizstep:receiving"),
            "https://ref.gs1.org/cbv/BizStep-receiving"
        );
        assert_eq!(
            cbv_value(vocab::BIZ_STEPS_PREFIX, vocab::BIZ_STEPS, "https://x.example/step"),
            "https://x.example/step"
        );
    }

    #[test]
    fn pipe_delimited_values_split() {
        let q = from_query_string(Some("EQ_bizStep=shipping%7Creceiving&perPage=2")).expect("parses");
        assert_eq!(q, p(&[("EQ_bizStep", &["shipping", "receiving"]), ("perPage", &["2"])]));
    }
}
