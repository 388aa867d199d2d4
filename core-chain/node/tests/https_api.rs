//! The node's client API from another machine: HTTPS with mutual 国密 TLS (`[api] https_listen`).
//!
//! One validator in process serves both listeners. A caller with a client certificate from a trusted
//! organisation CA reads and submits over HTTPS; a caller without a certificate, with one from a CA the
//! node does not trust, or from an organisation outside `allowed_orgs` gets no HTTP answer at all; a
//! certificate revoked by a CRL written while the node runs is refused at the next request on an open
//! connection and at the next handshake, without a restart. The plain listener refuses to start on a
//! non-loopback address.
//!
//! Only one node per test binary: Malachite registers its metrics in a process-global registry.

use std::path::Path;
use std::time::{Duration, SystemTime};

use scf_ca::{CaDir, CertKind, RevocationReason, RevokedSerials, SharedRevocations, TrustStore};
use scf_client::{ChainError, HttpChain, NodeClient};
use scf_gmtls::{Identity, Trust};
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_node::config::{ApiSection, ConsensusSection, NodeConfig, P2pSection, SyncSection};
use scf_node::{MempoolConfig, NodeHandle};

struct Org {
    ca: CaDir,
}

impl Org {
    fn new(dir: &Path, name: &str) -> Self {
        let ca = CaDir::init(&dir.join(name), name, None, 30, SystemTime::now() - Duration::from_secs(60)).expect("CA");
        Org { ca }
    }
    /// A certificate of `kind` and its key, written as PEM files; also the in-memory identity.
    fn issue(
        &mut self,
        dir: &Path,
        kind: CertKind,
        cn: &str,
        sans: &[&str],
    ) -> (Identity, std::path::PathBuf, std::path::PathBuf) {
        let key = KeyPair::generate().expect("key");
        let cert = self
            .ca
            .issue(
                kind,
                &format!("CN={cn}"),
                *key.public(),
                10,
                sans.iter().map(|s| s.to_string()).collect(),
                SystemTime::now() - Duration::from_secs(30),
            )
            .expect("issue");
        let (cert_path, key_path) = (dir.join(format!("{cn}.crt")), dir.join(format!("{cn}.key")));
        std::fs::write(&cert_path, cert.to_pem().expect("pem")).expect("write cert");
        std::fs::write(&key_path, key.to_pkcs8_pem().expect("pkcs8")).expect("write key");
        (Identity::new(cert, &key).expect("identity"), cert_path, key_path)
    }
    fn ca_pem(&self) -> String {
        self.ca.authority().certificate().to_pem().expect("pem")
    }
}

fn trust(orgs: &[&Org]) -> Trust {
    let pem: String = orgs.iter().map(|o| o.ca_pem()).collect();
    Trust::new(
        TrustStore::from_pem(&pem).expect("trust"),
        std::sync::Arc::new(SharedRevocations::new(RevokedSerials::new())),
    )
}

/// A client presenting `me` and trusting the CAs of `trusting` (its own among them: a client refuses to
/// present a certificate its own trust would not accept).
fn client(base: &str, me: Option<&Identity>, trusting: &[&Org]) -> NodeClient {
    let tls = scf_gmtls::client_config(me, trust(trusting), true).expect("client config");
    NodeClient::with_tls(base, (*tls).clone()).expect("client")
}

fn tx(chain_id: &str, key: &KeyPair, nonce: u64) -> SignedTx {
    TxBody {
        chain_id: chain_id.into(),
        sender: *key.public(),
        nonce,
        expiry_height: 10_000,
        call: Call { module: "kv".into(), payload: vec![] },
    }
    .sign(key)
}

fn config(dir: &Path, api: ApiSection) -> NodeConfig {
    let kd = dir.join("keys");
    NodeConfig {
        moniker: "solo".into(),
        home: dir.join("data"),
        genesis: dir.join("genesis.json"),
        consensus_key: Some(kd.join("consensus.pem")),
        p2p_key: kd.join("p2p.key"),
        p2p: P2pSection::new("/ip4/127.0.0.1/tcp/0", vec![]),
        api,
        consensus: ConsensusSection { empty_block_wait_ms: 200, ..ConsensusSection::default() },
        sync: SyncSection::default(),
        mempool: MempoolConfig {
            max_txs: 1000,
            max_per_sender: 50,
            verified_cache: 10_000,
            ..MempoolConfig::default()
        },
    }
}

