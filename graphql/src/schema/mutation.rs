//! Mutations. Each business mutation becomes one transaction signed with the caller's custodial key;
//! the API checks what it can cheaply (signed in, not a viewer, the organisation role a call needs)
//! and the chain checks everything again. Clients with their own keys use `submitSignedTransaction`.

use async_graphql::{Context, InputObject, Object};
use scf_domain::invoice::{InvoiceCall, InvoiceLine as DLine, NewInvoice, Party as DParty};
use scf_domain::org::OrgCall;
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::SignedTx;

use super::access::{require_operator, require_org_role};
use super::input::*;
use super::types::*;
use super::{api, caller, require_user, Caller};
use crate::auth::{self, AuthUser, NewUser, UserRole};
use crate::db::entities::voucher;
use crate::error::{ApiError, ApiResult};
use crate::service::Api;
use sea_orm::EntityTrait;

/// Largest signed transaction accepted from a client (hex doubles it).
const MAX_SIGNED_TX_HEX: usize = 2 * scf_ledger::tx::MAX_TX_BYTES;

/// Which organisation may move a voucher, checked at the API against the read model before anything
/// is signed (the chain checks again against state).
enum Actor<'a> {
    Anyone,
    Holder(&'a str),
    HolderOrOffered(&'a str),
    Issuer(&'a str),
}

async fn require_actor(api: &Api, user: &AuthUser, actor: Actor<'_>) -> ApiResult<()> {
    let (id, allowed): (&str, fn(&voucher::Model, &str) -> bool) = match actor {
        Actor::Anyone => return Ok(()),
        Actor::Holder(id) => (id, |v, org| v.holder == org),
        Actor::HolderOrOffered(id) => (id, |v, org| v.holder == org || v.offered_to.as_deref() == Some(org)),
        Actor::Issuer(id) => (id, |v, org| v.issuer == org),
    };
    match voucher::Entity::find_by_id(id.to_string()).one(&api.db).await? {
        Some(v) if !allowed(&v, &user.org_id) => {
            Err(ApiError::forbidden(format!("organisation {} may not act on voucher {id}", user.org_id)))
        }
        // Unknown to the read model: the chain answers (NOT_FOUND, or the rule that applies).
        _ => Ok(()),
    }
}

async fn voucher_tx(
    ctx: &Context<'_>,
    role: Option<&str>,
    actor: Actor<'_>,
    call: &VoucherCall,
) -> async_graphql::Result<TxResult> {
    let api = api(ctx)?;
    let user = require_operator(ctx)?;
    if let Some(r) = role {
        require_org_role(api, user, r).await?;
    }
    require_actor(api, user, actor).await?;
    // Rates and financing figures travel sealed (crate::terms).
    let today = crate::terms::chain_today(api).await?;
    let call = {
        let state = api.chain.state(None).map_err(ApiError::from)?;
        crate::terms::seal_voucher_call(state.as_ref(), &user.org_id, &api.org_keys, today, call.clone())?
    };
    let receipt = api.submit(user, &call).await?;
    Ok(TxResult { receipt })
}

/// Seal the lines of `n` for every organisation entitled on chain and submit it as the caller's
/// organisation (the seller).
async fn issue_sealed(ctx: &Context<'_>, n: NewInvoice) -> async_graphql::Result<TxResult> {
    let api = api(ctx)?;
    let user = require_operator(ctx)?;
    let call = {
        let state = api.chain.state(None).map_err(ApiError::from)?;
        crate::sealing::sealed_issue(state.as_ref(), &user.org_id, n)?
    };
    Ok(TxResult { receipt: api.submit(user, &call).await? })
}

/// After a financing offer: give the funder a key to the sealed lines of the invoices backing the
/// voucher, re-wrapped with the holder's organisation key when this API holds it. Best effort: the
/// offer stands either way, and the holder can grant later with `submitSignedTransaction`.
pub(crate) async fn grant_funder(ctx: &Context<'_>, voucher_id: &str, funder: &str) {
    let (Ok(api), Ok(user)) = (api(ctx), require_operator(ctx)) else { return };
    let grants = match api.chain.state(None).map_err(ApiError::from).and_then(|state| {
        crate::sealing::funder_grants(state.as_ref(), voucher_id, &user.org_id, funder, &api.org_keys)
    }) {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(voucher_id, funder, error = %e.message(), "could not prepare invoice-lines grants");
            return;
        }
    };
    for g in grants {
        if let Err(e) = api.submit(user, &g).await {
            tracing::warn!(voucher_id, funder, error = %e.message(), "invoice-lines grant refused");
        }
    }
}

#[derive(InputObject)]
pub struct IssueVoucherInput {
    /// Becomes the root voucher id (A-Z 0-9 - _).
    pub voucher_no: String,
    /// Tier-1 supplier organisation id.
    pub to: String,
    pub amount: i64,
    #[graphql(default = "CNY")]
    pub currency: String,
    pub due_date: String,
    pub contract_ref: String,
    pub invoices: Vec<String>,
    #[graphql(default = false)]
    pub allow_over_six_months: bool,
}

#[derive(InputObject)]
pub struct SplitPartInput {
    pub to: String,
    pub amount: i64,
}

#[derive(InputObject)]
pub struct PartyInput {
    pub name: String,
    pub tax_id: String,
}

#[derive(InputObject)]
pub struct InvoiceLineInput {
    pub item_name: String,
    #[graphql(default)]
    pub spec: String,
    #[graphql(default)]
    pub unit: String,
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub amount: i64,
    pub tax_rate_bp: i32,
    pub tax_amount: i64,
}

#[derive(InputObject)]
pub struct IssueInvoiceInput {
    /// 20-digit 数电票 number.
    pub number: String,
    pub issue_date: String,
    #[graphql(default = "CNY")]
    pub currency: String,
    pub seller: PartyInput,
    pub buyer: PartyInput,
    pub buyer_org: Option<String>,
    pub lines: Vec<InvoiceLineInput>,
    pub total_amount: i64,
    pub total_tax: i64,
    pub total_with_tax: i64,
    #[graphql(default)]
    pub remarks: String,
    pub issuer: String,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    pub password: String,
    pub role: UserRole,
}

#[derive(Default)]
pub struct Mutation;

#[Object(name = "CoreMutation")]
impl Mutation {
    /// Sign in; returns a bearer token. One sign-in per request; failures are throttled per account and
    /// client address. A user with a one-time password must `changePassword` before anything else.
    async fn login(&self, ctx: &Context<'_>, username: String, password: String) -> async_graphql::Result<LoginResult> {
        let api = api(ctx)?;
        super::users::one_login_per_request(ctx)?;
        let addr = ctx.data_opt::<crate::ratelimit::ClientAddr>().and_then(|c| c.0);
        let (token, user) = auth::login(&api.db, &api.logins, addr, &username, &password).await?;
        let row = auth::user_row(&api.db, &user.id).await?;
        Ok(LoginResult { token, user: UserNode::from_row(row)? })
    }

    /// End the current session.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let api = api(ctx)?;
        super::signed_in(ctx)?;
        let token = ctx.data_opt::<Caller>().and_then(|c| c.token.clone()).ok_or(ApiError::Unauthenticated)?;
        Ok(auth::logout(&api.db, &api.sessions, &token).await?)
    }

    /// An organisation admin creates a user of their organisation. The user's new custodial key is
    /// registered on chain as an account of the organisation (`org.AddAccount`, signed by the admin).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> async_graphql::Result<UserNode> {
        let api = api(ctx)?;
        let me = require_user(ctx)?;
        if me.role != UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins create users").into());
        }
        let new =
            NewUser { org_id: me.org_id.clone(), username: input.username, password: input.password, role: input.role };
        auth::validate_new_user(&new)?;
        let key = KeyPair::generate().map_err(|e| ApiError::internal("keygen", e))?;
        let row = auth::insert_user(&api.db, api.node_key(), &new, &key).await?;
        let call = OrgCall::AddAccount {
            public_key: *key.public(),
            label: format!("user {}", row.username),
            admin: new.role == UserRole::Admin,
        };
        if let Err(e) = api.submit(me, &call).await {
            // Keep users and chain accounts in step: a user without an account could not sign.
            let _ = crate::db::entities::user::Entity::delete_by_id(row.id.clone()).exec(&api.db).await;
            return Err(e.into());
        }
        Ok(UserNode::from_row(row)?)
    }

    /// Submit a transaction the client signed itself (hex of its canonical encoding).
    async fn submit_signed_transaction(
        &self,
        ctx: &Context<'_>,
        signed_tx_hex: String,
    ) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        match caller(ctx) {
            Some(u) if u.role == UserRole::Viewer => {
                return Err(ApiError::forbidden("viewers cannot change anything").into());
            }
            Some(_) => {}
            // The signature is the authority, but an anonymous client spends its address's public budget.
            None => super::public_request(ctx)?,
        }
        if signed_tx_hex.len() > MAX_SIGNED_TX_HEX {
            return Err(ApiError::bad_input("signedTxHex", "larger than the transaction size limit").into());
        }
        let bytes = hex::decode(signed_tx_hex.trim())
            .map_err(|e| ApiError::bad_input("signedTxHex", format!("not hex: {e}")))?;
        let tx = SignedTx::from_bytes(&bytes).map_err(|e| ApiError::bad_input("signedTxHex", e.to_string()))?;
        // The chain admits only members' active accounts and checks that before the signature, which it
        // verifies once per node: a stranger's key costs no SM2 verification here or there.
        Ok(TxResult { receipt: api.submit_signed(tx).await? })
    }

    /// Core enterprise issues a voucher to a tier-1 supplier.
    async fn issue_voucher(&self, ctx: &Context<'_>, input: IssueVoucherInput) -> async_graphql::Result<TxResult> {
        let call = VoucherCall::Issue {
            voucher_no: input.voucher_no,
            to: input.to,
            amount: fen("input.amount", input.amount)?,
            currency: input.currency,
            due_date: date("input.dueDate", &input.due_date)?,
            contract_ref: input.contract_ref,
            invoices: input.invoices,
            allow_over_six_months: input.allow_over_six_months,
        };
        voucher_tx(ctx, Some("core_enterprise"), Actor::Anyone, &call).await
    }

    /// The receiver signs for (签收) a pending voucher.
    async fn sign_for_voucher(&self, ctx: &Context<'_>, voucher_id: String) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, None, Actor::Holder(&voucher_id), &VoucherCall::SignFor { voucher_id: voucher_id.clone() })
            .await
    }

    async fn reject_voucher(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        voucher_tx(
            ctx,
            None,
            Actor::Holder(&voucher_id),
            &VoucherCall::Reject { voucher_id: voucher_id.clone(), reason },
        )
        .await
    }

    /// The holder splits a voucher (拆分); parts must sum to its amount.
    async fn split_voucher(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        parts: Vec<SplitPartInput>,
    ) -> async_graphql::Result<TxResult> {
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| Ok(SplitPart { to: p.to, amount: fen(&format!("parts[{i}].amount"), p.amount)? }))
            .collect::<ApiResult<Vec<_>>>()?;
        voucher_tx(ctx, None, Actor::Holder(&voucher_id), &VoucherCall::Split { voucher_id: voucher_id.clone(), parts })
            .await
    }

    async fn transfer_voucher(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        to: String,
    ) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, None, Actor::Holder(&voucher_id), &VoucherCall::Transfer { voucher_id: voucher_id.clone(), to })
            .await
    }

    /// The holder offers the voucher to an approved funder at a discount (basis points a year).
    async fn offer_financing(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        funder: String,
        discount_rate_bp: i32,
        agreement_ref: String,
    ) -> async_graphql::Result<TxResult> {
        let discount_rate_bp = u32::try_from(discount_rate_bp)
            .map_err(|_| ApiError::bad_input("discountRateBp", "must not be negative"))?;
        let call = VoucherCall::OfferFinancing {
            voucher_id: voucher_id.clone(),
            funder: funder.clone(),
            discount_rate_bp,
            agreement_ref,
        };
        let result = voucher_tx(ctx, None, Actor::Holder(&voucher_id), &call).await?;
        grant_funder(ctx, &voucher_id, &funder).await;
        Ok(result)
    }

    async fn cancel_financing_offer(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        let call = VoucherCall::CancelFinancingOffer { voucher_id: voucher_id.clone(), reason };
        voucher_tx(ctx, None, Actor::HolderOrOffered(&voucher_id), &call).await
    }

    /// The offered funder accepts and becomes the holder.
    async fn accept_financing(&self, ctx: &Context<'_>, voucher_id: String) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, Some("funder"), Actor::Anyone, &VoucherCall::AcceptFinancing { voucher_id }).await
    }

    /// The obligor records payment of a root at or after its due date; clears the tree.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        root_id: String,
        payment_ref: String,
    ) -> async_graphql::Result<TxResult> {
        let call = VoucherCall::RecordPayment { root_id: root_id.clone(), payment_ref };
        voucher_tx(ctx, Some("core_enterprise"), Actor::Issuer(&root_id), &call).await
    }

    async fn mark_overdue(&self, ctx: &Context<'_>, root_id: String) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, None, Actor::Anyone, &VoucherCall::MarkOverdue { root_id }).await
    }

    async fn freeze_voucher(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, Some("regulator"), Actor::Anyone, &VoucherCall::Freeze { voucher_id, reason }).await
    }

    async fn unfreeze_voucher(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        voucher_tx(ctx, Some("regulator"), Actor::Anyone, &VoucherCall::Unfreeze { voucher_id, reason }).await
    }

    /// The seller issues an e-invoice; totals must equal the sum of lines. The API checks the whole
    /// invoice, then seals the lines (SM4-GCM, the data key SM2-wrapped for the seller, the buyer, every
    /// regulator and tax authority): only the header goes on chain in clear.
    async fn issue_invoice(&self, ctx: &Context<'_>, input: IssueInvoiceInput) -> async_graphql::Result<TxResult> {
        require_operator(ctx)?;
        let lines = input
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                Ok(DLine {
                    item_name: l.item_name,
                    spec: l.spec,
                    unit: l.unit,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    amount: non_negative(&format!("input.lines[{i}].amount"), l.amount)?,
                    tax_rate_bp: u32::try_from(l.tax_rate_bp).map_err(|_| {
                        ApiError::bad_input(format!("input.lines[{i}].taxRateBp"), "must not be negative")
                    })?,
                    tax_amount: non_negative(&format!("input.lines[{i}].taxAmount"), l.tax_amount)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let n = NewInvoice {
            number: input.number,
            issue_date: date("input.issueDate", &input.issue_date)?,
            currency: input.currency,
            seller: DParty { name: input.seller.name, tax_id: input.seller.tax_id },
            buyer: DParty { name: input.buyer.name, tax_id: input.buyer.tax_id },
            buyer_org: input.buyer_org,
            lines,
            total_amount: non_negative("input.totalAmount", input.total_amount)?,
            total_tax: non_negative("input.totalTax", input.total_tax)?,
            total_with_tax: non_negative("input.totalWithTax", input.total_with_tax)?,
            remarks: input.remarks,
            issuer: input.issuer,
            details: Default::default(),
        };
        issue_sealed(ctx, n).await
    }

    /// The seller issues an e-invoice from a UBL 2.1 / EN 16931 document. The API parses the document
    /// (the chain's own parser), keeps the header and the parties' EN 16931 details in clear and seals
    /// the lines like `issueInvoice`; the XML itself never goes on chain.
    async fn issue_invoice_ubl(
        &self,
        ctx: &Context<'_>,
        xml: String,
        buyer_org: Option<String>,
    ) -> async_graphql::Result<TxResult> {
        require_operator(ctx)?;
        let mut n = scf_domain::ubl::from_ubl_xml(&xml)
            .map_err(|e| ApiError::from_rule(scf_domain::kv::Rule::code(&e), &format!("xml: {e}")))?;
        n.buyer_org = buyer_org;
        issue_sealed(ctx, n).await
    }

    /// The buyer books (入账) the invoice, once.
    async fn book_invoice(
        &self,
        ctx: &Context<'_>,
        number: String,
        booking_ref: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, InvoiceCall::Book { number, booking_ref }).await
    }

    /// The seller reverses (红冲) part or all of the invoice.
    async fn reverse_invoice(
        &self,
        ctx: &Context<'_>,
        number: String,
        red_number: String,
        amount_with_tax: i64,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        let amount_with_tax = fen("amountWithTax", amount_with_tax)?;
        super::submit(ctx, None, InvoiceCall::Reverse { number, red_number, amount_with_tax, reason }).await
    }
}
