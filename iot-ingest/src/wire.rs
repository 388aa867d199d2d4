//! The device wire format: COSE_Sign1 (RFC 9052) over a CBOR reading, signed with SM2/SM3.
//!
//! Described for firmware engineers in `docs/device-wire-format.md` (generated from [`example`], and
//! checked by a test so the document never drifts from the code).
//!
//! ```text
//! COSE_Sign1 = #6.18([ protected: bstr .cbor {1: -70000}, unprotected: {}, payload: bstr .cbor Reading,
//!                      signature: bstr .size 64 ])
//! Reading    = {1: device_id tstr, 2: seq uint, 3: time_ms uint, 4: [+ {1: type tstr, 2: value int/float, 3: uom tstr}]}
//! signature  = SM2-sign(ID "1234567812345678", SM3 inside, Sig_structure) as r ‖ s (32 + 32 bytes, big-endian)
//! Sig_structure = ["Signature1", protected bstr, h'' (no external aad), payload bstr]
//! ```

use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use scf_ledger::crypto::{Hash32, KeyPair, PublicKey, Signature};
use serde::{Deserialize, Serialize};

/// The private-use COSE algorithm label of SM2 signatures with SM3 and the distinguishing ID
/// `1234567812345678` (RFC 9053 reserves labels below -65536 for private use).
pub const ALG_SM2_SM3: i64 = -70000;
/// Largest COSE message accepted (bytes), checked before any decoding.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Most readings in one message.
pub const MAX_READINGS: usize = 32;
/// Longest reading type / unit.
pub const MAX_NAME: usize = 32;
/// Magnitude bound on a milli-unit value (2^53: exactly representable in a double, so no precision is
/// silently lost when firmware sends floats).
pub const MAX_ABS_MILLI: i64 = 1 << 53;

/// One measured quantity, in fixed-point milli-units of `uom` (8.25 °C → 8250).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Measurement {
    #[serde(rename = "type")]
    pub kind: String,
    pub value_milli: i64,
    pub uom: String,
}

/// The signed content of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct Reading {
    pub device_id: String,
    pub seq: u64,
    /// Device clock, ms since the Unix epoch (UTC).
    pub time_ms: u64,
    pub measurements: Vec<Measurement>,
}

/// A value as the device sends it: an integer, or a float the edge converts to milli-units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WireValue {
    Int(i64),
    Float(f64),
}

/// Why a message is malformed. Every variant names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message: {len} bytes, limit {MAX_MESSAGE_BYTES}")]
    TooLarge { len: usize },
    #[error("message: not a COSE_Sign1: {0}")]
    NotCose(String),
    #[error("protected.alg: expected {ALG_SM2_SM3} (SM2-SM3), got {0}")]
    WrongAlgorithm(String),
    #[error("payload: {0}")]
    Payload(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("signature: must be 64 bytes r ‖ s, got {0}")]
    SignatureLength(usize),
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> WireError {
    WireError::Field { field: field.into(), reason: reason.into() }
}

/// Convert a wire value to milli-units. Integers: `v × 1000` (checked). Floats (half, single or
/// double): `round_half_away_from_zero(v × 1000)` in IEEE-754 double arithmetic; NaN and infinities
/// are refused; |result| must be ≤ 2^53.
pub fn to_milli(v: WireValue) -> Result<i64, String> {
    let m = match v {
        WireValue::Int(i) => i.checked_mul(1000).ok_or_else(|| "integer too large".to_string())?,
        WireValue::Float(f) => {
            if !f.is_finite() {
                return Err("not a finite number".into());
            }
            let scaled = (f * 1000.0).round();
            if scaled.abs() > MAX_ABS_MILLI as f64 {
                return Err("magnitude too large".into());
            }
            scaled as i64
        }
    };
    if m.abs() > MAX_ABS_MILLI {
        return Err("magnitude too large".into());
    }
    Ok(m)
}

/// A reading as the device encodes it (values may be floats).
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceReading {
    pub device_id: String,
    pub seq: u64,
    pub time_ms: u64,
    pub readings: Vec<(String, WireValue, String)>,
}