/// The refusal a client sees when the server ends the handshake: a transport error, never an HTTP answer.
fn refused_at_handshake(r: Result<impl std::fmt::Debug, ChainError>, who: &str) {
    match r {
        Err(ChainError::Unavailable(msg)) => assert!(msg.contains("node API"), "{who}: {msg}"),
        other => panic!("{who} must get no answer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_call_the_node_over_mutual_gm_tls_and_nobody_else_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let kd = d.join("keys");
    scf_node::keys::generate(&kd, "solo", true).expect("keygen").expect("validator bundle");
    let genesis = scf_node::cli::build_genesis(
        &scf_node::cli::GenesisArgs {
            chain_id: "tls-chain".into(),
            validators: vec![kd.join("validator.json")],
            orgs: vec![],
            app_state: None,
            genesis_time_ms: None,
            max_block_txs: None,
            out: d.join("genesis.json"),
        },
        scf_node::kv_module::modules(),
    )
    .expect("genesis");
    std::fs::write(d.join("genesis.json"), genesis.to_json()).expect("write genesis");

    let mut bank = Org::new(d, "BANK-A");
    let mut supplier = Org::new(d, "SUPPLIER-B");
    let mut outsider = Org::new(d, "OUTSIDER-C");
    let mut mallory = Org::new(d, "MALLORY");
    let (_, server_cert, server_key) = bank.issue(d, CertKind::Node, "node-a", &["localhost", "127.0.0.1"]);
    let (bank_tool, _, _) = bank.issue(d, CertKind::Client, "bank-tool", &[]);
    let (supplier_api, _, _) = supplier.issue(d, CertKind::Client, "supplier-api", &[]);
    let (outsider_id, _, _) = outsider.issue(d, CertKind::Client, "outsider", &[]);
    let (mallory_id, _, _) = mallory.issue(d, CertKind::Client, "mallory", &[]);
    // The node trusts three organisations' CAs but lets only two call.
    let trust_pem = d.join("consortium-cas.pem");
    std::fs::write(&trust_pem, [&bank, &supplier, &outsider].iter().map(|o| o.ca_pem()).collect::<String>())
        .expect("trust bundle");
    let crl_path = d.join("supplier.crl");
    std::fs::write(&crl_path, supplier.ca.publish_crl(SystemTime::now()).expect("empty CRL")).expect("write CRL");

    // The plain API is for this machine only.
    let remote_plain = ApiSection::plain("0.0.0.0:0".parse().expect("addr"));
    let e = config(d, remote_plain.clone()).validate().expect_err("a non-loopback plain API is refused");
    assert_eq!(e.0, "api.listen", "{e:?}");
    assert!(e.1.contains("api.https_listen"), "the error says what to use instead: {e:?}");
    config(d, ApiSection { plain_remote: true, ..remote_plain }).validate().expect("lab networks may opt in");
    let api = ApiSection {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        https_listen: Some("127.0.0.1:0".parse().expect("addr")),
        tls_cert: Some(server_cert),
        tls_key: Some(server_key),
        tls_trust: Some(trust_pem),
        tls_trust_on_chain: false,
        tls_crls: vec![crl_path.clone()],
        allowed_orgs: vec!["BANK-A".into(), "SUPPLIER-B".into()],
        plain_remote: false,
    };
    let missing = ApiSection { tls_trust: None, ..api.clone() };
    assert_eq!(config(d, missing).validate().expect_err("trust is required").0, "api.tls_trust");
    let unknown_org = ApiSection { allowed_orgs: vec!["NOBODY".into()], ..api.clone() };
    match NodeHandle::start(config(d, unknown_org), scf_node::kv_module::modules()).await {
        Err(e) => assert!(e.to_string().contains("api.allowed_orgs") && e.to_string().contains("NOBODY"), "{e}"),
        Ok(_) => panic!("an allowed organisation without a trusted CA must stop the node"),
    }

    let node = NodeHandle::start(config(d, api), scf_node::kv_module::modules()).await.expect("node starts");
    let https = format!("https://127.0.0.1:{}", node.https_addr().expect("https addr").port());

    // Members: the bank's own tool and the supplier's API, over 国密 TLS.
    let bank_client = client(&https, Some(&bank_tool), &[&bank]);
    assert_eq!(bank_client.status().await.expect("bank reads status").chain_id, "tls-chain");
    let chain = HttpChain::connect_with(client(&https, Some(&supplier_api), &[&bank, &supplier]))
        .await
        .expect("supplier connects");
    let sender = KeyPair::from_seed("https-sender");
    let id = chain.client().submit(&tx("tls-chain", &sender, 0)).await.expect("submitted over HTTPS");
    let mut committed = false;
    for _ in 0..200 {
        if let scf_client::wire::TxStatus::Committed { .. } = chain.client().tx_status(&id).await.expect("status") {
            committed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(committed, "a transaction submitted over HTTPS commits");

    // Nobody else: no certificate, an untrusted CA, a trusted CA outside allowed_orgs.
    refused_at_handshake(client(&https, None, &[&bank]).status().await, "anonymous");
    refused_at_handshake(client(&https, Some(&mallory_id), &[&bank, &mallory]).status().await, "a foreign CA");
    refused_at_handshake(
        client(&https, Some(&outsider_id), &[&bank, &outsider]).status().await,
        "an organisation not allowed",
    );
    // A client that does not trust the bank's CA does not talk to an impostor node either.
    refused_at_handshake(client(&https, Some(&supplier_api), &[&supplier]).status().await, "an unverified server");
    // The plain API speaks no TLS and the HTTPS API no plain HTTP.
    let plain_on_https = NodeClient::new(format!("http://127.0.0.1:{}", node.https_addr().expect("addr").port()));
    assert!(plain_on_https.status().await.is_err(), "plain HTTP on the HTTPS port gets nothing");

    // Revocation while the node runs: the supplier's CA publishes a CRL revoking its API's certificate.
    let open = client(&https, Some(&supplier_api), &[&bank, &supplier]);
    open.status().await.expect("connection open before the revocation");
    let crl = supplier
        .ca
        .revoke(supplier_api.certificate().serial(), RevocationReason::KeyCompromise, SystemTime::now())
        .expect("revoke");
    let tmp = d.join("supplier.crl.new");
    std::fs::write(&tmp, crl).expect("write CRL");
    std::fs::rename(&tmp, &crl_path).expect("replace CRL");
    let mut cut_off = false;
    for _ in 0..100 {
        match open.status().await {
            Err(ChainError::Rejected(r)) if r.kind == "certificate_revoked" => {
                cut_off = true;
                break;
            }
            Err(ChainError::Unavailable(_)) => {
                cut_off = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(cut_off, "the open connection of a revoked certificate is cut off within 10 s");
    refused_at_handshake(
        client(&https, Some(&supplier_api), &[&bank, &supplier]).status().await,
        "a revoked certificate",
    );
    assert!(bank_client.status().await.is_ok(), "other members are unaffected");
    node.shutdown().await;
}
