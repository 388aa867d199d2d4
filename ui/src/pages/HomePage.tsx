import { Typography } from 'antd';

import { useSession } from '../auth/SessionProvider';
import { useI18n } from '../i18n/I18nProvider';

export function HomePage() {
  const { t } = useI18n();
  const { session } = useSession();
  return (
    <section>
      <Typography.Title level={2}>{t('home.welcome', { name: session?.organisation.name ?? '' })}</Typography.Title>
      <Typography.Paragraph>{t('home.pick')}</Typography.Paragraph>
    </section>
  );
}
