import { Tabs, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useSearchParams } from 'react-router-dom';

export interface PortalTab {
  key: string;
  label: string;
  children: ReactNode;
}

/** A portal: a title and its views as tabs; the open tab is in the URL (`?tab=`) so it can be linked. */
export function PortalTabs({ title, tabs }: { title: string; tabs: PortalTab[] }) {
  const [params, setParams] = useSearchParams();
  const active = tabs.some((t) => t.key === params.get('tab')) ? params.get('tab')! : tabs[0]?.key;
  return (
    <section aria-labelledby="portal-title">
      <Typography.Title id="portal-title" level={2}>
        {title}
      </Typography.Title>
      <Tabs
        activeKey={active}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        items={tabs.map((t) => ({ key: t.key, label: t.label, children: t.children }))}
        destroyOnHidden
      />
    </section>
  );
}
