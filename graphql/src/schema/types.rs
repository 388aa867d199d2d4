//! Output types. Amounts are fen (分) as `Int` (64-bit; exact in JSON up to 2^53 fen).

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{access, api, require_user};
use crate::auth::UserRole;
use crate::db::entities::{block, event, invoice, organisation, transaction, user, voucher};
use crate::error::{ApiError, ApiResult};
use crate::indexer::{BlockNotice, EventNotice};

#[derive(SimpleObject, Clone)]
#[graphql(name = "Organisation")]
pub struct OrganisationNode {
    pub id: String,
    pub name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    pub roles: Vec<String>,
    pub public_key: String,
    /// `active` or `frozen`.
    pub status: String,
    pub approved_funder: bool,
}

impl From<organisation::Model> for OrganisationNode {
    fn from(m: organisation::Model) -> Self {
        OrganisationNode {
            roles: serde_json::from_str(&m.roles).unwrap_or_default(),
            id: m.id,
            name: m.name,
            credit_code: m.credit_code,
            public_key: m.public_key,
            status: m.status,
            approved_funder: m.approved_funder,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "User")]
pub struct UserNode {
    pub id: String,
    pub username: String,
    pub org_id: String,
    pub role: UserRole,
    /// The user's signing account on chain (custodial key).
    pub address: String,
    pub public_key: String,
    /// Signed in with a one-time password that must be changed before anything else.
    pub must_change_password: bool,
    /// Disabled by an admin: no sign-in, no sessions, the on-chain account removed.
    pub disabled: bool,
}

impl UserNode {
    pub fn from_row(u: user::Model) -> ApiResult<Self> {
        Ok(UserNode {
            role: UserRole::parse(&u.role).ok_or_else(|| ApiError::internal("user role", &u.role))?,
            id: u.id,
            username: u.username,
            org_id: u.org_id,
            address: u.address,
            public_key: u.public_key,
            must_change_password: u.must_change_password,
            disabled: u.disabled_ms.is_some(),
        })
    }
}

/// A voucher's status.
// `remote`: the compiler checks this list against the domain's `VoucherState`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "scf_domain::voucher::VoucherState")]
pub enum VoucherStatus {
    Pending,
    Active,
    Rejected,
    Split,
    Settled,
}

impl VoucherStatus {
    /// The name the read model stores.
    pub fn as_str(self) -> &'static str {
        scf_domain::voucher::VoucherState::from(self).name()
    }
    /// A stored name; one this build does not know is an error, never a default.
    fn parse(s: &str) -> ApiResult<VoucherStatus> {
        s.parse::<scf_domain::voucher::VoucherState>()
            .map(VoucherStatus::from)
            .map_err(|_| ApiError::internal("read model", format!("unknown voucher status {s:?}")))
    }
}

/// A receivable voucher (应收账款电子凭证) as of the last indexed block.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Voucher", complex)]
pub struct VoucherNode {
    pub id: String,
    pub root_id: String,
    pub parent_id: Option<String>,
    /// Tier depth: 0 for the root.
    pub depth: i32,
    pub issuer: String,
    pub holder: String,
    pub pending_from: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub issue_date: String,
    pub due_date: String,
    pub status: VoucherStatus,
    pub contract_ref: String,
    pub invoices: Vec<String>,
    pub offered_to: Option<String>,
    pub financed_by: Option<String>,
    pub frozen: bool,
    pub updated_height: i64,
}

impl TryFrom<voucher::Model> for VoucherNode {
    type Error = ApiError;
    fn try_from(m: voucher::Model) -> ApiResult<Self> {
        Ok(VoucherNode {
            status: VoucherStatus::parse(&m.status)?,
            invoices: serde_json::from_str(&m.invoices).unwrap_or_default(),
            id: m.id,
            root_id: m.root_id,
            parent_id: m.parent_id,
            depth: m.depth,
            issuer: m.issuer,
            holder: m.holder,
            pending_from: m.pending_from,
            amount: m.amount,
            currency: m.currency,
            issue_date: m.issue_date,
            due_date: m.due_date,
            contract_ref: m.contract_ref,
            offered_to: m.offered_to,
            financed_by: m.financed_by,
            frozen: m.frozen,
            updated_height: m.updated_height,
        })
    }
}

