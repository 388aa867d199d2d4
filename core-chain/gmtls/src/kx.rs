//! curveSM2 (0x0029) key exchange for TLS 1.3 (RFC 8998): ephemeral ECDH on the SM2 curve, key
//! shares as uncompressed points, the shared secret is the x-coordinate — exactly like secp256r1 in RFC 8446,
//! not the SM2 key agreement protocol of GM/T 0003.3.

use elliptic_curve::sec1::ToSec1Point;
use elliptic_curve::Generate;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// curveSM2, 0x0029.
pub const CURVE_SM2_ID: u16 = 0x0029;

/// The curveSM2 key exchange group.
#[derive(Debug)]
pub struct CurveSm2;

pub static CURVE_SM2: CurveSm2 = CurveSm2;

impl SupportedKxGroup for CurveSm2 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let secret = sm2::SecretKey::try_generate().map_err(|_| rustls::crypto::GetRandomFailed)?;
        let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
        Ok(Box::new(ActiveSm2 { secret, public }))
    }
    fn name(&self) -> NamedGroup {
        NamedGroup::from(CURVE_SM2_ID)
    }
}

struct ActiveSm2 {
    secret: sm2::SecretKey,
    public: Vec<u8>,
}

impl ActiveKeyExchange for ActiveSm2 {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        // RFC 8446 §4.2.8.2: only the uncompressed form, and the point must be on the curve.
        if peer_pub_key.len() != 65 || peer_pub_key[0] != 0x04 {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let peer = sm2::PublicKey::from_sec1_bytes(peer_pub_key).map_err(|_| PeerMisbehaved::InvalidKeyShare)?;
        let shared = elliptic_curve::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
        Ok(SharedSecret::from(shared.raw_secret_bytes().as_slice()))
    }
    fn pub_key(&self) -> &[u8] {
        &self.public
    }
    fn group(&self) -> NamedGroup {
        NamedGroup::from(CURVE_SM2_ID)
    }
}
