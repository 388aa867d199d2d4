//! `scf bench api --json`: the GraphQL API under concurrent clients, against the real stack — a
//! validator node seeded with the demo consortium, the API over HTTP on loopback and its read model on
//! SQLite or PostgreSQL — with the machine's SM2-verify ceilings measured in the same run.
//!
//! Two mixes:
//! - `lot-page`: the public provenance query (`lotPage` with every step's proof bundle), rate limiting
//!   off (all clients share one address);
//! - `signed-in`: the members' daily work. Each client signs in as one persona — a supplier listing its
//!   vouchers and opening one with its lineage, a funder opening its inbox (open steps, financing
//!   applications), or a member using the block explorer (latest blocks, one block with its
//!   transactions) — and every `--mutation-every`-th request of every client is a supplier passing a
//!   voucher on (`transferVoucher`, answered once the transaction is committed and indexed). Reads and
//!   mutations are timed apart. Set-up (untimed): each supplier gets a fresh voucher backed by a new
//!   e-invoice and cuts it into the leaves the mutations move, through the chain with the
//!   organisations' demo keys, and the read model catches up before the clock starts.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use scf_domain::invoice::InvoiceCall;
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_ledger::crypto::KeyPair;
use scf_ledger::receipt::TxOutcome;
use scf_ledger::tx::{Call, TxBody};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::seed;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mix {
    /// The public lot page with its proofs.
    LotPage,
    /// Signed-in suppliers, funders and explorer users, with a mutation every `--mutation-every` requests.
    SignedIn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadModelDb {
    Sqlite,
    /// A PostgreSQL server of its own (Debian's `initdb`/`pg_ctl`, a temporary directory, a free port),
    /// or the one `--pg-url` names.
    Postgres,
}

#[derive(Clone, Debug, clap::Args)]
pub struct BenchApiArgs {
    /// Concurrent clients, each sending its requests one after another.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Requests in total (spread over the clients).
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    #[arg(long, value_enum, default_value_t = Mix::LotPage)]
    pub mix: Mix,
    /// Where the API keeps its read model.
    #[arg(long, value_enum, default_value_t = ReadModelDb::Sqlite)]
    pub db: ReadModelDb,
    /// An existing PostgreSQL server for `--db postgres` (`postgres://user@host:port`); the benchmark
    /// creates a database of its own there.
    #[arg(long)]
    pub pg_url: Option<String>,
    /// In the signed-in mix, every this-many-th request of a client is a mutation.
    #[arg(long, default_value_t = 20)]
    pub mutation_every: usize,
    /// Seeds directory (the consortium and its lot).
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ApiBenchResult {
    pub mix: Mix,
    pub db: ReadModelDb,
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_s: f64,
    /// Every request.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub reads: usize,
    pub reads_p50_ms: f64,
    pub reads_p99_ms: f64,
    /// Mutations (signed-in mix): from the request to the answer, which comes once the transaction is
    /// committed and the read model has indexed its block.
    pub mutations: usize,
    pub mutation_p50_ms: f64,
    pub mutation_p99_ms: f64,
    /// Event steps (each with a proof bundle) in one lot page (lot-page mix).
    pub steps_per_answer: usize,
    /// RustCrypto `sm2` on all cores (the fixed reference).
    pub sm2_verify_ceiling_per_s: f64,
    /// The chain's verifier on all cores, keys warm.
    pub sm2_fast_ceiling_per_s: f64,
}

const GTIN: &str = "06901234000337";
const LOT: &str = "Y260302";
const QUERY: &str = "query($g:String!,$l:String!){ lotPage(gtin:$g, lot:$l){ product{ gtin name } lot{ number } \
    steps{ id bizStep eventTime eventHash recordedBy{ orgName } proof{ eventHash receiptHex headerHex \
    receiptProof{ index count steps{ sibling siblingOnLeft } } txProof{ index count steps{ sibling siblingOnLeft } } \
    certificate{ height round blockHash signatures{ validator signature } } validators{ name publicKey power } } } \
    sensors{ deviceId } certificates{ id } } }";

const LIST_VOUCHERS: &str = "query($h:String!){ vouchers(filter:{holder:$h}, first:20){ nodes{ id amount status \
    dueDate holder } pageInfo{ hasNextPage endCursor } } }";
const OPEN_VOUCHER: &str = "query($id:String!){ voucher(id:$id){ id rootId parentId depth issuer holder amount \
    currency dueDate status invoices overdue frozen lineage{ id parentId holder amount status } } }";
const INBOX: &str = "query{ myTasks{ instanceId process state subject party actions deadlineMs overdue canAct amount \
    currency } }";
const APPLICATIONS: &str = "query{ financingApplications{ id voucherId supplier funder amount currency dueDate \
    state deadlineMs createdMs } }";
const BLOCKS: &str = "query{ blocks(first:10){ nodes{ height hash timeMs proposer txCount } } }";
const BLOCK: &str = "query($h:Int!){ block(height:$h){ height hash parentHash stateRoot timeMs txCount \
    certificate{ height round signatures{ validator } } transactions{ id sender module outcome } } }";
const TRANSFER: &str = "mutation($id:String!,$to:String!){ transferVoucher(voucherId:$id, to:$to){ txId height } }";

/// The suppliers and the user each mutates and reads as.
const SUPPLIERS: [(&str, &str); 3] = [("HLBRAKE", "chen.jie"), ("JDCAST", "zhao.lei"), ("HGSTEEL", "zhou.min")];
const FUNDERS: [(&str, &str); 5] = [
    ("ICBC-SH", "wu.hao"),
    ("ICBC-SH", "xu.jing"),
    ("CMB-SZ", "huang.bo"),
    ("CMB-SZ", "he.yu"),
    ("HSFACTOR", "ma.lin"),
];
const EXPLORERS: [(&str, &str); 2] = [("PBOC-SH", "inspector"), ("HSAUTO", "audit")];
const CORE: &str = "HSAUTO";

pub fn run(args: &BenchApiArgs, seeds: &Path) -> anyhow::Result<ApiBenchResult> {
    if args.clients == 0 || args.requests < args.clients {
        bail!("--clients must be at least 1 and --requests at least --clients");
    }
    if args.mutation_every == 0 {
        bail!("--mutation-every must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("scf-bench-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let result = run_in(args, seeds, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(args: &BenchApiArgs, seeds: &Path, dir: &Path) -> anyhow::Result<ApiBenchResult> {
    let keys = dir.join("keys");
    scf_node::keys::generate(&keys, "bench-validator", true).map_err(|e| anyhow!("keys: {e}"))?;
    let validator =
        scf_node::keys::read_consensus_key(&keys.join("consensus.pem")).map_err(|e| anyhow!("keys: {e}"))?;
    let plan = seed::load(seeds, validator.public()).map_err(|e| anyhow!("seeds: {e}"))?;
    let genesis = dir.join("genesis.json");
    std::fs::write(&genesis, serde_json::to_string(&plan.genesis)?).context("genesis")?;
    let home = dir.join("chain");
    crate::demo::prehistory::seed_chain(&home, &plan, &validator)?;

    // The ceilings: SM2 verifications per second on all cores, of transactions signed beforehand.
    let signer = KeyPair::from_seed("bench/api/ceiling");
    let txs: Vec<_> = (0..2000u64)
        .map(|nonce| {
            TxBody {
                chain_id: plan.genesis.chain_id.clone(),
                sender: *signer.public(),
                nonce,
                expiry_height: 100,
                call: Call { module: "org".into(), payload: vec![0; 64] },
            }
            .sign(&signer)
        })
        .collect();
    let ceiling = crate::bench_chain::sm2_verify_ceiling(&txs);
    let fast_ceiling = crate::bench_chain::sm2_fast_ceiling(&txs);

    let pg = match (args.db, &args.pg_url) {
        (ReadModelDb::Postgres, None) => Some(Postgres::start(dir)?),
        _ => None,
    };
    let db_url = match (args.db, &args.pg_url, &pg) {
        (ReadModelDb::Sqlite, _, _) => format!("sqlite://{}?mode=rwc", dir.join("read-model.sqlite").display()),
        (ReadModelDb::Postgres, Some(url), _) => format!("{}/postgres", url.trim_end_matches('/')),
        (ReadModelDb::Postgres, None, Some(pg)) => pg.url(),
        (ReadModelDb::Postgres, None, None) => bail!("PostgreSQL did not start"),
    };
    let node_key = [7u8; 16];

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    let result = rt.block_on(async move {
        let node = scf_node::NodeHandle::start(crate::demo::node_config(dir, &home, &genesis), scf_domain::modules())
            .await
            .map_err(|e| anyhow!("node: {e}"))?;
        let chain: Arc<dyn scf_client::Chain> = node.chain().clone();
        if args.mix == Mix::SignedIn {
            crate::demo::seed_users(&db_url, &node_key, &plan).await?;
        }
        let mut cfg = scf_graphql::Config::new(([127, 0, 0, 1], 0).into(), db_url, node_key);
        cfg.limits.public_requests_per_minute = 0;
        let server = scf_graphql::start(cfg, chain.clone()).await.map_err(|e| anyhow!("API: {e}"))?;
        let api = Client::new(format!("http://{}/graphql", server.addr), args.clients)?;
        let measured = match args.mix {
            Mix::LotPage => lot_page(&api, args).await,
            Mix::SignedIn => signed_in(&api, chain.as_ref(), &plan, args).await,
        };
        server.abort();
        node.shutdown().await;
        measured
    });
    drop(pg);
    let m = result?;
    let all: Vec<Duration> = {
        let mut v = [m.reads.clone(), m.mutations.clone()].concat();
        v.sort();
        v
    };
    let (mut reads, mut mutations) = (m.reads, m.mutations);
    reads.sort();
    mutations.sort();
    Ok(ApiBenchResult {
        mix: args.mix,
        db: args.db,
        clients: args.clients,
        requests: all.len(),
        errors: m.errors,
        requests_per_s: all.len() as f64 / m.elapsed.as_secs_f64().max(1e-9),
        p50_ms: percentile_ms(&all, 0.50),
        p99_ms: percentile_ms(&all, 0.99),
        reads: reads.len(),
        reads_p50_ms: percentile_ms(&reads, 0.50),
        reads_p99_ms: percentile_ms(&reads, 0.99),
        mutations: mutations.len(),
        mutation_p50_ms: percentile_ms(&mutations, 0.50),
        mutation_p99_ms: percentile_ms(&mutations, 0.99),
        steps_per_answer: m.steps,
        sm2_verify_ceiling_per_s: ceiling,
        sm2_fast_ceiling_per_s: fast_ceiling,
    })
}

/// The `p` quantile of sorted durations, in milliseconds (0 for none).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// What the timed phase saw.
struct Measured {
    reads: Vec<Duration>,
    mutations: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    steps: usize,
}

/// A GraphQL client over one connection pool.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(url: String, clients: usize) -> anyhow::Result<Client> {
        Ok(Client { http: reqwest::Client::builder().pool_max_idle_per_host(clients).build()?, url })
    }

    /// The answer's `data`, or an error carrying the answer's `errors`.
    async fn query(
        &self,
        token: Option<&str>,
        query: &str,
        variables: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        if !status.is_success() || body.get("errors").is_some_and(|e| !e.is_null()) {
            bail!("HTTP {status}: {body}");
        }
        Ok(body["data"].clone())
    }

    async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let data = self
            .query(
                None,
                "mutation($u:String!,$p:String!){ login(username:$u, password:$p){ token } }",
                serde_json::json!({ "u": username, "p": password }),
            )
            .await
            .with_context(|| format!("login {username}"))?;
        data["login"]["token"].as_str().map(str::to_string).ok_or_else(|| anyhow!("login {username}: no token"))
    }
}

async fn lot_page(api: &Client, args: &BenchApiArgs) -> anyhow::Result<Measured> {
    let vars = serde_json::json!({ "g": GTIN, "l": LOT });
    // One answer to check the query works and to count its steps (also warms the caches).
    let first = api.query(None, QUERY, vars.clone()).await?;
    let steps = first["lotPage"]["steps"].as_array().map(Vec::len).unwrap_or(0);
    if steps == 0 {
        bail!("lotPage answered without steps: {first}");
    }
    let per_client = args.requests / args.clients;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (api, vars) = (api.clone(), vars.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            let mut errors = 0usize;
            for _ in 0..per_client {
                let t = Instant::now();
                let ok = api.query(None, QUERY, vars.clone()).await.is_ok();
                lat.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (lat, errors)
        }));
    }
    let mut reads = Vec::with_capacity(per_client * args.clients);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        reads.extend(lat);
        errors += e;
    }
    Ok(Measured { reads, mutations: Vec::new(), errors, elapsed: start.elapsed(), steps })
}