#[ComplexObject]
impl VoucherNode {
    /// Past its tree's due date and unpaid, by the business date of the latest block (the same rule the
    /// chain applies before an escalation). Status stays `ACTIVE`/`SPLIT`: overdue is a condition of the
    /// tree, not a state of the voucher.
    async fn overdue(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let api = api(ctx)?;
        let Some(tip) = api.chain.tip().await.map_err(ApiError::from)? else { return Ok(false) };
        let state = api.chain.state(Some(tip.height)).map_err(ApiError::from)?;
        let today = scf_domain::date::Date::from_time_ms(tip.time_ms);
        Ok(scf_domain::voucher::is_overdue(state.as_ref(), &self.root_id, today).map_err(ApiError::from)?)
    }

    /// The voucher's lineage tree as far as the caller may see it, ordered by id: the first `first`
    /// (default 100, at most 1,000) after the voucher id `after`. A tree holds at most 2,000 vouchers.
    #[graphql(complexity = "crate::schema::input::nested_list_cost(first, child_complexity)")]
    async fn lineage(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Vec<VoucherNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = super::input::nested_page_size(first)?;
        let mut q = voucher::Entity::find().filter(voucher::Column::RootId.eq(self.root_id.clone()));
        if let Some(scope) = access::voucher_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(a) = after {
            q = q.filter(voucher::Column::Id.gt(a));
        }
        let rows = q.order_by_asc(voucher::Column::Id).limit(n).all(&api.db).await.map_err(ApiError::from)?;
        Ok(rows.into_iter().map(VoucherNode::try_from).collect::<ApiResult<Vec<_>>>()?)
    }
}

#[derive(SimpleObject, Clone)]
pub struct Party {
    pub name: String,
    pub tax_id: String,
}

#[derive(SimpleObject, Clone)]
pub struct InvoiceLine {
    pub item_name: String,
    pub spec: String,
    pub unit: String,
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub amount: i64,
    pub tax_rate_bp: i32,
    pub tax_amount: i64,
}

/// An e-invoice (数电票) header; lines are confidential and read from chain state on request.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Invoice", complex)]
pub struct InvoiceNode {
    pub number: String,
    pub issue_date: String,
    pub currency: String,
    pub seller: Party,
    pub buyer: Party,
    pub seller_org: String,
    pub buyer_org: Option<String>,
    pub total_amount: i64,
    pub total_tax: i64,
    pub total_with_tax: i64,
    pub reversed: i64,
    pub financed: i64,
    pub booked: bool,
    pub line_count: i32,
}

impl From<invoice::Model> for InvoiceNode {
    fn from(m: invoice::Model) -> Self {
        InvoiceNode {
            seller: Party { name: m.seller_name, tax_id: m.seller_tax_id },
            buyer: Party { name: m.buyer_name, tax_id: m.buyer_tax_id },
            number: m.number,
            issue_date: m.issue_date,
            currency: m.currency,
            seller_org: m.seller_org,
            buyer_org: m.buyer_org,
            total_amount: m.total_amount,
            total_tax: m.total_tax,
            total_with_tax: m.total_with_tax,
            reversed: m.reversed,
            financed: m.financed,
            booked: m.booked,
            line_count: m.line_count,
        }
    }
}

/// Whether the caller's organisation can read an invoice's lines through this API, and if not, why.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvoiceLinesAccess {
    /// Sealed on chain and opened with the caller organisation's key.
    Opened,
    /// Issued with clear lines (before sealing was the default): readable by the invoice's parties.
    Clear,
    /// Sealed for the caller's organisation, but this API does not hold its organisation key
    /// (`[api] org_key` in the member config).
    NoKey,
    /// Sealed, and no data key is wrapped for the caller's organisation (a funder gains one when
    /// financing is applied for with it).
    NotARecipient,
    /// Sealed for the caller's organisation, but the key this API holds does not open it.
    KeyMismatch,
    /// No lines on chain.
    Missing,
}

