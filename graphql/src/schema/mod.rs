//! The GraphQL schema: queries over the read model, mutations that become signed transactions, and
//! subscriptions fed by the indexer. Access control lives in [`access`]; the chain enforces the same
//! rules again when a transaction executes.

pub mod access;
pub mod consumer;
pub mod devices;
pub mod explorer;
pub mod goods;
pub mod governance;
pub mod input;
pub mod integration;
pub mod mutation;
pub mod proof;
pub mod provenance;
pub mod query;
pub mod subscription;
pub mod types;
pub mod users;
pub mod workflow;

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Context, MergedObject, MergedSubscription, Schema, ServerError, ServerResult, ValidationResult, Variables,
};
use scf_ledger::module::ModuleCall;

use crate::auth::AuthUser;
use crate::error::{ensure_code, ApiError, ApiResult, ErrorCode};
use crate::service::Api;

/// Every query, merged from one object per area (add an area by adding its object here).
#[derive(MergedObject, Default)]
pub struct Query(
    query::Query,
    explorer::ExplorerQuery,
    workflow::WorkflowQuery,
    governance::GovernanceQuery,
    goods::GoodsQuery,
    devices::DeviceQuery,
    provenance::ProvenanceQuery,
    users::UsersQuery,
    integration::IntegrationQuery,
);

/// Every mutation, merged from one object per area.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::Mutation,
    workflow::WorkflowMutation,
    governance::GovernanceMutation,
    goods::GoodsMutation,
    devices::DeviceMutation,
    provenance::ProvenanceMutation,
    consumer::ConsumerMutation,
    users::UsersMutation,
    integration::IntegrationMutation,
);

/// Every subscription, merged from one object per area.
#[derive(MergedSubscription, Default)]
pub struct Subscription(subscription::Subscription, devices::DeviceSubscription);

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// Per-request identity: the session user, if the request carried a valid token.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub user: Option<AuthUser>,
    pub token: Option<String>,
}

/// Limits that keep one request from monopolising the server.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_depth: usize,
    /// Every field costs 1, and a list its page size times one element's cost
    /// (`schema::input::list_cost`), so this bounds the objects one request can make the server build.
    pub max_complexity: usize,
    /// Public (unauthenticated) queries such as `lotPage` one client address may make per minute
    /// (0 = unlimited), refilled continuously ...
    pub public_requests_per_minute: u32,
    /// ... up to this many at once.
    pub public_burst: u32,
    /// Schema introspection and the GraphiQL page (GET /graphql). On for development and the demo; a
    /// member's production API turns them off (`[api] introspection = false`).
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 20_000,
            public_requests_per_minute: 120,
            public_burst: 30,
            introspection: true,
        }
    }
}

pub fn build_schema(api: Arc<Api>, limits: &Limits) -> ApiSchema {
    build_schema_with_readings(api, limits, None)
}

/// The schema with a source of sensor readings (the IoT ingestion store) for cold-chain series.
pub fn build_schema_with_readings(
    api: Arc<Api>,
    limits: &Limits,
    readings: Option<Arc<dyn crate::readings::Readings>>,
) -> ApiSchema {
    let limiter = Arc::new(crate::ratelimit::RateLimiter::new(limits.public_requests_per_minute, limits.public_burst));
    build_schema_with(api, limits, readings, limiter)
}

/// The schema with its public-request limiter supplied (shared with the HTTP layer's answer cache).
pub fn build_schema_with(
    api: Arc<Api>,
    limits: &Limits,
    readings: Option<Arc<dyn crate::readings::Readings>>,
    limiter: Arc<crate::ratelimit::RateLimiter>,
) -> ApiSchema {
    build_schema_integrated(api, limits, readings, limiter, integration::Integration::default())
}

/// The schema with the integration services (webhook delivery) it reports on.
pub fn build_schema_integrated(
    api: Arc<Api>,
    limits: &Limits,
    readings: Option<Arc<dyn crate::readings::Readings>>,
    limiter: Arc<crate::ratelimit::RateLimiter>,
    integration: integration::Integration,
) -> ApiSchema {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription::default());
    let builder = if limits.introspection { builder } else { builder.disable_introspection() };
    builder
        .data(api)
        .data(integration)
        .data(limiter)
        .data(provenance::ReadingsSource(readings))
        .data(Arc::new(provenance::LotPageCache::default()))
        .data(Arc::new(crate::serial_scans::RecentScans::default()))
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(ErrorCodes)
        .finish()
}