/// Who a signed-in client is.
#[derive(Clone, Copy)]
enum Persona {
    Supplier(usize),
    Funder(usize),
    Explorer(usize),
}

/// Leaves each supplier holds for the mutations, shared by the clients mutating as that supplier.
type Leaves = Arc<Vec<Mutex<VecDeque<String>>>>;

async fn signed_in(
    api: &Client,
    chain: &dyn scf_client::Chain,
    plan: &seed::SeedPlan,
    args: &BenchApiArgs,
) -> anyhow::Result<Measured> {
    let per_client = args.requests / args.clients;
    // Client c's mutations are its requests i with (i + c) % every == 0, spread over the run, made as
    // supplier (c / 3) % 3; each moves a leaf of its own.
    let mut per_supplier = [0usize; SUPPLIERS.len()];
    for c in 0..args.clients {
        per_supplier[(c / 3) % SUPPLIERS.len()] +=
            (0..per_client).filter(|i| (i + c) % args.mutation_every == 0).count();
    }
    let leaves =
        setup_leaves(chain, plan, per_supplier.iter().copied().max().unwrap_or(0).max(1)).await.context("set-up")?;
    wait_indexed(api, chain).await?;

    let password = plan.consortium.demo_password.clone();
    let mut tokens = std::collections::HashMap::new();
    for (_, user) in SUPPLIERS.iter().chain(&FUNDERS).chain(&EXPLORERS) {
        tokens.insert(*user, api.login(user, &password).await?);
    }
    let tip = chain.tip().await?.map(|t| t.height).unwrap_or(1).max(1);
    let tokens = Arc::new(tokens);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let persona = match c % 3 {
            0 => Persona::Supplier((c / 3) % SUPPLIERS.len()),
            1 => Persona::Funder((c / 3) % FUNDERS.len()),
            _ => Persona::Explorer((c / 3) % EXPLORERS.len()),
        };
        // The supplier this client mutates as.
        let mutator = (c / 3) % SUPPLIERS.len();
        let (api, tokens, leaves, every) = (api.clone(), tokens.clone(), leaves.clone(), args.mutation_every);
        tasks.push(tokio::spawn(async move {
            let mut reads = Vec::with_capacity(per_client);
            let mut mutations = Vec::new();
            let mut errors = 0usize;
            let mut opened: Option<String> = None;
            for i in 0..per_client {
                let t = Instant::now();
                if (i + c) % every == 0 {
                    let (org, user) = SUPPLIERS[mutator];
                    let to = SUPPLIERS[(mutator + 1) % SUPPLIERS.len()].0;
                    let leaf = leaves[mutator].lock().await.pop_front();
                    let ok = match leaf {
                        Some(id) => {
                            let token = tokens.get(user).map(String::as_str);
                            let vars = serde_json::json!({ "id": id, "to": to });
                            api.query(token, TRANSFER, vars).await.map_err(|e| eprintln!("{org} transfer {id}: {e}"))
                        }
                        None => {
                            eprintln!("{org}: no leaf left to transfer");
                            Err(())
                        }
                    };
                    mutations.push(t.elapsed());
                    errors += usize::from(ok.is_err());
                    continue;
                }
                let ok = read(&api, &tokens, persona, i, tip, &mut opened).await;
                reads.push(t.elapsed());
                errors += usize::from(ok.is_err());
            }
            (reads, mutations, errors)
        }));
    }
    let mut m = Measured { reads: Vec::new(), mutations: Vec::new(), errors: 0, elapsed: Duration::ZERO, steps: 0 };
    for t in tasks {
        let (r, mu, e) = t.await?;
        m.reads.extend(r);
        m.mutations.extend(mu);
        m.errors += e;
    }
    m.elapsed = start.elapsed();
    Ok(m)
}