impl DeviceReading {
    /// The CBOR payload bytes (deterministic: integer keys in ascending order, shortest forms).
    pub fn payload_bytes(&self) -> Result<Vec<u8>, WireError> {
        let readings = self
            .readings
            .iter()
            .map(|(t, v, u)| {
                let value = match v {
                    WireValue::Int(i) => Value::Integer((*i).into()),
                    WireValue::Float(f) => Value::Float(*f),
                };
                Value::Map(vec![
                    (Value::Integer(1.into()), Value::Text(t.clone())),
                    (Value::Integer(2.into()), value),
                    (Value::Integer(3.into()), Value::Text(u.clone())),
                ])
            })
            .collect();
        let map = Value::Map(vec![
            (Value::Integer(1.into()), Value::Text(self.device_id.clone())),
            (Value::Integer(2.into()), Value::Integer(self.seq.into())),
            (Value::Integer(3.into()), Value::Integer(self.time_ms.into())),
            (Value::Integer(4.into()), Value::Array(readings)),
        ]);
        let mut out = Vec::new();
        ciborium::into_writer(&map, &mut out).map_err(|e| WireError::Payload(e.to_string()))?;
        Ok(out)
    }

    /// Sign as the device does and return the tagged COSE_Sign1 bytes.
    pub fn sign(&self, key: &KeyPair) -> Result<Vec<u8>, WireError> {
        sign_payload(self.payload_bytes()?, key)
    }
}

/// Wrap `payload` in a COSE_Sign1 signed by `key`.
pub fn sign_payload(payload: Vec<u8>, key: &KeyPair) -> Result<Vec<u8>, WireError> {
    let mut protected = HeaderBuilder::new().build();
    protected.alg = Some(coset::Algorithm::PrivateUse(ALG_SM2_SM3));
    let msg = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| key.sign(tbs).0.to_vec())
        .build();
    msg.to_tagged_vec().map_err(|e| WireError::NotCose(e.to_string()))
}

/// A decoded, not yet verified message.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub reading: Reading,
    /// The bytes the signature covers (Sig_structure).
    pub to_be_signed: Vec<u8>,
    pub signature: Signature,
    /// SM3 of the message bytes as received: the Merkle leaf and the reading's identity in proofs.
    pub leaf: Hash32,
}

impl Envelope {
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify(&self.to_be_signed, &self.signature).is_ok()
    }
}

/// Decode a message (tagged or untagged COSE_Sign1). Never panics; sizes are bounded.
pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge { len: bytes.len() });
    }
    let msg = match CoseSign1::from_tagged_slice(bytes) {
        Ok(m) => m,
        Err(_) => CoseSign1::from_slice(bytes).map_err(|e| WireError::NotCose(e.to_string()))?,
    };
    match &msg.protected.header.alg {
        Some(coset::Algorithm::PrivateUse(ALG_SM2_SM3)) => {}
        other => return Err(WireError::WrongAlgorithm(format!("{other:?}"))),
    }
    if msg.signature.len() != 64 {
        return Err(WireError::SignatureLength(msg.signature.len()));
    }
    let signature =
        Signature::from_slice(&msg.signature).map_err(|_| WireError::SignatureLength(msg.signature.len()))?;
    let payload = msg
        .payload
        .as_deref()
        .ok_or_else(|| WireError::Payload("missing (detached payloads are not accepted)".into()))?;
    let reading = decode_payload(payload)?;
    let to_be_signed = msg.tbs_data(b"");
    Ok(Envelope { reading, to_be_signed, signature, leaf: Hash32::of(bytes) })
}

fn int_key(k: &Value) -> Option<i128> {
    match k {
        Value::Integer(i) => Some(i128::from(*i)),
        _ => None,
    }
}

fn text(v: &Value, name: &str, max: usize) -> Result<String, WireError> {
    match v {
        Value::Text(s) if !s.is_empty() && s.len() <= max => Ok(s.clone()),
        Value::Text(_) => Err(field(name, format!("1..={max} bytes of text"))),
        _ => Err(field(name, "must be a text string")),
    }
}

fn uint(v: &Value, name: &str) -> Result<u64, WireError> {
    match v {
        Value::Integer(i) => u64::try_from(i128::from(*i)).map_err(|_| field(name, "must be an unsigned integer")),
        _ => Err(field(name, "must be an unsigned integer")),
    }
}

