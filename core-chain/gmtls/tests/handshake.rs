//! scf-gmtls against itself: what a member node sees when peers connect.

mod common;

use common::*;
use scf_ca::{CertKind, RevocationReason};
use scf_gmtls::{ClientAuth, CURVE_SM2_ID, TLS_SM4_GCM_SM3_ID};

#[tokio::test]
async fn members_of_two_organisations_handshake_with_sm_suites_and_see_each_others_organisation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let mut supplier = Org::new(tmp.path(), "Supplier B");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["node-a.example", "127.0.0.1"]);
    let (client_id, _) = supplier.identity(CertKind::Node, "node-b", &[]);
    let (trust_all, _) = trust(&[&bank, &supplier]);
    let (addr, mut seen) = echo_server(&server_id, trust_all.clone(), ClientAuth::Required).await;

    for name in ["node-a.example", "127.0.0.1"] {
        let (answer, suite, group) = ping(addr, Some(&client_id), trust_all.clone(), name, "hello").await.unwrap();
        assert_eq!(answer, "echo: hello");
        assert_eq!((suite, group), (TLS_SM4_GCM_SM3_ID, CURVE_SM2_ID));
        assert_eq!(next_seen(&mut seen).await.unwrap(), "CN=node-b,O=Supplier B from Supplier B: hello");
    }
}

#[tokio::test]
async fn a_client_from_a_foreign_ca_is_refused_at_the_handshake() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let mut mallory = Org::new(tmp.path(), "Mallory");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["127.0.0.1"]);
    let (intruder, _) = mallory.identity(CertKind::Node, "node-m", &[]);
    let (bank_only, _) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, bank_only.clone(), ClientAuth::Required).await;
    // The intruder trusts its own CA (and ours), so it gets as far as the handshake.
    let (client_trust, _) = trust(&[&bank, &mallory]);
    assert!(ping(addr, Some(&intruder), client_trust, "127.0.0.1", "let me in").await.is_err());
    let server_err = next_seen(&mut seen).await.unwrap_err();
    assert!(server_err.contains("UnknownIssuer"), "{server_err}");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_when_client_auth_is_required() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["127.0.0.1"]);
    let (t, _) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, t.clone(), ClientAuth::Required).await;
    assert!(ping(addr, None, t.clone(), "127.0.0.1", "anon").await.is_err());
    let server_err = next_seen(&mut seen).await.unwrap_err();
    assert!(server_err.contains("peer sent no certificates"), "{server_err}");

    let (open_addr, mut open_seen) = echo_server(&server_id, t.clone(), ClientAuth::None).await;
    let (answer, _, _) = ping(open_addr, None, t, "127.0.0.1", "anon").await.unwrap();
    assert_eq!(answer, "echo: anon");
    assert_eq!(next_seen(&mut open_seen).await.unwrap(), "anonymous: anon");
}

/// Revocation is read at each handshake: the running server refuses the certificate as soon as the
/// revocation set learns of it, without being rebuilt.
#[tokio::test]
async fn a_certificate_revoked_while_the_server_runs_is_refused_at_the_next_handshake() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["127.0.0.1"]);
    let (client_id, _) = bank.identity(CertKind::Node, "node-b", &[]);
    let (t, revocations) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, t.clone(), ClientAuth::Required).await;
    assert!(ping(addr, Some(&client_id), t.clone(), "127.0.0.1", "before").await.is_ok());
    assert!(next_seen(&mut seen).await.is_ok());

    let serial = client_id.certificate().serial();
    let crl = bank.ca.revoke(serial, RevocationReason::KeyCompromise, std::time::SystemTime::now()).unwrap();
    let verified = scf_ca::VerifiedCrl::from_pem(&crl, &t.store(), std::time::SystemTime::now()).unwrap();
    revocations.update(|r| r.apply_crl(&verified));

    assert!(ping(addr, Some(&client_id), t.clone(), "127.0.0.1", "after").await.is_err());
    let server_err = next_seen(&mut seen).await.unwrap_err();
    assert!(server_err.contains("Revoked"), "{server_err}");
}

