//! Subscriptions (graphql-ws), fed by the indexer after each block's rows are committed, so a client
//! that queries on a notification sees the new rows.

use async_graphql::{Context, Subscription as SubscriptionDerive};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::types::{BlockNode, EventNode};
use super::{access, api, require_user, while_session_lives};

#[derive(Default)]
pub struct Subscription;

#[SubscriptionDerive(name = "CoreSubscription")]
impl Subscription {
    /// Every newly indexed block.
    async fn new_blocks(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BlockNode>>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let blocks = BroadcastStream::new(api.indexer.subscribe_blocks())
            .filter_map(|r| async move { r.ok().map(BlockNode::from) });
        Ok(while_session_lives(ctx, blocks)?)
    }

    /// Events concerning the caller's organisation (all events for the regulator).
    async fn my_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<EventNode>>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let all = access::has_org_role(api, user, "regulator").await?;
        let org = user.org_id.clone();
        let events = BroadcastStream::new(api.indexer.subscribe_events()).filter_map(move |r| {
            let org = org.clone();
            async move {
                match r {
                    Ok(n) if all || n.orgs.contains(&org) => Some(EventNode::from(n)),
                    _ => None,
                }
            }
        });
        Ok(while_session_lives(ctx, events)?)
    }
}