/// One read of `persona`'s `i`-th request.
async fn read(
    api: &Client,
    tokens: &std::collections::HashMap<&str, String>,
    persona: Persona,
    i: usize,
    tip: u64,
    opened: &mut Option<String>,
) -> anyhow::Result<()> {
    match persona {
        Persona::Supplier(s) => {
            let (org, user) = SUPPLIERS[s];
            let token = tokens.get(user).map(String::as_str);
            match opened.take() {
                // Open one voucher of the last listing, with its lineage.
                Some(id) => {
                    api.query(token, OPEN_VOUCHER, serde_json::json!({ "id": id })).await?;
                }
                None => {
                    let data = api.query(token, LIST_VOUCHERS, serde_json::json!({ "h": org })).await?;
                    let nodes = data["vouchers"]["nodes"].as_array().cloned().unwrap_or_default();
                    if !nodes.is_empty() {
                        *opened = nodes[i % nodes.len()]["id"].as_str().map(str::to_string);
                    }
                }
            }
        }
        Persona::Funder(f) => {
            let token = tokens.get(FUNDERS[f].1).map(String::as_str);
            let q = if i.is_multiple_of(2) { INBOX } else { APPLICATIONS };
            api.query(token, q, serde_json::json!({})).await?;
        }
        Persona::Explorer(x) => {
            let token = tokens.get(EXPLORERS[x].1).map(String::as_str);
            if i.is_multiple_of(2) {
                api.query(token, BLOCKS, serde_json::json!({})).await?;
            } else {
                let h = 1 + (i as u64 * 7919) % tip;
                api.query(token, BLOCK, serde_json::json!({ "h": h })).await?;
            }
        }
    }
    Ok(())
}