#[tokio::test]
async fn a_client_refuses_a_revoked_server_and_a_server_not_named_as_dialled() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (server_id, _) = bank.identity(CertKind::Tls, "api", &["api.bank-a.example"]);
    let (client_id, _) = bank.identity(CertKind::Client, "erp", &[]);
    let (t, revocations) = trust(&[&bank]);
    let (addr, _seen) = echo_server(&server_id, t.clone(), ClientAuth::Required).await;
    let err = ping(addr, Some(&client_id), t.clone(), "other.example", "x").await.unwrap_err();
    assert!(err.contains("NotValidForName"), "{err}");
    assert!(ping(addr, Some(&client_id), t.clone(), "api.bank-a.example", "x").await.is_ok());
    revocations.update(|r| {
        r.insert(
            &bank.ca.authority().certificate().subject(),
            server_id.certificate().serial(),
            RevocationReason::Superseded,
        )
    });
    let err = ping(addr, Some(&client_id), t, "api.bank-a.example", "x").await.unwrap_err();
    assert!(err.contains("Revoked"), "{err}");
}

#[tokio::test]
async fn certificates_not_made_for_a_side_are_refused_when_the_config_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (device, _) = bank.identity(CertKind::Device, "sensor", &[]);
    let (tls_server, _) = bank.identity(CertKind::Tls, "api", &["api.example"]);
    let (t, _) = trust(&[&bank]);
    let err = scf_gmtls::server_config(&device, t.clone(), ClientAuth::Required).unwrap_err();
    assert!(err.to_string().contains("serverAuth not allowed"), "{err}");
    let err = scf_gmtls::client_config(Some(&tls_server), t, true).unwrap_err();
    assert!(err.to_string().contains("clientAuth not allowed"), "{err}");
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (id, _) = bank.identity(CertKind::Node, "node-a", &[]);
    let other = scf_ledger::crypto::KeyPair::generate().unwrap();
    let err = scf_gmtls::Identity::new(id.certificate().clone(), &other).unwrap_err();
    assert_eq!(err.to_string(), "key: is not the key certified by CN=node-a,O=Bank A");
}

/// A stock rustls client (ring provider, international suites only) finds nothing in common with a member
/// server: only the SM suite, group and signature scheme can be negotiated.
#[tokio::test]
async fn a_client_offering_only_international_suites_cannot_connect() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["127.0.0.1"]);
    let (t, _) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, t, ClientAuth::None).await;
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let connector = scf_gmtls::tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    assert!(connector.connect(name, tcp).await.is_err());
    let server_err = next_seen(&mut seen).await.unwrap_err();
    assert!(server_err.contains("NoCipherSuitesInCommon") || server_err.contains("NoKxGroupsInCommon"), "{server_err}");
}

/// A client that reconnects with the same configuration gets no resumed session: a resumption would skip
/// certificate checks and let a revoked certificate back in.
#[tokio::test]
async fn reconnecting_with_the_same_configuration_is_a_full_handshake_that_sees_revocation() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (server_id, _) = bank.identity(CertKind::Node, "node-a", &["127.0.0.1"]);
    let (client_id, _) = bank.identity(CertKind::Node, "node-b", &[]);
    let (t, revocations) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, t.clone(), ClientAuth::Required).await;
    let connector =
        scf_gmtls::tokio_rustls::TlsConnector::from(scf_gmtls::client_config(Some(&client_id), t, true).unwrap());
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let talk = |line: &'static str| {
        let connector = connector.clone();
        let name = name.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let mut tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
            tls.write_all(line.as_bytes()).await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            let mut answer = String::new();
            tokio::io::BufReader::new(tls).read_line(&mut answer).await.map_err(|e| e.to_string())?;
            if answer.is_empty() {
                return Err("closed without an answer".to_string());
            }
            Ok::<_, String>(answer)
        }
    };
    assert_eq!(talk("first\n").await.unwrap(), "echo: first\n");
    assert!(next_seen(&mut seen).await.is_ok());
    revocations.update(|r| {
        r.insert(
            &bank.ca.authority().certificate().subject(),
            client_id.certificate().serial(),
            RevocationReason::KeyCompromise,
        )
    });
    assert!(talk("second\n").await.is_err());
    let refused = next_seen(&mut seen).await.unwrap_err();
    assert!(refused.contains("Revoked"), "{refused}");
}
