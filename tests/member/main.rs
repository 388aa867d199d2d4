//! A consortium member without the demo, as an operator sets one up: keys with `scf keygen`, a genesis
//! with `scf genesis`, a config from `scf member init`, the process with `scf member --config`, and the
//! organisation's first admin with `scf admin bootstrap` — who signs in with the one-time password,
//! must change it, then creates a user and issues a voucher. No demo seeds anywhere on this path.

#[path = "../support/member.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use scf_domain::invoice::InvoiceCall;
use serde_json::json;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn a_member_without_the_demo_gets_a_first_admin_who_creates_a_user_and_issues_a_voucher() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // Keys: the node's (validator) and the two organisations' own keys.
    run(scf().args(["keygen", "--node", "core-node", "--out"]).arg(d.join("keys")));
    run(scf().args(["keygen", "--out"]).arg(d.join("core-org")));
    run(scf().args(["keygen", "--out"]).arg(d.join("supplier-org")));
    let core = read_key(&d.join("core-org/key.pem"));
    let supplier = read_key(&d.join("supplier-org/key.pem"));
    run(scf()
        .args(["genesis", "--chain-id", "member-test", "--validator"])
        .arg(d.join("keys/validator.json"))
        .arg("--org")
        .arg(format!(
            "id=CORE,name=核心企业,credit_code={},roles=core_enterprise,public_key={}",
            scf_domain::org::derived_credit_code("CORE"),
            core.public().to_hex()
        ))
        .arg("--org")
        .arg(format!(
            "id=SUP,name=一级供应商,credit_code={},roles=supplier,public_key={}",
            scf_domain::org::derived_credit_code("SUP"),
            supplier.public().to_hex()
        ))
        .arg("--out")
        .arg(d.join("genesis.json")));

    // The example config, with this machine's ports.
    let config = d.join("member.toml");
    run(scf().args(["member", "init", "--org", "CORE", "--out"]).arg(&config));
    let again = scf().args(["member", "init", "--org", "CORE", "--out"]).arg(&config).output().expect("run");
    assert!(!again.status.success(), "init never overwrites a config");
    let (p2p, gossip, node_api, api) = (free_port(), free_port(), free_port(), free_port());
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("/ip4/0.0.0.0/tcp/27000", &format!("/ip4/127.0.0.1/tcp/{p2p}"))
        .replace("/ip4/0.0.0.0/tcp/27100", &format!("/ip4/127.0.0.1/tcp/{gossip}"))
        .replace("127.0.0.1:26658", &format!("127.0.0.1:{node_api}"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{api}"))
        .replace("keys/timer.pem", "core-org/key.pem");
    std::fs::write(&config, &text).expect("write config");

    // A config error names the key and the reason, and nothing starts.
    let bad = d.join("bad.toml");
    std::fs::write(&bad, text.replace("[api]\nlisten", "[api]\nlisten_on")).expect("write");
    let out = scf().args(["member", "--config"]).arg(&bad).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api.listen_on") || err.contains("listen_on"), "names the key: {err}");

    let log = std::fs::File::create(d.join("member.log")).expect("log");
    let mut member = Proc(
        scf()
            .args(["member", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn scf member"),
    );
    let url = format!("http://127.0.0.1:{api}");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while !rt.block_on(async { http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) })
    {
        let log = || std::fs::read_to_string(d.join("member.log")).unwrap_or_default();
        if let Ok(Some(status)) = member.0.try_wait() {
            panic!("scf member exited ({status}) before its API came up: {}", log());
        }
        assert!(t0.elapsed() < TIMEOUT, "member API did not come up: {}", log());
        std::thread::sleep(Duration::from_millis(200));
    }

    // The first admin, from the organisation's on-chain key; a foreign key is refused.
    let stranger = d.join("stranger");
    run(scf().args(["keygen", "--out"]).arg(&stranger));
    let refused = scf()
        .args(["admin", "bootstrap", "--username", "nobody", "--config"])
        .arg(&config)
        .arg("--key")
        .arg(stranger.join("key.pem"))
        .output()
        .expect("run");
    assert!(!refused.status.success(), "a key that is not the organisation's is refused");
    let printed = run(scf()
        .args(["admin", "bootstrap", "--username", "core-admin", "--config"])
        .arg(&config)
        .arg("--key")
        .arg(d.join("core-org/key.pem")));
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("password"))
        .map(|p| p.trim().to_string())
        .expect("one-time password printed");

    rt.block_on(async {
        let login =
            "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token user { mustChangePassword } } }";
        let r = gql(&http, &url, None, login, json!({ "u": "core-admin", "p": password })).await;
        let token = ok(&r)["login"]["token"].as_str().expect("token").to_string();
        assert_eq!(ok(&r)["login"]["user"]["mustChangePassword"], true);
        // Nothing but a password change until the one-time password is changed.
        let r = gql(&http, &url, Some(&token), "{ vouchers(first: 5) { nodes { id } } }", json!({})).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
        let change =
            "mutation($o:String!,$n:String!){ changePassword(oldPassword:$o,newPassword:$n){ mustChangePassword } }";
        let r = gql(&http, &url, Some(&token), change, json!({ "o": password, "n": "a long new secret" })).await;
        assert_eq!(ok(&r)["changePassword"]["mustChangePassword"], false);
        let r = gql(&http, &url, None, login, json!({ "u": "core-admin", "p": password })).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "the one-time password is gone");
        let r = gql(&http, &url, None, login, json!({ "u": "core-admin", "p": "a long new secret" })).await;
        let token = ok(&r)["login"]["token"].as_str().expect("token").to_string();

        // The admin creates a user and lists the organisation's users.
        let create = "mutation($i:CreateUserInput!){ createUser(input:$i){ username role } }";
        let r = gql(
            &http,
            &url,
            Some(&token),
            create,
            json!({ "i": { "username": "core-op", "password": "operator secret", "role": "OPERATOR" } }),
        )
        .await;
        assert_eq!(ok(&r)["createUser"]["username"], "core-op");
        let r = gql(&http, &url, Some(&token), "{ orgUsers { username role mustChangePassword } }", json!({})).await;
        let names: Vec<&str> =
            ok(&r)["orgUsers"].as_array().expect("users").iter().filter_map(|u| u["username"].as_str()).collect();
        assert_eq!(names, ["core-admin", "core-op"]);

        // The supplier's invoice (signed with the supplier's own key, through the node's client API),
        // then a voucher against it, issued by the admin in the API.
        let chain = scf_client::HttpChain::connect(&format!("http://127.0.0.1:{node_api}")).await.expect("node API");
        let signer = scf_client::Signer::new(supplier.clone());
        let today = scf_domain::date::Date::from_time_ms(scf_client::now_ms());
        let invoice = sample_invoice("26310000000000000001", &today.to_string());
        let r = signer.call(&chain, &InvoiceCall::Issue(invoice), TIMEOUT).await.expect("invoice committed");
        assert!(r.is_success(), "{r:?}");
        let issue = "mutation($i:IssueVoucherInput!){ issueVoucher(input:$i){ txId height } }";
        let due = today.add_days(90).to_string();
        let r = gql(
            &http,
            &url,
            Some(&token),
            issue,
            json!({ "i": {
            "voucherNo": "MV-1", "to": "SUP", "amount": 500_000, "currency": "CNY", "dueDate": due,
            "contractRef": "HT-M-1", "invoices": ["26310000000000000001"], "allowOverSixMonths": false
        } }),
        )
        .await;
        assert!(ok(&r)["issueVoucher"]["height"].as_i64().is_some_and(|h| h > 0), "{r}");
        let r = gql(&http, &url, Some(&token), "{ voucher(id: \"MV-1\") { holder amount status } }", json!({})).await;
        assert_eq!(ok(&r)["voucher"]["holder"], "SUP");
        assert_eq!(ok(&r)["voucher"]["status"], "PENDING");
    });
}

fn sample_invoice(number: &str, date: &str) -> scf_domain::invoice::NewInvoice {
    use scf_domain::invoice::{InvoiceLine, NewInvoice, Party};
    let amount = 1_000_000;
    let tax = amount * 13 / 100;
    NewInvoice {
        number: number.into(),
        issue_date: scf_domain::date::Date::parse(date).expect("date"),
        currency: "CNY".into(),
        seller: Party { name: "一级供应商".into(), tax_id: scf_domain::org::derived_credit_code("SUP") },
        buyer: Party { name: "核心企业".into(), tax_id: scf_domain::org::derived_credit_code("CORE") },
        buyer_org: Some("CORE".into()),
        lines: vec![InvoiceLine {
            item_name: "*汽车零部件*制动盘".into(),
            spec: "BD-320".into(),
            unit: "件".into(),
            quantity: Some("100".into()),
            unit_price: Some("100.00".into()),
            amount,
            tax_rate_bp: 1300,
            tax_amount: tax,
        }],
        total_amount: amount,
        total_tax: tax,
        total_with_tax: amount + tax,
        remarks: String::new(),
        issuer: "张三".into(),
        details: Default::default(),
    }
}
