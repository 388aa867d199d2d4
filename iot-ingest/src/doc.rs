//! The byte-level example of `docs/device-wire-format.md`, generated from the code with a fixed key.
//! A test compares the document with [`example_markdown`], so the document never drifts; run
//! `SCF_UPDATE_DOCS=1 cargo test -p scf-iot-ingest doc` to rewrite it after a deliberate change.

use ciborium::value::Value;
use coset::{CoseSign1, TaggedCborSerializable};

use crate::wire::{self, WireError, WireValue};

pub const BEGIN: &str = "<!-- BEGIN GENERATED EXAMPLE (iot-ingest/src/doc.rs) -->";
pub const END: &str = "<!-- END GENERATED EXAMPLE -->";

fn cbor(v: &Value) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|e| WireError::Payload(e.to_string()))?;
    Ok(out)
}

fn row(out: &mut String, bytes: &[u8], what: &str) {
    out.push_str(&format!("{:<40} {what}\n", hex::encode(bytes)));
}

/// The generated section (between [`BEGIN`] and [`END`]).
pub fn example_markdown() -> Result<String, WireError> {
    let (key, r) = wire::example();
    let payload = r.payload_bytes()?;
    let msg = r.sign(&key)?;
    let parsed = CoseSign1::from_tagged_slice(&msg).map_err(|e| WireError::NotCose(e.to_string()))?;
    let tbs = parsed.tbs_data(b"");
    let protected = parsed.protected.original_data.clone().unwrap_or_default();

    // Annotated payload, item by item; the rows concatenate to the payload exactly.
    let mut ann = String::new();
    let mut check = Vec::new();
    let mut put = |ann: &mut String, b: Vec<u8>, what: &str| {
        row(ann, &b, what);
        check.extend(b);
    };
    put(&mut ann, vec![0xa4], "map(4)");
    put(&mut ann, cbor(&Value::Integer(1.into()))?, "  key 1: device_id");
    put(&mut ann, cbor(&Value::Text(r.device_id.clone()))?, &format!("  text {:?}", r.device_id));
    put(&mut ann, cbor(&Value::Integer(2.into()))?, "  key 2: seq");
    put(&mut ann, cbor(&Value::Integer(r.seq.into()))?, &format!("  uint {}", r.seq));
    put(&mut ann, cbor(&Value::Integer(3.into()))?, "  key 3: time (ms since 1970-01-01T00:00:00Z)");
    put(&mut ann, cbor(&Value::Integer(r.time_ms.into()))?, &format!("  uint {} (2026-01-05T02:00:00Z)", r.time_ms));
    put(&mut ann, cbor(&Value::Integer(4.into()))?, "  key 4: readings");
    put(&mut ann, vec![0x80 | r.readings.len() as u8], &format!("  array({})", r.readings.len()));
    for (t, v, u) in &r.readings {
        put(&mut ann, vec![0xa3], "    map(3)");
        put(&mut ann, cbor(&Value::Integer(1.into()))?, "      key 1: type");
        put(&mut ann, cbor(&Value::Text(t.clone()))?, &format!("      text {t:?}"));
        put(&mut ann, cbor(&Value::Integer(2.into()))?, "      key 2: value");
        let (val, desc) = match v {
            WireValue::Int(i) => (
                Value::Integer((*i).into()),
                format!("      int {i} → {} milli-units", wire::to_milli(*v).unwrap_or(0)),
            ),
            WireValue::Float(f) => {
                (Value::Float(*f), format!("      float {f} → {} milli-units", wire::to_milli(*v).unwrap_or(0)))
            }
        };
        put(&mut ann, cbor(&val)?, &desc);
        put(&mut ann, cbor(&Value::Integer(3.into()))?, "      key 3: uom (UN/CEFACT or UCUM code)");
        put(&mut ann, cbor(&Value::Text(u.clone()))?, &format!("      text {u:?}"));
    }
    if check != payload {
        return Err(WireError::Payload("annotation does not reproduce the payload".into()));
    }

    let mut s = String::new();
    s.push_str(BEGIN);
    s.push_str("\n\nTest key (never use it on a device): SM2 secret = SM3(\"scf/doc/device-key\")\n\n```text\n");
    s.push_str(&format!("secret key  {}\n", hex::encode(key.secret_bytes())));
    s.push_str(&format!("public key  {}\n", key.public().to_hex()));
    s.push_str("```\n\nPayload (CBOR, ");
    s.push_str(&format!("{} bytes):\n\n```text\n{ann}```\n\n", payload.len()));
    s.push_str(&format!(
        "Protected header bstr contents ({} bytes): `{}` = {{1: {}}}\n\n",
        protected.len(),
        hex::encode(&protected),
        wire::ALG_SM2_SM3
    ));
    s.push_str(&format!(
        "Sig_structure, the bytes SM2 signs ({} bytes):\n\n```text\n{}\n```\n\n",
        tbs.len(),
        hex::encode(&tbs)
    ));
    s.push_str(&format!("Signature r ‖ s (64 bytes):\n\n```text\n{}\n```\n\n", hex::encode(&parsed.signature)));
    s.push_str(&format!(
        "The complete message as published ({} bytes, tag 18 = `d2`):\n\n```text\n{}\n```\n\n",
        msg.len(),
        hex::encode(&msg)
    ));
    s.push_str(&format!(
        "Its leaf hash in the anchored Merkle tree, SM3(message):\n\n```text\n{}\n```\n\n",
        scf_ledger::crypto::Hash32::of(&msg).to_hex()
    ));
    s.push_str(END);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_example_matches_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/device-wire-format.md");
        let doc = std::fs::read_to_string(&path).expect("docs/device-wire-format.md");
        let gen = example_markdown().expect("example");
        let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("markers missing in {}", path.display())
        };
        let current = &doc[a..b + END.len()];
        if current != gen {
            if std::env::var("SCF_UPDATE_DOCS").is_ok() {
                let new = format!("{}{}{}", &doc[..a], gen, &doc[b + END.len()..]);
                std::fs::write(&path, new).expect("write doc");
            } else {
                panic!("docs/device-wire-format.md example is stale; rerun with SCF_UPDATE_DOCS=1\n{gen}");
            }
        }
        // The documented message verifies with the documented public key.
        let (key, _) = wire::example();
        let msg_hex = gen.split("```text\n").nth(5).and_then(|s| s.split('\n').next()).expect("message hex");
        let env = wire::decode(&hex::decode(msg_hex).expect("hex")).expect("decode");
        assert!(env.verify(key.public()));
        assert_eq!(env.reading.measurements[0].value_milli, 4500);
    }
}