fn line_node(l: scf_domain::invoice::InvoiceLine) -> InvoiceLine {
    InvoiceLine {
        item_name: l.item_name,
        spec: l.spec,
        unit: l.unit,
        quantity: l.quantity,
        unit_price: l.unit_price,
        amount: l.amount as i64,
        tax_rate_bp: l.tax_rate_bp as i32,
        tax_amount: l.tax_amount as i64,
    }
}

impl InvoiceNode {
    /// The lines as the caller's organisation may read them; refuses callers that cannot see the
    /// invoice at all.
    async fn read_lines(&self, ctx: &Context<'_>) -> async_graphql::Result<crate::sealing::LinesRead> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        if let Some(scope) = access::invoice_scope(api, user).await? {
            let visible = invoice::Entity::find_by_id(self.number.clone())
                .filter(scope)
                .one(&api.db)
                .await
                .map_err(ApiError::from)?;
            if visible.is_none() {
                return Err(ApiError::forbidden("invoice lines are confidential to its parties").into());
            }
        }
        let state = api.chain.state(None).map_err(ApiError::from)?;
        Ok(crate::sealing::read_lines(state.as_ref(), &self.number, &user.org_id, &api.org_keys)?)
    }
}

#[ComplexObject]
impl InvoiceNode {
    /// Line items (confidential). Sealed on chain for the seller, the buyer, every regulator and tax
    /// authority, and a funder the invoice backs once financing is applied for with it; this API opens
    /// them with the caller organisation's key. Null when the caller's organisation cannot read them
    /// here: `linesAccess` says why. Only for those who can see the invoice at all.
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<InvoiceLine>>> {
        use crate::sealing::LinesRead;
        Ok(match self.read_lines(ctx).await? {
            LinesRead::Clear(l) | LinesRead::Opened(l) => Some(l.lines.into_iter().map(line_node).collect()),
            LinesRead::Missing => Some(Vec::new()),
            LinesRead::NoKey | LinesRead::NotARecipient | LinesRead::CannotOpen => None,
        })
    }

    /// Whether `lines` can be read by the caller's organisation here, and if not, why.
    async fn lines_access(&self, ctx: &Context<'_>) -> async_graphql::Result<InvoiceLinesAccess> {
        use crate::sealing::LinesRead;
        Ok(match self.read_lines(ctx).await? {
            LinesRead::Clear(_) => InvoiceLinesAccess::Clear,
            LinesRead::Opened(_) => InvoiceLinesAccess::Opened,
            LinesRead::NoKey => InvoiceLinesAccess::NoKey,
            LinesRead::NotARecipient => InvoiceLinesAccess::NotARecipient,
            LinesRead::CannotOpen => InvoiceLinesAccess::KeyMismatch,
            LinesRead::Missing => InvoiceLinesAccess::Missing,
        })
    }

    /// The organisations a data key to the sealed lines is wrapped for (empty for clear lines). The
    /// chain stores this list in clear.
    async fn sealed_for(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let state = api.chain.state(None).map_err(ApiError::from)?;
        let object = scf_domain::confidential::Object::InvoiceLines { number: self.number.clone() };
        Ok(scf_domain::confidential::recipients(state.as_ref(), &object).map_err(ApiError::from)?)
    }
}

/// Answer of 查验: nothing beyond these three facts is revealed.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvoiceVerification {
    Authentic,
    NotFound,
    Reversed,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Block", complex)]
pub struct BlockNode {
    pub height: i64,
    pub hash: String,
    pub parent_hash: String,
    pub state_root: String,
    pub time_ms: i64,
    pub proposer: String,
    pub tx_count: i32,
}

impl From<block::Model> for BlockNode {
    fn from(m: block::Model) -> Self {
        BlockNode {
            height: m.height,
            hash: m.hash,
            parent_hash: m.parent_hash,
            state_root: m.state_root,
            time_ms: m.time_ms,
            proposer: m.proposer,
            tx_count: m.tx_count,
        }
    }
}

