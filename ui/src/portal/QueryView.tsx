import { Button, Result, Skeleton } from 'antd';
import type { ReactNode } from 'react';

import { describeError } from '../api/errors';
import type { QueryResult } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';

/**
 * Loading skeleton, error with retry, or the content. Once data is there, reloads keep it on screen
 * (tables show their own spinner) so live updates do not flash.
 */
export function QueryView<R>({ query, children, rows = 4 }: { query: QueryResult<R>; children: (data: R) => ReactNode; rows?: number }) {
  const { t } = useI18n();
  if (query.data !== undefined) return <>{children(query.data)}</>;
  if (query.error !== undefined) {
    return (
      <Result
        status="error"
        title={t('state.error')}
        subTitle={describeError(query.error, t)}
        extra={<Button onClick={query.refetch}>{t('state.retry')}</Button>}
      />
    );
  }
  return (
    <div role="status" aria-live="polite" aria-label={t('state.loading')}>
      <Skeleton active paragraph={{ rows }} />
    </div>
  );
}
