import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router-dom';

import { ApiProvider } from './api/ApiProvider';
import type { ScfApi } from './api/types';
import { PORTALS } from './auth/portals';
import { SessionProvider } from './auth/SessionProvider';
import { I18nProvider, useI18n } from './i18n/I18nProvider';
import { LabelsPage } from './labels/LabelsPage';
import { AppLayout } from './layout/AppLayout';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PortalPage } from './pages/PortalPage';
import { VoucherPage } from './portal/vouchers/VoucherPage';
import { BlockPage } from './explorer/BlockPage';
import { ExplorerPage } from './explorer/ExplorerPage';
import { TransactionPage } from './explorer/TransactionPage';
import { ScanPage } from './scan/ScanPage';

export const routes: RouteObject[] = [
  // Public: the GS1 Digital Link a lot's QR code encodes.
  { path: '/01/:gtin/10/:lot', element: <ScanPage /> },
  { path: '/login', element: <LoginPage /> },
  {
    path: '/',
    element: <AppLayout />,
    children: [
      { index: true, element: <HomePage /> },
      ...PORTALS.map((p) => ({ path: p, element: <PortalPage portal={p} /> })),
      { path: 'vouchers/:id', element: <VoucherPage /> },
      { path: 'explorer', element: <ExplorerPage /> },
      { path: 'explorer/blocks/:height', element: <BlockPage /> },
      { path: 'explorer/tx/:id', element: <TransactionPage /> },
      { path: 'labels', element: <LabelsPage /> },
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
