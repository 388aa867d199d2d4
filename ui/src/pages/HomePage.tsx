import { Card, Col, Row, Statistic, Typography } from 'antd';
import { useNavigate } from 'react-router-dom';

import { MyTasksDocument, ValidatorsDocument } from '../api/generated';
import { useQuery } from '../api/hooks';
import { canPrintLabels, portalsFor } from '../auth/portals';
import { useSession } from '../auth/SessionProvider';
import { useI18n } from '../i18n/I18nProvider';
import type { MessageKey } from '../i18n/messages';

/** Landing page after login: the organisation's portals, its open tasks and where the chain is. */
export function HomePage() {
  const { t } = useI18n();
  const { session } = useSession();
  const navigate = useNavigate();
  const status = useQuery(ValidatorsDocument, {});
  const tasks = useQuery(MyTasksDocument, {});
  const roles = session?.organisation.roles ?? [];
  const entries: { path: string; title: MessageKey; hint: MessageKey }[] = [
    ...portalsFor(roles).map((p) => ({ path: `/${p}`, title: `nav.${p}` as MessageKey, hint: `home.hint.${p}` as MessageKey })),
    { path: '/explorer', title: 'nav.explorer', hint: 'home.hint.explorer' },
    { path: '/governance', title: 'nav.governance', hint: 'home.hint.governance' },
    ...(canPrintLabels(roles) ? [{ path: '/labels', title: 'nav.labels' as MessageKey, hint: 'home.hint.labels' as MessageKey }] : []),
  ];
  return (
    <section aria-labelledby="home-title">
      <Typography.Title id="home-title" level={2}>
        {t('home.welcome', { name: session?.organisation.name ?? '' })}
      </Typography.Title>
      <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t('home.tasks')} value={tasks.data ? tasks.data.myTasks.filter((x) => x.canAct).length : '—'} loading={tasks.loading && !tasks.data} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t('explorer.tip')} value={status.data ? `#${status.data.chainStatus.height}` : '—'} loading={status.loading && !status.data} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t('explorer.validatorCount')} value={status.data?.chainStatus.validatorCount ?? '—'} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card size="small">
            <Statistic title={t('explorer.chainId')} value={status.data?.chainStatus.chainId ?? '—'} />
          </Card>
        </Col>
      </Row>
      <Row gutter={[16, 16]}>
        {entries.map((e) => (
          <Col key={e.path} xs={24} sm={12} lg={8}>
            <Card hoverable onClick={() => navigate(e.path)} role="link" tabIndex={0} onKeyDown={(k) => k.key === 'Enter' && navigate(e.path)} aria-label={t(e.title)}>
              <Card.Meta title={t(e.title)} description={t(e.hint)} />
            </Card>
          </Col>
        ))}
      </Row>
    </section>
  );
}
