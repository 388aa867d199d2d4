//! Public keys in the protocol's wire form, and the Z_A digest that binds a key and a distinguishing id.

use std::sync::OnceLock;

use sm3::{Digest, Sm3};

use crate::field::Fe;
use crate::point::{Affine, B, G};
use crate::{Error, DEFAULT_DIST_ID};

/// An SM2 public key parsed from its 65-byte SEC1 uncompressed form and checked to be a point of the
/// curve. Compressed (33-byte) and identity encodings are refused: the protocol's wire format carries
/// only uncompressed keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    pub(crate) point: Affine,
    pub(crate) bytes: [u8; 65],
}

impl VerifyingKey {
    /// Parses and validates `0x04 ‖ x ‖ y`: both coordinates below p (no non-canonical encodings) and
    /// y² = x³ − 3x + b. The curve has cofactor 1, so every such point has the full order n and is not
    /// the identity (which has no affine coordinates).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<VerifyingKey, Error> {
        let bytes: [u8; 65] = bytes.try_into().map_err(|_| Error::KeyLength { len: bytes.len() })?;
        if bytes[0] != 0x04 {
            return Err(Error::KeyPrefix { prefix: bytes[0] });
        }
        let mut xb = [0u8; 32];
        let mut yb = [0u8; 32];
        xb.copy_from_slice(&bytes[1..33]);
        yb.copy_from_slice(&bytes[33..65]);
        let x = Fe::from_be_bytes(&xb).ok_or(Error::KeyCoordinateOutOfRange { coordinate: "x" })?;
        let y = Fe::from_be_bytes(&yb).ok_or(Error::KeyCoordinateOutOfRange { coordinate: "y" })?;
        let point = Affine { x, y };
        if !point.is_on_curve() {
            return Err(Error::KeyNotOnCurve);
        }
        Ok(VerifyingKey { point, bytes })
    }

    /// The 65-byte SEC1 uncompressed encoding this key was parsed from.
    pub fn to_sec1_bytes(&self) -> [u8; 65] {
        self.bytes
    }

    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5), where ENTL is the id's
    /// length in bits as two big-endian bytes, hence the 8191-byte limit.
    pub fn z_a(&self, dist_id: &[u8]) -> Result<[u8; 32], Error> {
        let mut h = if dist_id == DEFAULT_DIST_ID { default_id_prefix().clone() } else { id_prefix(dist_id)? };
        h.update(&self.bytes[1..]);
        Ok(h.finalize().into())
    }

    /// e = SM3(Z_A ‖ M), the message digest that the signature's r commits to.
    pub(crate) fn digest(z_a: &[u8; 32], msg: &[u8]) -> [u8; 32] {
        let mut h = Sm3::new_with_prefix(z_a);
        h.update(msg);
        h.finalize().into()
    }
}

/// The hash state after ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G: everything of Z_A that does not depend on the key.
fn id_prefix(dist_id: &[u8]) -> Result<Sm3, Error> {
    let entl: u16 = dist_id
        .len()
        .checked_mul(8)
        .and_then(|bits| u16::try_from(bits).ok())
        .ok_or(Error::DistIdTooLong { len: dist_id.len() })?;
    Ok(absorb_prefix(entl, dist_id))
}

fn absorb_prefix(entl: u16, dist_id: &[u8]) -> Sm3 {
    let a = Fe::ZERO.sub(&Fe::ONE.double().add(&Fe::ONE));
    let mut h = Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(dist_id);
    h.update(a.to_be_bytes());
    h.update(B.to_be_bytes());
    h.update(G.x.to_be_bytes());
    h.update(G.y.to_be_bytes());
    h
}

/// The default id's prefix covers two of Z_A's four SM3 blocks; computing it once halves Z_A's cost.
fn default_id_prefix() -> &'static Sm3 {
    static PREFIX: OnceLock<Sm3> = OnceLock::new();
    // 16 bytes = 128 bits.
    PREFIX.get_or_init(|| absorb_prefix(128, DEFAULT_DIST_ID))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_constants_serialise_to_the_published_values() {
        let a = Fe::ZERO.sub(&Fe::ONE.double().add(&Fe::ONE));
        assert_eq!(
            hex::encode_upper(a.to_be_bytes()),
            "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
        );
        assert_eq!(
            hex::encode_upper(B.to_be_bytes()),
            "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
        );
        assert_eq!(
            hex::encode_upper(G.x.to_be_bytes()),
            "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
        );
        assert_eq!(
            hex::encode_upper(G.y.to_be_bytes()),
            "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
        );
    }

    #[test]
    fn default_prefix_equals_the_general_one() {
        let mut key = [0u8; 65];
        key[0] = 4;
        key[1..33].copy_from_slice(&G.x.to_be_bytes());
        key[33..].copy_from_slice(&G.y.to_be_bytes());
        let k = VerifyingKey::from_sec1_bytes(&key).expect("G is a valid key");
        let mut general = id_prefix(DEFAULT_DIST_ID).expect("short id");
        general.update(&key[1..]);
        let general: [u8; 32] = general.finalize().into();
        assert_eq!(k.z_a(DEFAULT_DIST_ID).expect("z"), general);
        assert_eq!(k.z_a(&[b'x'; 8191]).map(|_| ()), Ok(()));
        assert_eq!(k.z_a(&[b'x'; 8192]), Err(Error::DistIdTooLong { len: 8192 }));
    }
}
