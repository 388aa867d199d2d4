//! The EPCIS 2.0 REST binding and the GS1 resolver on a real chain (RocksDB), a real read model and
//! the HTTP server: a supplier captures a JSON-LD document, another an XML one, both as asynchronous
//! capture jobs; the events are queried back with the standard parameters, each with the CBV 2.0 hash
//! GraphQL reports for it, scoped by organisation; the resolver answers a lot's linkset, redirects by
//! link type and accepts the compressed form of the link.

mod common;

use std::time::Duration;

use common::{Harness, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

const JSON_LD: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument",
  "schemaVersion": "2.0",
  "creationDate": "2026-03-01T08:00:00+08:00",
  "epcisBody": { "eventList": [
    { "type": "ObjectEvent", "eventID": "urn:uuid:4b5a0d1e-0001-4c2d-8e3f-000000000001",
      "eventTime": "2026-03-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
      "epcList": ["urn:epc:id:sgtin:6901234.000033.S1-001", "urn:epc:id:sgtin:6901234.000033.S1-002"],
      "action": "ADD", "bizStep": "commissioning", "disposition": "active",
      "readPoint": { "id": "urn:epc:id:sgln:6901234.00001.0" },
      "bizLocation": { "id": "urn:epc:id:sgln:6901234.00001.0" } },
    { "type": "AggregationEvent",
      "eventTime": "2026-03-01T12:00:00+08:00", "eventTimeZoneOffset": "+08:00",
      "parentID": "urn:epc:id:sscc:6901234.0000000001",
      "childEPCs": ["urn:epc:id:sgtin:6901234.000033.S1-001"],
      "action": "ADD", "bizStep": "packing",
      "readPoint": { "id": "urn:epc:id:sgln:6901234.00001.0" } },
    { "type": "ObjectEvent",
      "eventTime": "2026-03-02T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
      "epcList": ["urn:epc:id:sgtin:6901234.000033.S1-001", "urn:epc:id:sgtin:6901234.000033.S1-002"],
      "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
      "readPoint": { "id": "urn:epc:id:sgln:6901234.00002.0" } },
    { "type": "ObjectEvent",
      "eventTime": "2026-03-01T07:00:00+08:00", "eventTimeZoneOffset": "+08:00",
      "epcList": [],
      "quantityList": [{ "epcClass": "urn:epc:class:lgtin:6901234.000033.L2603", "quantity": 120, "uom": "KGM" }],
      "action": "ADD", "bizStep": "commissioning",
      "bizLocation": { "id": "urn:epc:id:sgln:6901234.00001.0" },
      "certificationInfo": "https://cert.example.cn/organic/CN-ORG-2026-0042" }
  ] }
}"#;

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-03-03T08:00:00Z">
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2026-03-03T10:00:00+08:00</eventTime>
        <eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
        <epcList><epc>urn:epc:id:sgtin:6901234.000033.S1-001</epc></epcList>
        <action>OBSERVE</action>
        <bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
        <disposition>urn:epcglobal:cbv:disp:in_progress</disposition>
        <readPoint><id>urn:epc:id:sgln:6901234.00003.0</id></readPoint>
        <bizLocation><id>urn:epc:id:sgln:6901234.00003.0</id></bizLocation>
      </ObjectEvent>
      <ObjectEvent>
        <eventTime>2026-03-03T11:30:00+08:00</eventTime>
        <eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
        <epcList><epc>urn:epc:id:sgtin:6901234.000033.S1-002</epc></epcList>
        <action>OBSERVE</action>
        <bizStep>urn:epcglobal:cbv:bizstep:storing</bizStep>
        <disposition>urn:epcglobal:cbv:disp:in_progress</disposition>
        <readPoint><id>urn:epc:id:sgln:6901234.00003.0</id></readPoint>
        <bizLocation><id>urn:epc:id:sgln:6901234.00003.0</id></bizLocation>
      </ObjectEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>"#;

