import { GlobalOutlined } from '@ant-design/icons';
import { Button } from 'antd';

import { useI18n } from '../i18n/I18nProvider';

export function LanguageSwitch() {
  const { t, locale, setLocale } = useI18n();
  return (
    <Button
      icon={<GlobalOutlined />}
      aria-label={t('lang.switch.label')}
      onClick={() => setLocale(locale === 'zh-CN' ? 'en' : 'zh-CN')}
    >
      {t('lang.switch')}
    </Button>
  );
}
