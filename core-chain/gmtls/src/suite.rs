//! TLS_SM4_GCM_SM3 (RFC 8998): SM3 for the transcript hash and the HKDF of the TLS 1.3 key schedule,
//! SM4 in GCM mode with a 12-byte nonce for records. rustls does the protocol; this file only supplies the
//! primitives, all from RustCrypto crates.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::AesGcm;
use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter, MessageEncrypter, Nonce,
    OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload, Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{hash, hmac, CipherSuiteCommon};
use rustls::{CipherSuite, ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion, Tls13CipherSuite};
use sm3::Digest;

/// TLS_SM4_GCM_SM3, 0x00C6.
pub const TLS_SM4_GCM_SM3_ID: u16 = 0x00c6;

/// The TLS 1.3 cipher suite TLS_SM4_GCM_SM3.
pub static TLS13_SM4_GCM_SM3: Tls13CipherSuite = Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: CipherSuite::Unknown(TLS_SM4_GCM_SM3_ID),
        hash_provider: &Sm3Hash,
        // SM4 is a 128-bit block cipher like AES, so the AES-GCM bound applies: 2^24 full records per key
        // keeps the distinguishing advantage under 2^-60 (draft-irtf-cfrg-aead-limits).
        confidentiality_limit: 1 << 24,
    },
    hkdf_provider: &HkdfUsingHmac(&Sm3Hmac),
    aead_alg: &Sm4Gcm,
    quic: None,
};

type Sm4GcmCipher = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;
const TAG_LEN: usize = 16;

/// SM3 has no code point in the TLS HashAlgorithm registry; rustls only compares this value between suites
/// (resumption) and otherwise computes hashes itself.
const SM3_HASH_ALGORITHM: u8 = 0x07;

pub(crate) struct Sm3Hash;

impl hash::Hash for Sm3Hash {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(sm3::Sm3::new()))
    }
    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&sm3::Sm3::digest(data))
    }
    fn output_len(&self) -> usize {
        32
    }
    fn algorithm(&self) -> rustls::crypto::hash::HashAlgorithm {
        rustls::crypto::hash::HashAlgorithm::from(SM3_HASH_ALGORITHM)
    }
}

struct Sm3Context(sm3::Sm3);

impl hash::Context for Sm3Context {
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize())
    }
    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(self.0.clone()))
    }
    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

pub(crate) struct Sm3Hmac;

impl hmac::Hmac for Sm3Hmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn hmac::Key> {
        // HMAC accepts keys of any length (longer ones are hashed first), so this cannot fail.
        match <::hmac::Hmac<sm3::Sm3> as ::hmac::KeyInit>::new_from_slice(key) {
            Ok(mac) => Box::new(Sm3HmacKey(mac)),
            Err(_) => Box::new(Sm3HmacKey(<::hmac::Hmac<sm3::Sm3> as ::hmac::KeyInit>::new(&Default::default()))),
        }
    }
    fn hash_output_len(&self) -> usize {
        32
    }
}

struct Sm3HmacKey(::hmac::Hmac<sm3::Sm3>);

impl hmac::Key for Sm3HmacKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> hmac::Tag {
        use ::hmac::Mac;
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        hmac::Tag::new(&mac.finalize().into_bytes())
    }
    fn tag_len(&self) -> usize {
        32
    }
}

pub(crate) struct Sm4Gcm;

impl Sm4Gcm {
    fn cipher(key: &AeadKey, iv: Iv) -> Sm4GcmRecords {
        // rustls hands over exactly `key_len()` bytes, so the key size always fits.
        let cipher = Sm4GcmCipher::new_from_slice(key.as_ref()).ok();
        Sm4GcmRecords { cipher, iv }
    }
}

impl Tls13AeadAlgorithm for Sm4Gcm {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Self::cipher(&key, iv))
    }
    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Self::cipher(&key, iv))
    }
    fn key_len(&self) -> usize {
        16
    }
    fn extract_keys(&self, _key: AeadKey, _iv: Iv) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        // Secrets are only extracted for kernel TLS offload, which has no SM4-GCM.
        Err(UnsupportedOperationError)
    }
}

struct Sm4GcmRecords {
    cipher: Option<Sm4GcmCipher>,
    iv: Iv,
}

impl MessageEncrypter for Sm4GcmRecords {
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, Error> {
        let cipher = self.cipher.as_ref().ok_or(Error::EncryptError)?;
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let nonce = Nonce::new(&self.iv, seq).0;
        let aad = make_tls13_aad(total_len);
        let tag = cipher
            .encrypt_inout_detached(&nonce.into(), &aad, payload.as_mut().into())
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);
        // TLS 1.3 records carry the legacy version 0x0303 (RFC 8446 §5.1).
        Ok(OutboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for Sm4GcmRecords {
    fn decrypt<'a>(&mut self, mut msg: InboundOpaqueMessage<'a>, seq: u64) -> Result<InboundPlainMessage<'a>, Error> {
        let cipher = self.cipher.as_ref().ok_or(Error::DecryptError)?;
        let payload = &mut msg.payload;
        if payload.len() < TAG_LEN {
            return Err(Error::DecryptError);
        }
        let nonce = Nonce::new(&self.iv, seq).0;
        let aad = make_tls13_aad(payload.len());
        let plain_len = payload.len() - TAG_LEN;
        let (body, tag) = payload.split_at_mut(plain_len);
        let tag = aes_gcm::Tag::try_from(&*tag).map_err(|_| Error::DecryptError)?;
        cipher.decrypt_inout_detached(&nonce.into(), &aad, body.into(), &tag).map_err(|_| Error::DecryptError)?;
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}
