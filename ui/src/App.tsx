import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router-dom';

import { ApiProvider } from './api/ApiProvider';
import type { ScfApi } from './api/types';
import { PORTALS } from './auth/portals';
import { SessionProvider } from './auth/SessionProvider';
import { I18nProvider, useI18n } from './i18n/I18nProvider';
import { AppLayout } from './layout/AppLayout';
import { ChangePasswordPage } from './pages/ChangePasswordPage';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ScanPage } from './scan/ScanPage';
import { SerialPage } from './scan/SerialPage';

// Portals, the explorer and labels load on first use: a consumer scanning a QR code on a phone downloads
// the scan page, not the back office.

export const routes: RouteObject[] = [
  // Public: the GS1 Digital Link a lot's QR code encodes.
  { path: '/01/:gtin/10/:lot', element: <ScanPage /> },
  // Serialised items (GS1 Digital Link 1.2 path order: 01, then 10, then 21).
  { path: '/01/:gtin/21/:serial', element: <SerialPage /> },
  { path: '/01/:gtin/10/:lot/21/:serial', element: <SerialPage /> },
  { path: '/login', element: <LoginPage /> },
  {
    path: '/',
    element: <AppLayout />,
    children: [
      { index: true, element: <HomePage /> },
      ...PORTALS.map((p) => ({
        path: p,
        lazy: async () => {
          const { PortalPage } = await import('./pages/PortalPage');
          return { element: <PortalPage portal={p} /> };
        },
      })),
      { path: 'vouchers/:id', lazy: async () => ({ Component: (await import('./portal/vouchers/VoucherPage')).VoucherPage }) },
      { path: 'explorer', lazy: async () => ({ Component: (await import('./explorer/ExplorerPage')).ExplorerPage }) },
      { path: 'explorer/blocks/:height', lazy: async () => ({ Component: (await import('./explorer/BlockPage')).BlockPage }) },
      { path: 'explorer/tx/:id', lazy: async () => ({ Component: (await import('./explorer/TransactionPage')).TransactionPage }) },
      { path: 'governance', lazy: async () => ({ Component: (await import('./governance/GovernancePage')).GovernancePage }) },
      { path: 'epcis', lazy: async () => ({ Component: (await import('./epcis/EpcisPage')).EpcisPage }) },
      // Part of the shell (a one-time password session sees nothing else), so not loaded lazily.
      { path: 'password', element: <ChangePasswordPage /> },
      { path: 'users', lazy: async () => ({ Component: (await import('./admin/UsersPage')).UsersPage }) },
      { path: 'labels', lazy: async () => ({ Component: (await import('./labels/LabelsPage')).LabelsPage }) },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

function Themed({ children }: { children: React.ReactNode }) {
  const { locale } = useI18n();
  return (
    <ConfigProvider locale={locale === 'en' ? enUS : zhCN} theme={{ token: { colorPrimary: '#1d4ed8' } }}>
      <AntApp>{children}</AntApp>
    </ConfigProvider>
  );
}

const router = createBrowserRouter(routes);

export function App({ api }: { api?: ScfApi }) {
  return (
    <I18nProvider>
      <Themed>
        <ApiProvider {...(api ? { api } : {})}>
          <SessionProvider>
            <RouterProvider router={router} />
          </SessionProvider>
        </ApiProvider>
      </Themed>
    </I18nProvider>
  );
}

export { Themed };
