import { Result, Typography } from 'antd';

import type { Portal } from '../auth/portals';
import { useI18n } from '../i18n/I18nProvider';

/** A role portal's frame; its views are wired to the GraphQL API in the next step. */
export function PortalPage({ portal }: { portal: Portal | 'explorer' }) {
  const { t } = useI18n();
  const title = portal === 'explorer' ? t('explorer.title') : t(`nav.${portal}`);
  return (
    <section aria-labelledby="portal-title">
      <Typography.Title id="portal-title" level={2}>
        {title}
      </Typography.Title>
      <Result status="info" title={t('portal.pending')} />
    </section>
  );
}