/// Gives each supplier at least `per_supplier` active leaves of a fresh voucher (the story's vouchers
/// have matured by now): a new e-invoice to the core enterprise, a voucher issued on it, signed for,
/// cut into 50 parts the supplier keeps and those again into 50 as needed. Signed with the
/// organisations' demo keys.
async fn setup_leaves(
    chain: &dyn scf_client::Chain,
    plan: &seed::SeedPlan,
    per_supplier: usize,
) -> anyhow::Result<Leaves> {
    const PARTS: usize = scf_domain::voucher::MAX_PARTS;
    const ROOT: u64 = 25_000_000;
    let k = per_supplier.saturating_sub(PARTS).div_ceil(PARTS - 1);
    if 1 + PARTS + PARTS * k > scf_domain::voucher::MAX_TREE || k > PARTS {
        bail!("{per_supplier} mutations per supplier do not fit one voucher tree; lower --requests");
    }
    let tip = chain.tip().await?.ok_or_else(|| anyhow!("no genesis"))?;
    let today = scf_domain::date::Date::from_time_ms(tip.time_ms.max(scf_client::now_ms()));
    let core = scf_client::Signer::new(seed::org_key(CORE));
    let signers: Vec<scf_client::Signer> =
        SUPPLIERS.iter().map(|(org, _)| scf_client::Signer::new(seed::org_key(org))).collect();
    let party = |id: &str| -> anyhow::Result<scf_domain::invoice::Party> {
        let org = plan.consortium.org.iter().find(|o| o.id == id).ok_or_else(|| anyhow!("seeds: no org {id}"))?;
        Ok(scf_domain::invoice::Party { name: org.name.clone(), tax_id: org.credit_code.clone() })
    };
    let stamp = today.to_string().replace('-', "");
    let number = |s: usize| format!("46{stamp}{:010}", s);
    let root = |s: usize| format!("BENCH-API-{stamp}-{s}");
    let wait = Duration::from_secs(60);
    // Invoices.
    let mut ids = Vec::new();
    for (s, (org, _)) in SUPPLIERS.iter().enumerate() {
        let mut inv = crate::bench_chain::bench_invoice(number(s), org, today.add_days(-1));
        inv.seller = party(org)?;
        inv.buyer = party(CORE)?;
        inv.buyer_org = Some(CORE.into());
        ids.push(signers[s].submit(chain, &InvoiceCall::Issue(inv)).await?);
    }
    await_all(chain, &ids, wait).await?;
    // Vouchers.
    let mut ids = Vec::new();
    for (s, (org, _)) in SUPPLIERS.iter().enumerate() {
        let call = VoucherCall::Issue {
            voucher_no: root(s),
            to: org.to_string(),
            amount: ROOT,
            currency: "CNY".into(),
            due_date: today.add_days(90),
            contract_ref: "HT-BENCH-API".into(),
            invoices: vec![number(s)],
            allow_over_six_months: false,
        };
        ids.push(core.submit(chain, &call).await?);
    }
    await_all(chain, &ids, wait).await?;
    // Signed for and cut.
    let mut ids = Vec::new();
    let mut leaves = Vec::new();
    for (s, (org, _)) in SUPPLIERS.iter().enumerate() {
        let own = |amount: u64| (0..PARTS).map(|_| SplitPart { to: org.to_string(), amount }).collect::<Vec<_>>();
        ids.push(signers[s].submit(chain, &VoucherCall::SignFor { voucher_id: root(s) }).await?);
        ids.push(signers[s].submit(chain, &VoucherCall::Split { voucher_id: root(s), parts: own(ROOT / 50) }).await?);
        for c in 1..=k {
            let voucher_id = format!("{}.{c}", root(s));
            ids.push(signers[s].submit(chain, &VoucherCall::Split { voucher_id, parts: own(ROOT / 2500) }).await?);
        }
        let mut mine: VecDeque<String> = (k + 1..=PARTS).map(|c| format!("{}.{c}", root(s))).collect();
        for c in 1..=k {
            mine.extend((1..=PARTS).map(|m| format!("{}.{c}.{m}", root(s))));
        }
        leaves.push(Mutex::new(mine));
    }
    await_all(chain, &ids, wait).await?;
    Ok(Arc::new(leaves))
}

