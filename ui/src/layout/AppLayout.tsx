import {
  AuditOutlined,
  BankOutlined,
  BlockOutlined,
  DownOutlined,
  HomeOutlined,
  KeyOutlined,
  LogoutOutlined,
  QrcodeOutlined,
  SafetyCertificateOutlined,
  ShopOutlined,
  ShoppingCartOutlined,
  TeamOutlined,
  NodeIndexOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { Button, Dropdown, Grid, Layout, Menu, Space, Tag, Typography, type MenuProps } from 'antd';
import type { ReactNode } from 'react';
import { Navigate, Outlet, useLocation, useNavigate } from 'react-router-dom';

import { canPrintLabels, portalsFor, type Portal } from '../auth/portals';
import { useSession } from '../auth/SessionProvider';
import { useI18n } from '../i18n/I18nProvider';
import { ChangePasswordPage } from '../pages/ChangePasswordPage';
import { OrgDirectoryProvider } from '../portal/OrgDirectory';
import { LanguageSwitch } from './LanguageSwitch';

const PORTAL_ICONS: Record<Portal, ReactNode> = {
  supplier: <ShopOutlined />,
  core_enterprise: <TeamOutlined />,
  funder: <BankOutlined />,
  warehouse_operator: <ShoppingCartOutlined />,
  regulator: <AuditOutlined />,
};

/**
 * The signed-in frame: navigation built from the organisation's roles, language switch, the user menu
 * (change password, log out). A session with a one-time password gets only the change-password page:
 * the server refuses everything else until it is changed, so no portal would load.
 */
export function AppLayout() {
  const { t } = useI18n();
  const { session, logout } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const screens = Grid.useBreakpoint();
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  const narrow = !screens.md;
  const userMenu = (
    <Dropdown
      trigger={['click']}
      menu={{
        items: [
          ...(session.user.mustChangePassword ? [] : [{ key: 'password', icon: <KeyOutlined />, label: t('password.title') }]),
          { key: 'logout', icon: <LogoutOutlined />, label: t('nav.logout') },
        ],
        onClick: ({ key }) => (key === 'logout' ? logout() : navigate('/password')),
      }}
    >
      <Button icon={<UserOutlined />} aria-label={`${t('nav.userMenu')} ${session.user.username}`}>
        {narrow ? null : (
          <Space size={4}>
            {session.user.username}
            <DownOutlined />
          </Space>
        )}
      </Button>
    </Dropdown>
  );

  if (session.user.mustChangePassword) {
    return (
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header style={{ background: 'transparent', display: 'flex', justifyContent: 'flex-end', alignItems: 'center', paddingInline: 16 }}>
          <Space wrap>
            <LanguageSwitch />
            {userMenu}
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: narrow ? 12 : 24 }}>
          <main>
            <ChangePasswordPage />
          </main>
        </Layout.Content>
      </Layout>
    );
  }

  const roles = session.organisation.roles;
  const items: MenuProps['items'] = [
    { key: '/', icon: <HomeOutlined />, label: t('nav.home') },
    ...portalsFor(roles).map((p) => ({ key: `/${p}`, icon: PORTAL_ICONS[p], label: t(`nav.${p}`) })),
    { key: '/explorer', icon: <BlockOutlined />, label: t('nav.explorer') },
    { key: '/governance', icon: <SafetyCertificateOutlined />, label: t('nav.governance') },
    { key: '/epcis', icon: <NodeIndexOutlined />, label: t('nav.epcis') },
    ...(canPrintLabels(roles) ? [{ key: '/labels', icon: <QrcodeOutlined />, label: t('nav.labels') }] : []),
    ...(session.user.role === 'admin' ? [{ key: '/users', icon: <UserOutlined />, label: t('nav.users') }] : []),
  ];
  const selected = `/${location.pathname.split('/')[1] ?? ''}`;

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider breakpoint="md" collapsedWidth={0} theme="light" width={220} aria-label={t('nav.label')}>
        <div style={{ padding: 16 }}>
          <Typography.Text strong>{t('app.title')}</Typography.Text>
          <br />
          <Typography.Text type="secondary">{t('app.subtitle')}</Typography.Text>
        </div>
        <nav aria-label={t('nav.label')}>
          <Menu mode="inline" selectedKeys={[selected]} items={items} onClick={({ key }) => navigate(key)} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{ background: 'transparent', display: 'flex', justifyContent: 'flex-end', alignItems: 'center', paddingInline: 16 }}
        >
          <Space wrap>
            {!narrow && <Typography.Text>{session.organisation.name}</Typography.Text>}
            {!narrow && roles.map((r) => <Tag key={r}>{t(`role.${r}`)}</Tag>)}
            <LanguageSwitch />
            {userMenu}
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: narrow ? 12 : 24 }}>
          <main>
            <OrgDirectoryProvider>
              <Outlet />
            </OrgDirectoryProvider>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