#[ComplexObject]
impl BlockNode {
    /// The commit certificate that made the block final (null on a chain without consensus, such as
    /// the in-process dev chain).
    async fn certificate(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::explorer::CertificateNode>> {
        super::explorer::certificate(ctx, self.height).await
    }

    /// The header exactly as hashed (from the chain).
    async fn header(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::explorer::BlockHeaderNode>> {
        super::explorer::header(ctx, self.height).await
    }

    /// The block's transactions in order: the first `first` (default 100, at most 1,000) after the
    /// index `after`.
    #[graphql(complexity = "crate::schema::input::nested_list_cost(first, child_complexity)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<i32>,
    ) -> async_graphql::Result<Vec<TransactionNode>> {
        let api = api(ctx)?;
        let n = super::input::nested_page_size(first)?;
        let rows = transaction::Entity::find()
            .filter(transaction::Column::Height.eq(self.height))
            .filter(transaction::Column::TxIndex.gt(after.unwrap_or(-1)))
            .order_by_asc(transaction::Column::TxIndex)
            .limit(n)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(super::explorer::as_seen_by(ctx, rows).await?)
    }
}

/// A committed transaction. Who sent it, to which module and why it failed are shown to the
/// organisations it concerns (its sender's, those its events name) and the regulator; to anyone else
/// `sender`, `module`, `errorCode` and `errorMessage` are null.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Transaction", complex)]
pub struct TransactionNode {
    pub id: String,
    pub height: i64,
    pub index: i32,
    pub sender: Option<String>,
    pub module: Option<String>,
    /// `success` or `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl TransactionNode {
    /// The transaction as an organisation it does not concern sees it.
    pub fn redacted(self) -> Self {
        TransactionNode { sender: None, module: None, error_code: None, error_message: None, ..self }
    }
}

impl From<transaction::Model> for TransactionNode {
    fn from(m: transaction::Model) -> Self {
        TransactionNode {
            id: m.id,
            height: m.height,
            index: m.tx_index,
            sender: Some(m.sender),
            module: Some(m.module),
            outcome: m.outcome,
            error_code: m.error_code,
            error_message: m.error_message,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Event")]
pub struct EventNode {
    pub id: String,
    pub height: i64,
    pub tx_id: String,
    pub module: String,
    pub kind: String,
    pub attributes: Vec<Attribute>,
    /// The event body as JSON text.
    pub data: String,
}

impl From<EventNotice> for EventNode {
    fn from(n: EventNotice) -> Self {
        EventNode {
            id: n.id.to_string(),
            height: n.height as i64,
            tx_id: n.tx_id,
            module: n.module,
            kind: n.kind,
            attributes: n.attributes.into_iter().map(|(name, value)| Attribute { name, value }).collect(),
            data: n.data,
        }
    }
}

impl From<event::Model> for EventNode {
    fn from(m: event::Model) -> Self {
        let attrs: Vec<(String, String)> = serde_json::from_str(&m.attributes).unwrap_or_default();
        EventNode {
            id: m.id.to_string(),
            height: m.height,
            tx_id: m.tx_id,
            module: m.module,
            kind: m.kind,
            attributes: attrs.into_iter().map(|(name, value)| Attribute { name, value }).collect(),
            data: m.data,
        }
    }
}

impl From<BlockNotice> for BlockNode {
    fn from(n: BlockNotice) -> Self {
        BlockNode {
            height: n.height as i64,
            hash: n.hash,
            parent_hash: String::new(),
            state_root: String::new(),
            time_ms: n.time_ms as i64,
            proposer: String::new(),
            tx_count: n.tx_count as i32,
        }
    }
}

/// What a committed mutation returns.
pub struct TxResult {
    pub receipt: scf_ledger::receipt::Receipt,
}

#[Object]
impl TxResult {
    async fn tx_id(&self) -> String {
        self.receipt.tx_id.to_hex()
    }
    async fn height(&self) -> i64 {
        self.receipt.height as i64
    }
    async fn events(&self) -> Vec<EventNode> {
        self.receipt
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| EventNode {
                id: crate::indexer::event_id(self.receipt.height, self.receipt.index, i as u32).to_string(),
                height: self.receipt.height as i64,
                tx_id: self.receipt.tx_id.to_hex(),
                module: e.module.clone(),
                kind: e.kind.clone(),
                attributes: e.attributes.iter().map(|(n, v)| Attribute { name: n.clone(), value: v.clone() }).collect(),
                data: e.data.clone(),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct LoginResult {
    /// Bearer token for `Authorization: Bearer <token>`; shown once.
    pub token: String,
    pub user: UserNode,
}