struct Rest<'a> {
    h: &'a Harness,
}

impl Rest<'_> {
    async fn get(&self, token: &str, path_and_query: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let r =
            self.h.client.get(format!("{}{path_and_query}", self.h.url)).bearer_auth(token).send().await.expect("send");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The events of a query, following `Link: rel="next"` to the end.
    async fn events(&self, token: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(format!("/epcis/events?{query}"));
        while let Some(path) = next.take() {
            let (status, headers, body) = self.get(token, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            assert_eq!(body["type"], "EPCISQueryDocument", "{path}: {body}");
            out.extend(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"].as_array().expect("list").clone());
            next = headers
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.strip_prefix('<'))
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .map(|(u, _)| u.to_string());
        }
        out
    }

    /// Capture a document; wait for its job to finish; the job document.
    async fn capture(&self, token: &str, content_type: &str, body: &str) -> Value {
        let r = self
            .h
            .client
            .post(format!("{}/epcis/capture", self.h.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", r.text().await.unwrap_or_default());
        let location = r.headers()["location"].to_str().expect("location").to_string();
        assert!(location.starts_with("/epcis/capture/"), "{location}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, _, job) = self.get(token, &location).await;
            assert_eq!(status, StatusCode::OK, "{job}");
            if job["running"] == false {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "capture job still running: {job}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn hashes(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events.iter().map(|e| e["scf:eventHash"].as_str().expect("hash").to_string()).collect();
    v.sort();
    v
}

fn steps(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| {
            // Events come back as anchored: CBV 2.0 web vocabulary, or CBV 1.x URNs as an XML capture wrote them.
            let step = e["bizStep"].as_str().unwrap_or("-");
            step.trim_start_matches("https://ref.gs1.org/cbv/BizStep-")
                .trim_start_matches("urn:epcglobal:cbv:bizstep:")
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epcis_capture_and_query_over_rest() {
    let h = Harness::start(None).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let s2 = h.login("s2-admin", PASSWORD).await;
    let reg = h.login("reg-admin", PASSWORD).await;
    let bank = h.login("bank-admin", PASSWORD).await;
    let rest = Rest { h: &h };

    // Capture: JSON-LD by S1, XML by S2, both accepted and finished successfully.
    let job = rest.capture(&s1, "application/ld+json", JSON_LD).await;
    assert_eq!((job["success"].clone(), job["errors"].clone()), (json!(true), json!([])), "{job}");
    let job = rest.capture(&s2, "application/xml", XML).await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["captureErrorBehaviour"], "rollback");

    // Invalid documents are refused at once, naming the field; capture needs a session.
    let r = h
        .client
        .post(format!("{}/epcis/capture", h.url))
        .bearer_auth(&s1)
        .header("content-type", "application/json")
        .body(r#"{"type":"EPCISDocument","epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"yesterday"}]}}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let p: Value = r.json().await.expect("problem");
    assert_eq!(p["type"], "epcisException:ValidationException", "{p}");
    assert!(p["title"].as_str().unwrap_or("").contains("eventList[0]"), "{p}");
    let r = h.client.get(format!("{}/epcis/events", h.url)).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The regulator sees all six events; each hash equals the one GraphQL reports.
    let all = rest.events(&reg, "").await;
    assert_eq!(all.len(), 6, "{all:?}");
    let gql = h.ok(Some(&reg), "{ epcisEvents(first: 100) { nodes { hash eventType } } }", json!({})).await;
    let mut gql_hashes: Vec<String> = gql["epcisEvents"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["hash"].as_str().expect("hash").to_string())
        .collect();
    gql_hashes.sort();
    assert_eq!(hashes(&all), gql_hashes);
    for e in &all {
        let anchor = &e["scf:anchor"];
        assert!(anchor["height"].as_i64().unwrap_or(0) > 0, "{e}");
        assert_eq!(anchor["blockHash"].as_str().map(str::len), Some(64), "{e}");
        assert!(e["eventID"].is_string() && e["recordTime"].is_string(), "{e}");
    }

    // Organisations see their own events only.
    assert_eq!(rest.events(&s1, "").await.len(), 4);
    assert_eq!(rest.events(&s2, "").await.len(), 2);
    assert_eq!(rest.events(&bank, "").await.len(), 0);

    // Standard parameters, one by one and combined.
    let q = |s: &'static str| s;
    assert_eq!(steps(&rest.events(&reg, q("eventType=AggregationEvent")).await), ["packing"]);
    assert_eq!(steps(&rest.events(&reg, q("EQ_bizStep=shipping")).await), ["shipping"]);
    assert_eq!(steps(&rest.events(&reg, q("EQ_bizStep=receiving%7Cstoring")).await), ["receiving", "storing"]);
    assert_eq!(
        steps(&rest.events(&reg, q("EQ_bizStep=urn:epcglobal:cbv:bizstep:receiving")).await),
        ["receiving"],
        "CBV 1.x URNs match the stored web vocabulary"
    );
    assert_eq!(
        steps(
            &rest
                .events(&reg, q("GE_eventTime=2026-03-02T00:00:00%2B08:00&LT_eventTime=2026-03-03T10:30:00%2B08:00"))
                .await
        ),
        ["receiving", "shipping"]
    );
    assert_eq!(
        steps(&rest.events(&reg, q("MATCH_epc=urn:epc:id:sgtin:6901234.000033.S1-001")).await),
        ["commissioning", "packing", "receiving", "shipping"],
        "epcList and childEPCs"
    );
    assert_eq!(
        steps(&rest.events(&reg, q("MATCH_epc=https://id.gs1.org/01/06901234000337/21/S1-001")).await),
        ["commissioning", "packing", "receiving", "shipping"],
        "the Digital Link spelling meets the URN"
    );
    assert_eq!(
        steps(&rest.events(&reg, q("MATCH_anyEPC=urn:epc:id:sscc:6901234.0000000001")).await),
        ["packing"],
        "parentID"
    );
    assert_eq!(steps(&rest.events(&reg, q("MATCH_epc=urn:epc:idpat:sgtin:6901234.000033.*")).await).len(), 5);
    assert_eq!(
        steps(&rest.events(&reg, q("MATCH_epcClass=urn:epc:class:lgtin:6901234.000033.L2603")).await),
        ["commissioning"]
    );
    assert_eq!(
        steps(&rest.events(&reg, q("EQ_bizLocation=urn:epc:id:sgln:6901234.00003.0")).await),
        ["receiving", "storing"]
    );
    assert_eq!(
        steps(&rest.events(&reg, q("EQ_readPoint=https://id.gs1.org/414/6901234000023")).await),
        ["shipping"],
        "a location as Digital Link meets its SGLN"
    );
    assert_eq!(
        steps(&rest.events(&reg, q("EQ_action=ADD&eventType=ObjectEvent")).await),
        ["commissioning", "commissioning"]
    );
    assert_eq!(steps(&rest.events(&reg, q("EQ_disposition=in_transit")).await), ["shipping"]);
    assert_eq!(rest.events(&reg, q("GE_recordTime=2000-01-01T00:00:00Z")).await.len(), 6);
    assert_eq!(rest.events(&reg, q("LT_recordTime=2000-01-01T00:00:00Z")).await.len(), 0);

    // Ordering, limits and paging.
    let newest = rest.events(&reg, q("orderBy=eventTime&eventCountLimit=2")).await;
    assert_eq!(steps(&newest), ["receiving", "storing"]);
    assert_eq!(steps(&newest[..1]), ["storing"], "descending by default");
    let asc = rest.events(&reg, q("orderBy=eventTime&orderDirection=ASC&perPage=2")).await;
    let times: Vec<&str> = asc.iter().map(|e| e["eventTime"].as_str().unwrap_or("")).collect();
    assert_eq!(asc.len(), 6, "every page followed");
    let first_step = asc[0]["bizStep"].as_str().unwrap_or("");
    assert!(first_step.ends_with("commissioning"), "{times:?}");
    let paged = rest.events(&reg, q("perPage=1")).await;
    assert_eq!(hashes(&paged), hashes(&all), "paging one by one returns every event once");
    let (status, _, p) = rest.get(&reg, "/epcis/events?maxEventCount=3").await;
    assert_eq!(
        (status, p["type"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("epcisException:QueryTooLargeException"))
    );
    let (status, _, p) = rest.get(&reg, "/epcis/events?EQ_colour=red").await;
    assert_eq!((status, p["type"].clone()), (StatusCode::BAD_REQUEST, json!("epcisException:QueryParameterException")));

    // One event by its eventID, or by its hash (encoded or not); another organisation's is not found.
    let (status, _, doc) = rest.get(&s1, "/epcis/events/urn:uuid:4b5a0d1e-0001-4c2d-8e3f-000000000001").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let listed = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps(&listed), ["commissioning"]);
    let hash = listed[0]["scf:eventHash"].as_str().expect("hash").to_string();
    let (status, _, _) = rest.get(&s1, &format!("/epcis/events/{}", urlencode(&hash))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = rest.get(&s1, &format!("/epcis/events/{hash}")).await;
    assert_eq!(status, StatusCode::OK, "an unencoded ni: URI");
    let (status, _, _) = rest.get(&s2, "/epcis/events/urn:uuid:4b5a0d1e-0001-4c2d-8e3f-000000000001").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Named queries.
    let r = h
        .client
        .post(format!("{}/epcis/queries", h.url))
        .bearer_auth(&s2)
        .json(&json!({ "name": "arrivals", "query": { "EQ_bizStep": ["receiving"], "eventType": ["ObjectEvent"] } }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, _, named) = rest.get(&s2, "/epcis/queries/arrivals/events").await;
    assert_eq!(status, StatusCode::OK);
    let listed = named["epcisBody"]["queryResults"]["resultsBody"]["eventList"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps(&listed), ["receiving"]);
    assert_eq!(named["epcisBody"]["queryResults"]["queryName"], "arrivals");
    let (status, _, _) = rest.get(&s1, "/epcis/queries/arrivals/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "named queries belong to their organisation");

    // Synchronous capture of one event, and a duplicate refused.
    let one = r#"{"type":"ObjectEvent","eventTime":"2026-03-04T09:00:00+08:00","eventTimeZoneOffset":"+08:00",
      "epcList":["urn:epc:id:sgtin:6901234.000033.S1-002"],"action":"OBSERVE","bizStep":"shipping"}"#;
    let post = || {
        h.client
            .post(format!("{}/epcis/events", h.url))
            .bearer_auth(&s2)
            .header("content-type", "application/ld+json")
            .body(one)
            .send()
    };
    let r = post().await.expect("send");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers()["location"].to_str().unwrap_or("").starts_with("/epcis/events/ni%3A"));
    let r = post().await.expect("send");
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The OpenAPI document served is the contract's subset.
    let spec: Value =
        h.client.get(format!("{}/epcis/openapi.json", h.url)).send().await.expect("send").json().await.expect("json");
    assert_eq!(spec["servers"][0]["url"], "/epcis");
    assert!(spec["paths"]["/events"]["get"]["parameters"].as_array().map(|a| a.len()).unwrap_or(0) >= 20);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_answers_linksets_redirects_and_compressed_links() {
    let h = Harness::start(None).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let rest = Rest { h: &h };
    let job = rest.capture(&s1, "application/ld+json", JSON_LD).await;
    assert_eq!(job["success"], true, "{job}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let lot = format!("{}/01/06901234000337/10/L2603", h.url);

    // The linkset (RFC 9264) with the GS1 link types.
    let r = client.get(&lot).header("accept", "application/linkset+json").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/linkset+json");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let ls: Value = r.json().await.expect("json");
    let ctx = &ls["linkset"][0];
    assert_eq!(ctx["anchor"], lot);
    for t in ["defaultLink", "pip", "traceability", "certificationInfo", "epcis"] {
        let targets = ctx[format!("https://gs1.org/voc/{t}")].as_array().cloned().unwrap_or_default();
        assert!(!targets.is_empty(), "{t} missing: {ls}");
        for target in targets {
            assert!(target["href"].as_str().is_some_and(|h| h.starts_with("http")), "{t}: {target}");
        }
    }
    assert_eq!(
        ctx["https://gs1.org/voc/certificationInfo"][0]["href"],
        "https://cert.example.cn/organic/CN-ORG-2026-0042"
    );
    let epcis_link = ctx["https://gs1.org/voc/epcis"][0]["href"].as_str().expect("epcis link").to_string();
    assert!(epcis_link.contains("/epcis/events?MATCH_anyEPCClass="), "{epcis_link}");
    // The epcis link is a working query (for a signed-in caller).
    let path = epcis_link.trim_start_matches(&h.url).to_string();
    let (status, _, doc) = rest.get(&s1, &path).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"].as_array().map(Vec::len), Some(1));

    // linkType redirects; an unknown type goes to the default link; all = the linkset.
    let r = client.get(format!("{lot}?linkType=gs1:traceability")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    let to = r.headers()["location"].to_str().expect("location").to_string();
    assert_eq!(to, format!("{}/traceability/01/06901234000337/10/L2603", h.url));
    let trace: Value = client.get(&to).send().await.expect("send").json().await.expect("json");
    assert_eq!(trace["upstream"].as_array().map(Vec::len), Some(1), "{trace}");
    let r = client.get(format!("{lot}?linkType=gs1:recipeInfo")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.headers()["location"], lot.as_str());
    let r = client.get(format!("{lot}?linkType=all")).send().await.expect("send");
    assert_eq!(r.headers()["content-type"], "application/linkset+json");
    // Without a preference: the default link.
    let r = client.get(&lot).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);

    // The compressed form of the same link resolves to the same linkset and names its uncompressed twin.
    let r = client
        .get(format!("{}/AQyNozPDoiDKXt1pu", h.url))
        .header("accept", "application/linkset+json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let link = r.headers()["link"].to_str().expect("link").to_string();
    assert!(link.contains("/01/06901234000337/10/L2603>; rel=\"owl:sameAs\""), "{link}");
    let compressed: Value = r.json().await.expect("json");
    assert_eq!(compressed, ls);

    // Serial level: the unit's own events.
    let r = client
        .get(format!("{}/01/06901234000337/21/S1-001", h.url))
        .header("accept", "application/linkset+json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let unit: Value = r.json().await.expect("json");
    assert!(unit["linkset"][0]["https://gs1.org/voc/epcis"][0]["href"]
        .as_str()
        .unwrap_or("")
        .contains("MATCH_anyEPC="));
    // The item's default link is its own consumer page (scans, copied-label warning).
    assert_eq!(
        unit["linkset"][0]["https://gs1.org/voc/defaultLink"][0]["href"],
        format!("{}/01/06901234000337/21/S1-001", h.url)
    );

    // Syntax errors are 400, unknown keys 404.
    let r = client.get(format!("{}/01/06901234000338/10/L2603", h.url)).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "check digit");
    let r = client.get(format!("{}/01/06901234000337/10/NOPE", h.url)).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The resolver description.
    let wk: Value = client
        .get(format!("{}/.well-known/gs1resolver", h.url))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(wk["resolverRoot"], h.url.as_str());
    assert!(wk["supportedPrimaryKeys"].as_array().is_some_and(|k| k.contains(&json!("01"))));
}
