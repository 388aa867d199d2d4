import type { Portal } from '../auth/portals';
import { CorePortal } from '../portal/core/CorePortal';
import { FunderPortal } from '../portal/funder/FunderPortal';
import { RegulatorPortal } from '../portal/regulator/RegulatorPortal';
import { SupplierPortal } from '../portal/supplier/SupplierPortal';
import { WarehousePortal } from '../portal/warehouse/WarehousePortal';

/** The role portal for a navigation entry. */
export function PortalPage({ portal }: { portal: Portal }) {
  switch (portal) {
    case 'supplier':
      return <SupplierPortal />;
    case 'core_enterprise':
      return <CorePortal />;
    case 'funder':
      return <FunderPortal />;
    case 'warehouse_operator':
      return <WarehousePortal />;
    case 'regulator':
      return <RegulatorPortal />;
  }
}