/// Waits for each transaction's receipt; a refusal is an error naming it.
async fn await_all(
    chain: &dyn scf_client::Chain,
    ids: &[scf_ledger::crypto::Hash32],
    wait: Duration,
) -> anyhow::Result<()> {
    for id in ids {
        let receipt = chain.wait(id, wait).await?;
        if let TxOutcome::Failed { code, message } = receipt.outcome {
            bail!("set-up transaction {id} ({}) failed: {code}: {message}", receipt.module);
        }
    }
    Ok(())
}

/// Polls the API until its read model has indexed the chain's tip.
async fn wait_indexed(api: &Client, chain: &dyn scf_client::Chain) -> anyhow::Result<()> {
    let target = chain.tip().await?.map(|t| t.height).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let data = api.query(None, "query{ chainStatus{ indexedHeight } }", serde_json::json!({})).await?;
        if data["chainStatus"]["indexedHeight"].as_u64().is_some_and(|h| h >= target) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the read model did not reach height {target} in 120 s: {data}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A throw-away PostgreSQL server: `initdb` and `pg_ctl` from Debian's packages, data in a temporary
/// directory, listening on a free loopback port (run as the `postgres` user when we are root, since
/// postgres refuses to run as root). Stopped when dropped. Settings are the defaults (fsync on).
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Postgres {
    fn start(dir: &Path) -> anyhow::Result<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("/usr/lib/postgresql (Debian's postgresql package)")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
            .max()
            .ok_or_else(|| anyhow!("no /usr/lib/postgresql/*/bin/initdb; install postgresql or pass --pg-url"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let root = dir.join("pg");
        std::fs::create_dir_all(&root)?;
        if is_root() {
            run_cmd(Command::new("chown").arg("-R").arg("postgres:postgres").arg(&root))?;
        }
        let data = root.join("data");
        let pg = Postgres { bin, data, port };
        pg.tool("initdb", &["-D", &pg.data.to_string_lossy(), "-A", "trust", "-U", "postgres", "-E", "UTF8"])?;
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300", root.display());
        let log = root.join("log").to_string_lossy().to_string();
        pg.tool("pg_ctl", &["-D", &pg.data.to_string_lossy(), "-o", &opts, "-l", &log, "-w", "-t", "60", "start"])?;
        Ok(pg)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn tool(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(name);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.arg("-u").arg("postgres").arg("--").arg(&path);
            c
        } else {
            Command::new(&path)
        };
        run_cmd(cmd.args(args))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.tool("pg_ctl", &["-D", &self.data.to_string_lossy(), "-m", "fast", "-w", "stop"]);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn run_cmd(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}
