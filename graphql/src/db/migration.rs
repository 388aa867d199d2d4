//! Schema migrations (sea-orm-migration). Tables are created from the entity definitions so the two
//! never drift; later changes go in new migrations appended to [`Migrator::migrations`].

use sea_orm::{EntityTrait, Schema};
use sea_orm_migration::prelude::*;

use super::entities::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Initial),
            Box::new(WorkflowsAndGovernance),
            Box::new(Goods),
            Box::new(Notices),
            Box::new(AuditPerInstance),
            Box::new(UserLifecycle),
            Box::new(Integration),
            Box::new(SerialScans),
            Box::new(OrgIndexes),
        ]
    }
}

#[derive(DeriveMigrationName)]
struct Initial;

async fn create<E: EntityTrait>(manager: &SchemaManager<'_>, entity: E) -> Result<(), DbErr> {
    let schema = Schema::new(manager.get_database_backend());
    manager.create_table(schema.create_table_from_entity(entity).if_not_exists().to_owned()).await?;
    for mut index in schema.create_index_from_entity(entity) {
        manager.create_index(index.if_not_exists().to_owned()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, block::Entity).await?;
        create(manager, transaction::Entity).await?;
        create(manager, event::Entity).await?;
        create(manager, event_org::Entity).await?;
        create(manager, organisation::Entity).await?;
        create(manager, voucher::Entity).await?;
        create(manager, voucher_party::Entity).await?;
        create(manager, voucher_visibility::Entity).await?;
        create(manager, invoice::Entity).await?;
        create(manager, invoice_party::Entity).await?;
        create(manager, indexer_cursor::Entity).await?;
        create(manager, user::Entity).await?;
        create(manager, session::Entity).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "sessions",
            "users",
            "indexer_cursor",
            "invoice_parties",
            "invoices",
            "voucher_visibility",
            "voucher_parties",
            "vouchers",
            "organisations",
            "event_orgs",
            "events",
            "transactions",
            "blocks",
        ] {
            manager.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// Workflow instances, their parties and audit trail, and governance proposals.
struct WorkflowsAndGovernance;

// `DeriveMigrationName` names a migration after its file, so every migration after `Initial` (whose
// recorded name, `migration`, must stay) names itself.
impl MigrationName for WorkflowsAndGovernance {
    fn name(&self) -> &str {
        "m0002_workflows_and_governance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for WorkflowsAndGovernance {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, workflow_instance::Entity).await?;
        create(manager, workflow_party::Entity).await?;
        create(manager, workflow_audit::Entity).await?;
        create(manager, proposal::Entity).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["proposals", "workflow_audit", "workflow_parties", "workflow_instances"] {
            manager.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// Warehouse receipts, IoT devices and their alerts (the "physical goods" side).
struct Goods;

// `DeriveMigrationName` names a migration after its file, so every migration after `Initial` (whose
// recorded name, `migration`, must stay) names itself.
impl MigrationName for Goods {
    fn name(&self) -> &str {
        "m0003_goods"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Goods {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, warehouse_receipt::Entity).await?;
        create(manager, device::Entity).await?;
        create(manager, device_alert::Entity).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["device_alerts", "devices", "warehouse_receipts"] {
            manager.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// What an organisation should know without having to act: maturity reminders and announcements of
/// workflow steps to the parties not waited for.
struct Notices;

impl MigrationName for Notices {
    fn name(&self) -> &str {
        "m0004_notices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Notices {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, notice::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("notices")).if_exists().to_owned()).await
    }
}

/// The audit trail keyed by (instance, event): one event may be in several trails. Older rows were keyed
/// by event alone, so every row derived from the chain is dropped here and the indexer, finding no
/// cursor, indexes the chain again from genesis (users and sessions stay).
struct AuditPerInstance;

impl MigrationName for AuditPerInstance {
    fn name(&self) -> &str {
        "m0005_audit_per_instance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AuditPerInstance {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("workflow_audit")).if_exists().to_owned()).await?;
        create(manager, workflow_audit::Entity).await?;
        let db = manager.get_connection();
        crate::indexer::clear_derived(db).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// Users get a lifecycle: a one-time password to change at first sign-in (the first admin of a member
/// is made with one), and disabling by an admin.
struct UserLifecycle;

impl MigrationName for UserLifecycle {
    fn name(&self) -> &str {
        "m0006_user_lifecycle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for UserLifecycle {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Databases made by this build already have the columns (tables are created from the entities);
        // older ones get them here, one per statement (SQLite adds one column at a time).
        let columns = [
            ColumnDef::new(Alias::new("must_change_password")).boolean().not_null().default(false).to_owned(),
            ColumnDef::new(Alias::new("disabled_ms")).big_integer().null().to_owned(),
        ];
        for mut column in columns {
            let name = column.get_column_name();
            if !manager.has_column("users", &name).await? {
                manager
                    .alter_table(Table::alter().table(Alias::new("users")).add_column(&mut column).to_owned())
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// The integration surface: the EPCIS read model (filled from genesis again, so events anchored
/// before this migration are queryable), capture jobs, named queries, webhooks and member keys.
struct Integration;

impl MigrationName for Integration {
    fn name(&self) -> &str {
        "m0007_integration"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Integration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use super::integration::*;
        create(manager, epcis_event::Entity).await?;
        create(manager, epcis_event_key::Entity).await?;
        create(manager, epcis_capture_job::Entity).await?;
        create(manager, epcis_named_query::Entity).await?;
        create(manager, webhook_endpoint::Entity).await?;
        create(manager, webhook_delivery::Entity).await?;
        create(manager, webhook_attempt::Entity).await?;
        create(manager, member_key::Entity).await?;
        crate::indexer::clear_derived(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "member_keys",
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_endpoints",
            "epcis_named_queries",
            "epcis_capture_jobs",
            "epcis_event_keys",
            "epcis_events",
        ] {
            manager.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// Consumer scans of serialised items (`crate::serial_scans`): the API's own data, not derived.
struct SerialScans;

impl MigrationName for SerialScans {
    fn name(&self) -> &str {
        "m0008_serial_scans"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SerialScans {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, serial_scan::Entity).await?;
        create(manager, serial_scan_total::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["serial_scan_totals", "serial_scans"] {
            manager.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// Indexes by organisation on the tables that say which organisation may see or acts in what. Every
/// signed-in list filters on them by `org_id`, which their primary keys (`(id, org_id)`) cannot serve:
/// without these each list scanned the whole table.
struct OrgIndexes;

impl MigrationName for OrgIndexes {
    fn name(&self) -> &str {
        "m0009_org_indexes"
    }
}

/// (table, the column after `org_id`).
const ORG_INDEXES: [(&str, &str); 5] = [
    ("voucher_visibility", "voucher_id"),
    ("voucher_parties", "voucher_id"),
    ("invoice_parties", "number"),
    ("event_orgs", "event_id"),
    ("workflow_parties", "instance_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for OrgIndexes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, id) in ORG_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(format!("idx-{table}-org_id"))
                        .table(Alias::new(table))
                        .col(Alias::new("org_id"))
                        .col(Alias::new(id))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in ORG_INDEXES {
            manager
                .drop_index(
                    Index::drop().if_exists().name(format!("idx-{table}-org_id")).table(Alias::new(table)).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