/// Take the entries of a map with integer keys `1..=n`, refusing duplicates and unknown keys.
fn entries<'a>(v: &'a Value, name: &str, n: usize) -> Result<Vec<Option<&'a Value>>, WireError> {
    let Value::Map(m) = v else { return Err(field(name, "must be a map")) };
    let mut out = vec![None; n];
    for (k, val) in m {
        let idx = int_key(k)
            .filter(|i| *i >= 1 && *i <= n as i128)
            .ok_or_else(|| field(name, format!("unknown key {k:?}")))?;
        let slot = &mut out[(idx - 1) as usize];
        if slot.is_some() {
            return Err(field(name, format!("duplicate key {idx}")));
        }
        *slot = Some(val);
    }
    Ok(out)
}

/// Decode the CBOR payload into a [`Reading`] with fixed-point values.
pub fn decode_payload(payload: &[u8]) -> Result<Reading, WireError> {
    let value: Value = ciborium::from_reader(payload).map_err(|e| WireError::Payload(format!("not CBOR: {e}")))?;
    let e = entries(&value, "payload", 4)?;
    let need = |i: usize, name: &str| e[i].ok_or_else(|| field(name, "missing"));
    let device_id = text(need(0, "device_id (1)")?, "device_id (1)", scf_domain::device::MAX_DEVICE_ID)?;
    if !scf_domain::device::valid_device_id(&device_id) {
        return Err(field("device_id (1)", "must be 1..=64 of A-Z a-z 0-9 . _ -"));
    }
    let seq = uint(need(1, "seq (2)")?, "seq (2)")?;
    let time_ms = uint(need(2, "time (3)")?, "time (3)")?;
    let Value::Array(items) = need(3, "readings (4)")? else {
        return Err(field("readings (4)", "must be an array"));
    };
    if items.is_empty() || items.len() > MAX_READINGS {
        return Err(field("readings (4)", format!("1..={MAX_READINGS} readings")));
    }
    let mut measurements = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = format!("readings[{i}]");
        let m = entries(item, &name, 3)?;
        let kind = text(
            m[0].ok_or_else(|| field(format!("{name}.type (1)"), "missing"))?,
            &format!("{name}.type (1)"),
            MAX_NAME,
        )?;
        let raw = m[1].ok_or_else(|| field(format!("{name}.value (2)"), "missing"))?;
        let wv = match raw {
            Value::Integer(i) => WireValue::Int(
                i64::try_from(i128::from(*i))
                    .map_err(|_| field(format!("{name}.value (2)"), "integer out of range"))?,
            ),
            Value::Float(f) => WireValue::Float(*f),
            _ => return Err(field(format!("{name}.value (2)"), "must be an integer or a float")),
        };
        let value_milli = to_milli(wv).map_err(|r| field(format!("{name}.value (2)"), r))?;
        let uom = text(
            m[2].ok_or_else(|| field(format!("{name}.uom (3)"), "missing"))?,
            &format!("{name}.uom (3)"),
            MAX_NAME,
        )?;
        measurements.push(Measurement { kind, value_milli, uom });
    }
    Ok(Reading { device_id, seq, time_ms, measurements })
}

/// The MQTT topic a device publishes on.
pub fn telemetry_topic(org: &str, device_id: &str) -> String {
    format!("scf/{org}/devices/{device_id}/telemetry")
}

/// The filter the ingestion service subscribes to (all organisations, all devices).
pub const TELEMETRY_FILTER: &str = "scf/+/devices/+/telemetry";

/// `(org, device_id)` of a telemetry topic.
pub fn parse_topic(topic: &str) -> Option<(&str, &str)> {
    let mut parts = topic.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("scf"), Some(org), Some("devices"), Some(dev), Some("telemetry"), None)
            if !org.is_empty() && !dev.is_empty() =>
        {
            Some((org, dev))
        }
        _ => None,
    }
}