/// The schema with `limits` but without a backend: it validates requests (depth, complexity, types)
/// and cannot resolve any field. For checking documents, such as the UI's operations.
pub fn unbacked(limits: &Limits) -> ApiSchema {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .finish()
}

/// The schema without a backend, for SDL export.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

pub(crate) fn api<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<Api>> {
    ctx.data::<Arc<Api>>().map_err(|_| ApiError::internal("schema", "Api missing from context"))
}

/// A subscription's items while its caller's session lives: before each item the session is checked
/// again (signed out, password changed, user disabled, account removed or frozen on chain all end it),
/// and a dead session ends the stream with `UNAUTHENTICATED`. A WebSocket picks its caller once, at
/// `connection_init`; this keeps a subscription from outliving the user.
pub(crate) fn while_session_lives<T, S>(
    ctx: &Context<'_>,
    items: S,
) -> ApiResult<impl futures_util::Stream<Item = async_graphql::Result<T>>>
where
    T: Send + 'static,
    S: futures_util::Stream<Item = T> + Send + 'static,
{
    use futures_util::StreamExt;
    let api = api(ctx)?.clone();
    let token = ctx.data_opt::<Caller>().and_then(|c| c.token.clone());
    Ok(items
        .then(move |item| {
            let api = api.clone();
            let token = token.clone();
            async move {
                match crate::http::caller_for(&api, token).await.user {
                    Some(_) => Ok(item),
                    None => Err(async_graphql::Error::from(ApiError::Unauthenticated)),
                }
            }
        })
        .scan(false, |ended, r| {
            let out = if *ended { None } else { Some(r) };
            *ended = out.as_ref().is_some_and(Result::is_err);
            futures_util::future::ready(out)
        }))
}

/// Take one token from the caller's address bucket (anonymous requests: the consumer page, self-signed
/// submissions).
pub(crate) fn public_request(ctx: &Context<'_>) -> ApiResult<()> {
    let addr = ctx.data_opt::<crate::ratelimit::ClientAddr>().and_then(|c| c.0);
    match ctx.data_opt::<Arc<crate::ratelimit::RateLimiter>>() {
        Some(l) => l.check(addr),
        None => Ok(()),
    }
}

pub(crate) fn caller<'a>(ctx: &Context<'a>) -> Option<&'a AuthUser> {
    ctx.data_opt::<Caller>().and_then(|c| c.user.as_ref())
}

/// The last step of every business mutation: the caller (signed in, not a viewer, its organisation
/// holding `role` if one is given) signs `call` with its custodial key and waits for the receipt. The
/// module comes from the call's type; the chain checks everything again.
pub(crate) async fn submit<C: ModuleCall>(
    ctx: &Context<'_>,
    role: Option<&str>,
    call: C,
) -> async_graphql::Result<types::TxResult> {
    let api = api(ctx)?;
    let user = access::require_operator(ctx)?;
    if let Some(r) = role {
        access::require_org_role(api, user, r).await?;
    }
    Ok(types::TxResult { receipt: api.submit(user, &call).await? })
}

/// The signed-in caller, also one who must still change a one-time password (for `me`, `logout` and
/// `changePassword` only).
pub(crate) fn signed_in<'a>(ctx: &Context<'a>) -> ApiResult<&'a AuthUser> {
    caller(ctx).ok_or(ApiError::Unauthenticated)
}

/// The signed-in caller, once any one-time password has been changed.
pub(crate) fn require_user<'a>(ctx: &Context<'a>) -> ApiResult<&'a AuthUser> {
    let user = signed_in(ctx)?;
    if user.must_change_password {
        return Err(ApiError::forbidden("sign-in with a one-time password: change it first (changePassword)"));
    }
    Ok(user)
}

/// Gives parse and validation errors (including depth and complexity limits) an error code.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|e| ensure_code(e, ErrorCode::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errs| errs.into_iter().map(|e| ensure_code(e, ErrorCode::GraphqlValidationFailed)).collect())
    }
}