/// The documented example: a fixed key (SM3 of "scf/doc/device-key"), device `COLD-T-0001`, seq 42,
/// 2026-01-05T02:00:00Z, temperature 4.5 °C (a float) and humidity 61 %RH (an integer).
pub fn example() -> (KeyPair, DeviceReading) {
    let key = KeyPair::from_seed("scf/doc/device-key");
    let r = DeviceReading {
        device_id: "COLD-T-0001".into(),
        seq: 42,
        time_ms: 1_767_578_400_000,
        readings: vec![
            ("temperature".into(), WireValue::Float(4.5), "Cel".into()),
            ("humidity".into(), WireValue::Int(61), "%RH".into()),
        ],
    };
    (key, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> DeviceReading {
        DeviceReading {
            device_id: "D-1".into(),
            seq,
            time_ms: 1_000,
            readings: vec![("t".into(), WireValue::Float(-2.0005), "Cel".into())],
        }
    }

    #[test]
    fn sign_then_decode_round_trips_and_verifies() {
        let key = KeyPair::from_seed("wire-test");
        let bytes = sample(7).sign(&key).expect("sign");
        assert_eq!(bytes[0], 0xD2, "tag 18");
        let env = decode(&bytes).expect("decode");
        assert_eq!(env.reading.seq, 7);
        assert_eq!(env.reading.measurements[0].value_milli, -2001);
        assert!(env.verify(key.public()));
        assert!(!env.verify(KeyPair::from_seed("other").public()));
        assert_eq!(env.leaf, Hash32::of(&bytes));
    }

    #[test]
    fn tampered_payload_fails_verification() {
        let key = KeyPair::from_seed("wire-test");
        let mut bytes = sample(7).sign(&key).expect("sign");
        // The seq byte sits inside the payload; change it.
        let pos = bytes.windows(2).position(|w| w == [0x02, 0x07]).expect("seq in payload");
        bytes[pos + 1] = 0x08;
        let env = decode(&bytes).expect("still decodes");
        assert_eq!(env.reading.seq, 8);
        assert!(!env.verify(key.public()));
    }

    #[test]
    fn float_conversion_rule() {
        assert_eq!(to_milli(WireValue::Float(8.0)), Ok(8000));
        assert_eq!(to_milli(WireValue::Float(0.0005)), Ok(1));
        assert_eq!(to_milli(WireValue::Float(-0.0005)), Ok(-1));
        assert_eq!(to_milli(WireValue::Int(-40)), Ok(-40_000));
        assert!(to_milli(WireValue::Float(f64::NAN)).is_err());
        assert!(to_milli(WireValue::Float(f64::INFINITY)).is_err());
        assert!(to_milli(WireValue::Float(1e300)).is_err());
        assert!(to_milli(WireValue::Int(i64::MAX)).is_err());
    }

    #[test]
    fn malformed_inputs_are_typed_errors_not_panics() {
        let key = KeyPair::from_seed("wire-test");
        assert!(matches!(decode(&[]), Err(WireError::NotCose(_))));
        assert!(matches!(decode(&[0xff; 5000]), Err(WireError::TooLarge { .. })));
        let bad_payloads: Vec<Vec<u8>> = vec![
            vec![0xa0], // empty map
            vec![0x01], // not a map
            b"garbage".to_vec(),
        ];
        for p in bad_payloads {
            let bytes = sign_payload(p, &key).expect("sign");
            assert!(decode(&bytes).is_err());
        }
        // Unknown key 5.
        let mut v = sample(1).payload_bytes().expect("payload");
        v[0] = 0xa5;
        v.extend([0x05, 0x00]);
        let err = decode(&sign_payload(v, &key).expect("sign")).unwrap_err();
        assert!(err.to_string().contains("unknown key"), "{err}");
        // Every prefix of a valid message is refused without panicking.
        let good = sample(1).sign(&key).expect("sign");
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err());
        }
    }

    #[test]
    fn topics() {
        assert_eq!(telemetry_topic("WH-A", "T-1"), "scf/WH-A/devices/T-1/telemetry");
        assert_eq!(parse_topic("scf/WH-A/devices/T-1/telemetry"), Some(("WH-A", "T-1")));
        assert_eq!(parse_topic("scf/WH-A/devices/T-1/telemetry/x"), None);
        assert_eq!(parse_topic("scf//devices/T-1/telemetry"), None);
    }
}
